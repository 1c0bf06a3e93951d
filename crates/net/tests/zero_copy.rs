//! Zero-copy upload (`sendfile`): a multi-file torrent whose blocks span files arrives
//! byte for byte whichever way the seed sends it, and the seed sends from the page cache
//! exactly when it may: plaintext connections without an upload limit.

mod common;

use std::time::Duration;

use bitswarm_net::{EncryptionPolicy, Session, SessionConfig, TorrentHandle};
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Files of odd sizes (an empty one, a 1-byte one) so that most 16 KiB blocks of the
/// 32 KiB pieces cross from one file into the next, some into three.
const FILES: [(&str, usize); 7] = [
    ("a", 10_000),
    ("empty", 0),
    ("sub/b", 20_000),
    ("one", 1),
    ("c", 50_000),
    ("d", 33_333),
    ("e", 300_000),
];

/// Waits until the seed's published `uploaded` stops changing; returns the stats then.
async fn settled(h: &TorrentHandle) -> bitswarm_net::TorrentStats {
    let mut last = h.stats();
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = h.stats();
        if now.uploaded == last.uploaded && now.uploaded_zero_copy == last.uploaded_zero_copy {
            return now;
        }
        last = now;
    }
}

/// Seeds the torrent from a session made with `seed_config`, downloads it with a
/// default session using `leech_encryption`; returns the seed's (uploaded, zero-copy).
async fn transfer(seed_config: SessionConfig, leech_encryption: EncryptionPolicy) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "zc", &FILES, 32 * 1024, vec![]);
    let seed = Session::new(seed_config).await.unwrap();
    let sh = add_seed(&seed, &meta, &data).await;
    let leech = Session::new(SessionConfig {
        encryption: leech_encryption,
        ..config()
    })
    .await
    .unwrap();
    let out = dir.path().join("out");
    let lh = download_from(&leech, &meta, &out, &seed).await;
    completed(&lh, TIMEOUT).await;
    leech.shutdown().await;
    assert_same_tree(&data, &out.join("zc"));
    let s = settled(&sh).await;
    seed.shutdown().await;
    (s.uploaded, s.uploaded_zero_copy)
}

fn total() -> u64 {
    FILES.iter().map(|f| f.1 as u64).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_upload_goes_from_the_files_byte_for_byte() {
    logs();
    // Default `prefer` on both sides: an MSE handshake, then a plaintext payload.
    let (up, zero_copy) = transfer(config(), EncryptionPolicy::Prefer).await;
    assert_eq!(up, total());
    assert_eq!(zero_copy, total(), "every block sent with sendfile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_limited_or_disabled_upload_reads_into_memory() {
    logs();
    // RC4 must see the bytes.
    let require = SessionConfig {
        encryption: EncryptionPolicy::Require,
        ..config()
    };
    let (up, zero_copy) = transfer(require, EncryptionPolicy::Require).await;
    assert_eq!((up, zero_copy), (total(), 0), "RC4");
    // A rate-limited session paces its writes from memory.
    let limited = SessionConfig {
        upload_limit: Some(64 * 1024 * 1024),
        ..config()
    };
    let (up, zero_copy) = transfer(limited, EncryptionPolicy::Disable).await;
    assert_eq!((up, zero_copy), (total(), 0), "upload limit");
    // Turned off.
    let off = SessionConfig {
        zero_copy_upload: false,
        ..config()
    };
    let (up, zero_copy) = transfer(off, EncryptionPolicy::Disable).await;
    assert_eq!((up, zero_copy), (total(), 0), "zero_copy_upload: false");
}
