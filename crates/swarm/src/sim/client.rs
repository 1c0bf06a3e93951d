//! A client rank: register with the tracker, then a download thread (this one) and an
//! upload thread until the tracker says stop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use bitswarm_cluster::{Comm, Rank};

use super::download::Downloader;
use super::error::SimError;
use super::holdings::Holdings;
use super::input::read_client_input;
use super::message::{ClientStats, Message, TAG_TO_TRACKER};
use super::run::SimConfig;
use super::upload::serve_uploads;

/// Run `f`; on an error or a panic, abort the cluster so that no other rank or thread waits
/// for this one.
pub(crate) fn guarded<C, T>(
    comm: &C,
    f: impl FnOnce() -> Result<T, SimError>,
) -> Result<T, SimError>
where
    C: Comm + ?Sized,
{
    let rank = comm.rank();
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(SimError::Thread {
            rank,
            what: format!("a thread panicked: {what}"),
        })
    });
    if let Err(e) = &result {
        if !e.is_coordinated() && !e.is_echo_of_abort() {
            comm.abort(&format!("rank {rank}: {}", e.full_message()));
        }
    }
    result
}

/// Everything a client does between the input gate and the final gather.
pub(crate) fn run_client<C: Comm + ?Sized>(
    comm: &C,
    cfg: &SimConfig,
    deadline: Instant,
) -> Result<ClientStats, SimError> {
    let rank: Rank = comm.rank();
    let input = read_client_input(&cfg.dir, rank)?;
    let holdings = Holdings::default();
    for o in &input.owned {
        holdings.add_complete(&o.file);
    }
    let files = input.owned.iter().map(|o| o.file.clone()).collect();
    comm.send(0, TAG_TO_TRACKER, Message::Register { files }.encode())?;
    let ack = comm.broadcast(0, Vec::new(), Some(deadline))?;
    match Message::decode(&ack) {
        Ok(Message::Ack) => {}
        other => {
            return Err(SimError::Unexpected {
                rank,
                from: 0,
                what: format!("{other:?} instead of the start ACK"),
            })
        }
    }

    std::thread::scope(|scope| {
        let upload = std::thread::Builder::new()
            .name(format!("upload-{rank}"))
            .stack_size(cfg.stack_size)
            .spawn_scoped(scope, || {
                guarded(comm, || serve_uploads(comm, &holdings, deadline))
            })
            .map_err(|e| SimError::Thread {
                rank,
                what: format!("cannot start the upload thread: {e}"),
            });
        let upload = match upload {
            Ok(u) => u,
            Err(e) => {
                comm.abort(&e.to_string());
                return Err(e);
            }
        };
        let mut downloader = Downloader {
            comm,
            holdings: &holdings,
            dir: &cfg.dir,
            deadline,
            counts: Default::default(),
        };
        let downloaded = guarded(comm, || downloader.run(&input.wanted));
        let uploaded = upload.join().unwrap_or_else(|_| {
            Err(SimError::Thread {
                rank,
                what: "the upload thread panicked".into(),
            })
        });
        downloaded?;
        let up = uploaded?;
        let d = downloader.counts;
        Ok(ClientStats {
            downloaded: d.downloaded,
            served: up.served,
            refused: up.refused,
            not_ok_received: d.not_ok_received,
            rejected: d.rejected,
            from: d.from.into_iter().collect(),
        })
    })
}
