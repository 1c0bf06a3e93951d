//! A client rank (rank ≥ 1): runs its share of the clients in one current-thread tokio
//! runtime, reports their progress to rank 0 every half second until told to stop, then
//! checks their files and sends the outcomes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_cluster::{ClusterError, Comm, Source};
use bitswarm_proto::Metainfo;

use super::client::{seconds_since, RunningClient};
use super::error::RunnerError;
use super::placement::clients_of;
use super::plan::{encode, ClientOutcome, Plan, RankProgress, TAG_PROGRESS, TAG_STOP};

/// How often statistics are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Progress goes to rank 0 every this many samples.
const SAMPLES_PER_REPORT: u32 = 2;
/// A rank stops on its own this long after the deadline if rank 0 never says so.
const GRACE: Duration = Duration::from_secs(60);
/// Longest wait for the sessions to stop (each announces `stopped`).
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The torrents of the plan, parsed.
pub fn metainfos(plan: &Plan) -> Result<Vec<Arc<Metainfo>>, RunnerError> {
    plan.files
        .iter()
        .map(|f| {
            Metainfo::from_bytes(&f.torrent)
                .map(Arc::new)
                .map_err(|e| RunnerError::Torrent {
                    file: f.name.clone(),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// Runs this rank's clients. Called on every rank ≥ 1 after the plan arrived; the
/// barrier inside pairs with rank 0's.
pub fn run_client_rank<C: Comm + ?Sized>(comm: &C, plan: &Plan) -> Result<(), RunnerError> {
    let rank = comm.rank();
    let metas = metainfos(plan)?;
    let mine = clients_of(&plan.clients, &plan.placement, rank);
    for c in &mine {
        RunningClient::prepare(plan, c, &metas).map_err(|e| RunnerError::Client {
            client: c.name.clone(),
            message: e.to_string(),
        })?;
    }
    comm.barrier(None)?;
    let t0 = Instant::now();
    let hard_stop = t0 + Duration::from_secs(plan.scenario.deadline_secs) + GRACE;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunnerError::Runtime)?;
    let (mut clients, total) = runtime.block_on(async {
        let mut clients = Vec::with_capacity(mine.len());
        for c in &mine {
            clients.push(RunningClient::start(plan, c, &metas, rank).await);
        }
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 0u32;
        loop {
            tick.tick().await;
            let now = seconds_since(t0);
            for c in &mut clients {
                c.sample(now);
            }
            n += 1;
            if n >= SAMPLES_PER_REPORT {
                n = 0;
                let progress = RankProgress {
                    elapsed: now,
                    clients: clients.iter().map(|c| c.progress()).collect(),
                };
                comm.send(0, TAG_PROGRESS, encode(&progress))?;
            }
            match comm.recv_deadline(Source::Rank(0), TAG_STOP, Some(Instant::now())) {
                Ok(_) => break,
                Err(ClusterError::Timeout { .. }) if Instant::now() < hard_stop => {}
                Err(ClusterError::Timeout { .. }) => break,
                Err(e) => return Err(RunnerError::from(e)),
            }
        }
        let total = seconds_since(t0);
        for c in &mut clients {
            c.sample(total);
        }
        let stops: Vec<_> = clients
            .iter_mut()
            .filter_map(|c| c.take_session())
            .map(|s| tokio::spawn(s.shutdown()))
            .collect();
        let _ = tokio::time::timeout(STOP_TIMEOUT, async {
            for s in stops {
                let _ = s.await;
            }
        })
        .await;
        // Final counts: a stopped torrent's last statistics include what its
        // connections wrote since the previous snapshot (published every 250 ms), so
        // every byte a client received is in some client's `uploaded`.
        for c in &mut clients {
            c.sample(total);
        }
        Ok::<_, RunnerError>((clients, total))
    })?;
    let outcomes: Vec<ClientOutcome> = clients.drain(..).map(|c| c.finish(plan, total)).collect();
    drop(runtime);
    comm.gather(0, encode(&outcomes), None)?;
    Ok(())
}
