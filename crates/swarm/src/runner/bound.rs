//! The Kumar–Ross lower bound on the time for every downloader to finish, from the
//! scenario's caps (pure arithmetic, no I/O).
//!
//! For one file of F bytes, seeds with total upload u_s, N downloaders with uploads u_i and
//! smallest download cap d_min (Kumar & Ross, 2006):
//!
//! ```text
//! T_min = max( F / u_s,  F / d_min,  N·F / (u_s + Σ u_i) )
//! ```
//!
//! How this runner generalises it (each term stays a valid lower bound):
//!
//! - **Peers holding parts.** A downloader i needs `need_i` bytes (F for a leecher, F minus
//!   what it holds for a peer). The seed term uses the bytes that no downloader holds at
//!   start (only seeds can send those): `seed_only / u_s`. The download term is
//!   `max_i need_i / d_i` (F/d_min when every need is F). The aggregate term is
//!   `Σ need_i / (u_s + Σ u_i)`.
//! - **Several files.** The bound of each file is computed as if every participant gave
//!   that file its whole upload and download (a relaxation, so still a lower bound), and
//!   two cross-file terms are added: every client's total need over its download cap, and
//!   all bytes needed by anyone over the sum of every client's upload (each client counted
//!   once). `T_min` is the largest of all of them.
//! - **Uncapped values.** An uncapped rate is infinite, so a term with it in the
//!   denominator vanishes (is 0): an uncapped seed removes the seed term, an uncapped
//!   downloader's download its own download term, and any uncapped uploader among a file's
//!   participants removes that file's aggregate term. With nothing capped the bound is 0
//!   and the measured/bound ratio is not defined.
//!
//! The engine's token buckets start full (a quarter second of traffic at the cap), so a
//! run of a second or two can finish slightly under the fluid bound.

use serde::{Deserialize, Serialize};

/// What one client does with one file, for the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundRole {
    /// Not part of this file.
    Absent,
    /// Has the whole file.
    Seed,
    /// Needs this many bytes.
    Download {
        /// Bytes it must receive.
        need: u64,
    },
}

/// One client's caps and roles.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundClient {
    /// Upload cap, bytes/s (`None`: uncapped).
    pub upload: Option<u64>,
    /// Download cap, bytes/s (`None`: uncapped).
    pub download: Option<u64>,
    /// Role per file.
    pub roles: Vec<BoundRole>,
}

/// One file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundFile {
    /// Size in bytes.
    pub size: u64,
    /// Bytes that no downloader holds at start (the seeds must upload them at least once).
    pub seed_only: u64,
}

/// The terms of one file's bound, seconds (0 when a term vanishes).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileBound {
    /// seed_only / u_s.
    pub seed_term: f64,
    /// max_i need_i / d_i.
    pub download_term: f64,
    /// Σ need_i / (u_s + Σ u_i).
    pub aggregate_term: f64,
    /// The largest of the three.
    pub seconds: f64,
}

/// The whole bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// Per file, in file order.
    pub files: Vec<FileBound>,
    /// max over clients of (Σ over files of need) / d.
    pub client_download_term: f64,
    /// Σ of every need / Σ of every client's upload.
    pub total_aggregate_term: f64,
    /// T_min: the largest term of all.
    pub seconds: f64,
}

/// `bytes / rate`, 0 when the rate is uncapped (infinite), infinite when it is 0 B/s
/// with bytes to move.
fn over(bytes: f64, rate: Option<f64>) -> f64 {
    match rate {
        None => 0.0,
        Some(_) if bytes <= 0.0 => 0.0,
        Some(r) if r <= 0.0 => f64::INFINITY,
        Some(r) => bytes / r,
    }
}

/// Sums rates; any uncapped one makes the sum uncapped.
fn sum_rates(rates: impl Iterator<Item = Option<u64>>) -> Option<f64> {
    let mut total = 0.0;
    for r in rates {
        total += r? as f64;
    }
    Some(total)
}

