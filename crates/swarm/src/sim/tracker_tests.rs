use super::*;
use crate::sim::message::OwnedFile;

fn h(c: char) -> SegmentHash {
    SegmentHash::parse(&c.to_string().repeat(32)).unwrap()
}

fn owned(name: &str, n: usize) -> OwnedFile {
    OwnedFile {
        name: name.into(),
        hashes: (0..n)
            .map(|i| h(char::from(b'a' + (i % 6) as u8)))
            .collect(),
    }
}

fn ranks(out: &[TrackerOutput]) -> Vec<(Rank, Role)> {
    match out {
        [TrackerOutput::Reply(_, Message::Swarm { swarm, .. })]
        | [TrackerOutput::Reply(_, Message::FileInfo { swarm, .. })] => {
            swarm.iter().map(|m| (m.rank, m.role)).collect()
        }
        other => panic!("expected a swarm, got {other:?}"),
    }
}

/// Clients 1 and 2 seed f; 3 wants it.
fn started() -> Tracker {
    let mut t = Tracker::new(3);
    assert!(t
        .handle(
            1,
            Message::Register {
                files: vec![owned("f", 20)]
            }
        )
        .unwrap()
        .is_empty());
    assert!(t
        .handle(
            2,
            Message::Register {
                files: vec![owned("f", 20)]
            }
        )
        .unwrap()
        .is_empty());
    assert_eq!(
        t.handle(3, Message::Register { files: vec![] }).unwrap(),
        vec![TrackerOutput::StartAll]
    );
    t
}

#[test]
fn starts_only_when_everyone_registered() {
    let mut t = Tracker::new(2);
    t.handle(
        1,
        Message::Register {
            files: vec![owned("f", 3)],
        },
    )
    .unwrap();
    let e = t
        .handle(1, Message::FileRequest { file: "f".into() })
        .unwrap_err();
    assert!(e.what.contains("before every client registered"));
}

#[test]
fn file_request_gives_hashes_and_seeds() {
    let mut t = started();
    let out = t
        .handle(3, Message::FileRequest { file: "f".into() })
        .unwrap();
    match &out[..] {
        [TrackerOutput::Reply(3, Message::FileInfo { hashes, .. })] => assert_eq!(hashes.len(), 20),
        other => panic!("{other:?}"),
    }
    assert_eq!(ranks(&out), [(1, Role::Seed), (2, Role::Seed)]);
}

#[test]
fn swarm_update_registers_a_peer_and_file_done_makes_a_seed() {
    let mut t = started();
    let out = t
        .handle(3, Message::SwarmUpdate { file: "f".into() })
        .unwrap();
    assert_eq!(
        ranks(&out),
        [(1, Role::Seed), (2, Role::Seed), (3, Role::Peer)]
    );
    assert!(t
        .handle(3, Message::FileDone { file: "f".into() })
        .unwrap()
        .is_empty());
    let out = t
        .handle(3, Message::SwarmUpdate { file: "f".into() })
        .unwrap();
    assert_eq!(
        ranks(&out),
        [(1, Role::Seed), (2, Role::Seed), (3, Role::Seed)]
    );
}

#[test]
fn unknown_file_is_answered_not_ignored() {
    let mut t = started();
    let out = t
        .handle(
            3,
            Message::FileRequest {
                file: "nope".into(),
            },
        )
        .unwrap();
    assert_eq!(
        out,
        vec![TrackerOutput::Reply(
            3,
            Message::UnknownFile {
                file: "nope".into()
            }
        )]
    );
}

#[test]
fn stop_after_everyone_is_done() {
    let mut t = started();
    for r in 1..=2 {
        assert!(t.handle(r, Message::AllDone).unwrap().is_empty());
        assert!(!t.finished());
    }
    assert!(t.handle(2, Message::AllDone).is_err());
    assert_eq!(
        t.handle(3, Message::AllDone).unwrap(),
        vec![TrackerOutput::StopAll]
    );
    assert!(t.finished());
    let c = t.counts();
    assert_eq!((c.register, c.all_done, c.received()), (3, 4, 7));
}

#[test]
fn refuses_strangers_and_conflicting_owners() {
    let mut t = Tracker::new(2);
    assert!(t.handle(0, Message::AllDone).is_err());
    assert!(t.handle(9, Message::AllDone).is_err());
    t.handle(
        1,
        Message::Register {
            files: vec![owned("f", 3)],
        },
    )
    .unwrap();
    assert!(t
        .handle(
            2,
            Message::Register {
                files: vec![owned("f", 4)]
            }
        )
        .is_err());
}
