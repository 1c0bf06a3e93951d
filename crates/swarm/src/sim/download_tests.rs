use super::*;
use crate::sim::message::{OwnedFile, Role};
use crate::sim::upload::serve_uploads;
use bitswarm_cluster::LocalCluster;
use std::time::Duration;

fn swarm(ranks: &[Rank]) -> Vec<SwarmMember> {
    ranks
        .iter()
        .map(|&rank| SwarmMember {
            rank,
            role: Role::Seed,
        })
        .collect()
}

fn h(c: char) -> SegmentHash {
    SegmentHash::parse(&c.to_string().repeat(32)).unwrap()
}

#[test]
fn rotation_skips_self_and_moves_past_who_served() {
    let mut r = HolderRotation::new(3, &swarm(&[1, 2, 3, 4]));
    let first: Vec<_> = r.order().collect();
    assert_eq!(first.len(), 3);
    assert!(!first.contains(&3));
    r.served_by(first[0]);
    let second: Vec<_> = r.order().collect();
    assert_eq!(second[0], first[1]);
    r.served_by(second[0]);
    assert_eq!(r.order().next(), Some(first[2]));
}

#[test]
fn rotation_spreads_evenly() {
    let mut r = HolderRotation::new(9, &swarm(&[1, 2, 3, 4, 5]));
    let mut count = BTreeMap::new();
    for _ in 0..100 {
        let h = r.order().next().unwrap();
        *count.entry(h).or_insert(0) += 1;
        r.served_by(h);
    }
    assert!(count.values().all(|&c| c == 20), "{count:?}");
}

#[test]
fn start_offsets_are_spread_and_in_range() {
    let offs: Vec<_> = (3..=6).map(|r| start_offset(r, 80)).collect();
    assert!(offs.iter().all(|&o| o < 80));
    let mut sorted = offs.clone();
    sorted.sort();
    assert!(sorted.windows(2).all(|w| w[1] - w[0] >= 10), "{offs:?}");
    assert_eq!(start_offset(5, 1), 0);
}

/// Rank 1 holds corrupt hashes, rank 2 good ones; rank 3 must reject rank 1's replies,
/// take every segment from rank 2 and write the right output. Rank 0 plays the tracker.
#[test]
fn wrong_hashes_are_rejected_and_asked_elsewhere() {
    let good = vec![h('1'), h('2'), h('3')];
    let bad = vec![h('a'), h('b'), h('c')];
    let dir = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let results = LocalCluster::new(4).run(|comm| -> Result<Option<DownloadCounts>, SimError> {
        let recv = |tag| -> Result<Message, SimError> {
            let e = comm.recv_deadline(Source::Any, tag, Some(deadline))?;
            Ok(Message::decode(&e.payload).unwrap())
        };
        match comm.rank() {
            0 => {
                assert_eq!(
                    recv(TAG_TO_TRACKER)?,
                    Message::FileRequest { file: "f".into() }
                );
                let info = Message::FileInfo {
                    file: "f".into(),
                    hashes: good.clone(),
                    swarm: swarm(&[1, 2]),
                };
                comm.send(3, TAG_FROM_TRACKER, info.encode())?;
                assert_eq!(
                    recv(TAG_TO_TRACKER)?,
                    Message::FileDone { file: "f".into() }
                );
                assert_eq!(recv(TAG_TO_TRACKER)?, Message::AllDone);
                for r in [1, 2] {
                    comm.send(r, TAG_UPLOAD, Message::Stop.encode())?;
                }
                Ok(None)
            }
            r @ (1 | 2) => {
                let holdings = Holdings::default();
                let hashes = if r == 1 { bad.clone() } else { good.clone() };
                holdings.add_complete(&OwnedFile {
                    name: "f".into(),
                    hashes,
                });
                serve_uploads(comm, &holdings, deadline)?;
                Ok(None)
            }
            _ => {
                let holdings = Holdings::default();
                let mut d = Downloader {
                    comm,
                    holdings: &holdings,
                    dir: dir.path(),
                    deadline,
                    counts: Default::default(),
                };
                d.run(&[WantedEntry {
                    name: "f".into(),
                    line: 2,
                }])?;
                Ok(Some(d.counts))
            }
        }
    });
    let counts = results
        .into_iter()
        .nth(3)
        .unwrap()
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(counts.downloaded, 3);
    assert!(counts.rejected >= 1, "{counts:?}");
    assert_eq!(counts.from, BTreeMap::from([(2, 3)]));
    let out = std::fs::read_to_string(dir.path().join("client3_f")).unwrap();
    let expected: String = good.iter().map(|h| format!("{h}\n")).collect();
    assert_eq!(out, expected);
}