/// Computes the bound. `clients[i].roles` has one entry per file of `files`.
pub fn lower_bound(files: &[BoundFile], clients: &[BoundClient]) -> Bound {
    let role = |c: &BoundClient, f: usize| c.roles.get(f).copied().unwrap_or(BoundRole::Absent);
    let mut per_file = Vec::with_capacity(files.len());
    for (f, file) in files.iter().enumerate() {
        let seeds = clients.iter().filter(|c| role(c, f) == BoundRole::Seed);
        let u_s = sum_rates(seeds.map(|c| c.upload));
        let mut download_term: f64 = 0.0;
        let mut need_total = 0u64;
        for c in clients {
            if let BoundRole::Download { need } = role(c, f) {
                need_total += need;
                download_term = download_term.max(over(need as f64, c.download.map(|d| d as f64)));
            }
        }
        let participants = clients.iter().filter(|c| role(c, f) != BoundRole::Absent);
        let aggregate_term = over(need_total as f64, sum_rates(participants.map(|c| c.upload)));
        let seed_term = if need_total == 0 {
            0.0
        } else {
            over(file.seed_only as f64, u_s)
        };
        per_file.push(FileBound {
            seed_term,
            download_term,
            aggregate_term,
            seconds: seed_term.max(download_term).max(aggregate_term),
        });
    }
    let need_of = |c: &BoundClient| -> u64 {
        c.roles
            .iter()
            .map(|r| match r {
                BoundRole::Download { need } => *need,
                _ => 0,
            })
            .sum()
    };
    let client_download_term = clients
        .iter()
        .map(|c| over(need_of(c) as f64, c.download.map(|d| d as f64)))
        .fold(0.0, f64::max);
    let all_need: u64 = clients.iter().map(need_of).sum();
    let total_aggregate_term = over(all_need as f64, sum_rates(clients.iter().map(|c| c.upload)));
    let seconds = per_file
        .iter()
        .map(|b| b.seconds)
        .fold(client_download_term.max(total_aggregate_term), f64::max);
    Bound {
        files: per_file,
        client_download_term,
        total_aggregate_term,
        seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn leech(up: Option<u64>, down: Option<u64>, need: u64) -> BoundClient {
        BoundClient {
            upload: up,
            download: down,
            roles: vec![BoundRole::Download { need }],
        }
    }

    fn seed(up: Option<u64>) -> BoundClient {
        BoundClient {
            upload: up,
            download: None,
            roles: vec![BoundRole::Seed],
        }
    }

    fn file(size: u64) -> BoundFile {
        BoundFile {
            size,
            seed_only: size,
        }
    }

    #[test]
    fn classic_formula_aggregate_dominates() {
        // 50 leechers at 2 MiB/s up, a seed at 4 MiB/s, 32 MiB: N·F/(u_s+Σu_i) = 1600/104.
        let mut clients = vec![seed(Some(4 * MIB))];
        clients.extend((0..50).map(|_| leech(Some(2 * MIB), None, 32 * MIB)));
        let b = lower_bound(&[file(32 * MIB)], &clients);
        assert!((b.files[0].seed_term - 8.0).abs() < 1e-9);
        assert_eq!(b.files[0].download_term, 0.0);
        assert!((b.seconds - 1600.0 / 104.0).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn seed_and_download_terms() {
        // One leecher: F/u_s = 8 s dominates N·F/(u_s+u_1) = 32/6.
        let b = lower_bound(
            &[file(32 * MIB)],
            &[
                seed(Some(4 * MIB)),
                leech(Some(2 * MIB), Some(MIB), 32 * MIB),
            ],
        );
        assert!((b.files[0].seed_term - 8.0).abs() < 1e-9);
        assert!((b.files[0].download_term - 32.0).abs() < 1e-9);
        assert!((b.seconds - 32.0).abs() < 1e-9);
    }

    #[test]
    fn uncapped_terms_vanish() {
        let b = lower_bound(&[file(MIB)], &[seed(None), leech(None, None, MIB)]);
        assert_eq!(b.seconds, 0.0);
        // An uncapped leecher upload removes the aggregate term but not the seed term.
        let b = lower_bound(&[file(MIB)], &[seed(Some(MIB)), leech(None, None, MIB)]);
        assert_eq!(b.files[0].aggregate_term, 0.0);
        assert!((b.seconds - 1.0).abs() < 1e-9);
    }

    #[test]
    fn peers_holding_parts_need_less() {
        // A peer holding half needs half; the seed must only send what no one holds.
        let files = [BoundFile {
            size: 8 * MIB,
            seed_only: 4 * MIB,
        }];
        let b = lower_bound(
            &files,
            &[seed(Some(MIB)), leech(Some(MIB), Some(MIB), 4 * MIB)],
        );
        assert!((b.files[0].seed_term - 4.0).abs() < 1e-9);
        assert!((b.files[0].download_term - 4.0).abs() < 1e-9);
        assert!((b.files[0].aggregate_term - 2.0).abs() < 1e-9);
    }

    #[test]
    fn several_files_take_the_max_and_cross_file_terms() {
        // A client downloading two 4 MiB files at 1 MiB/s needs 8 s in total.
        let c = BoundClient {
            upload: None,
            download: Some(MIB),
            roles: vec![
                BoundRole::Download { need: 4 * MIB },
                BoundRole::Download { need: 4 * MIB },
            ],
        };
        let s = BoundClient {
            upload: None,
            download: None,
            roles: vec![BoundRole::Seed, BoundRole::Seed],
        };
        let b = lower_bound(&[file(4 * MIB), file(4 * MIB)], &[s, c]);
        assert!((b.files[0].seconds - 4.0).abs() < 1e-9);
        assert!((b.client_download_term - 8.0).abs() < 1e-9);
        assert!((b.seconds - 8.0).abs() < 1e-9);
    }

    #[test]
    fn zero_rate_is_infinite() {
        let b = lower_bound(&[file(MIB)], &[seed(Some(0)), leech(None, None, MIB)]);
        assert!(b.seconds.is_infinite());
    }
}
