//! The end-of-run report ([`SwarmReport`]) and its JSON form (`bitswarm swarm --report`).
//!
//! # JSON schema (version 1)
//!
//! Times are seconds (floats) from the moment every client rank started its clients;
//! sizes are bytes; rates are bytes per second; `null` means "not applicable" (e.g. an
//! uncapped limit, a ratio with nothing downloaded, a client that never completed).
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `version` | int | schema version, 1 |
//! | `success` | bool | every downloader completed before the deadline with verified data |
//! | `failures` | [string] | one line per failed client ("client leech-3: not complete by the deadline (120 s)") |
//! | `backend` | string | `"local"` (threads) or `"mpi"` |
//! | `ranks` | int | ranks used (rank 0: tracker and report) |
//! | `total_seconds` | float | time until the last downloader completed (the deadline if one did not) |
//! | `wall_seconds` | float | the whole run: content, torrents, start, transfer, verification |
//! | `lower_bound_seconds` | float | Kumar–Ross T_min from the caps (0 when every term vanishes) |
//! | `ratio_to_bound` | float\|null | `total_seconds / lower_bound_seconds` |
//! | `bound` | object | the terms: `files` [{`seed_term`, `download_term`, `aggregate_term`, `seconds`}], `client_download_term`, `total_aggregate_term`, `seconds` |
//! | `scenario` | object | the scenario as run (after command-line overrides), same fields as the TOML |
//! | `files` | [object] | per file: `name`, `size`, `piece_length`, `pieces`, `info_hash` (hex), `sha1` (hex of the content) |
//! | `totals` | object | `downloaded`, `uploaded` (Σ over clients), `hash_failures`, `banned` |
//! | `clients` | [object] | one per client, below |
//!
//! Each entry of `clients`:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `name` | string | unique client name (`seed-1`, `peer-2`, `leech-3`, or from the scenario) |
//! | `rank` | int | the rank that ran it |
//! | `roles` | [string] | role per file: `seed`, `peer`, `leech`, `none` |
//! | `upload_limit`, `download_limit` | int\|null | caps, bytes/s |
//! | `corrupt` | bool | served wrong data on purpose |
//! | `needed` | int | bytes it had to download (over every file) |
//! | `downloaded`, `uploaded` | int | payload bytes received and sent (all files; received includes discarded blocks) |
//! | `ratio` | float\|null | uploaded / downloaded |
//! | `avg_download_rate` | float\|null | downloaded / time to complete (or / total_seconds if it did not) |
//! | `avg_upload_rate` | float | uploaded / total_seconds |
//! | `completed` | bool | every file it downloads was complete (engine-verified pieces) in time |
//! | `complete_seconds` | float\|null | when it completed (0 for a client that downloads nothing) |
//! | `verified` | bool | every file it downloads equals the source byte for byte (SHA-1 of the whole file); true for pure seeds |
//! | `from_seeds`, `from_peers` | int | bytes received from peers that had the whole file at the time, and from the others |
//! | `from_seeds_share` | float\|null | from_seeds / (from_seeds + from_peers) |
//! | `hash_failures` | int | pieces that failed their hash check at this client |
//! | `banned` | int | addresses this client banned |
//! | `suspected_by` | int | clients that counted a fault against this client's listen address |
//! | `timeline` | [[float, float]] | (seconds, fraction of `needed` verified), sampled a few times a second |
//! | `error` | string\|null | why the client failed, if it did |

use serde::{Deserialize, Serialize};

use super::bound::Bound;
use super::scenario::{Role, Scenario};

/// Schema version of [`SwarmReport`].
pub const REPORT_VERSION: u32 = 1;

/// Everything a run measured; see the module docs for the JSON schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwarmReport {
    /// Schema version.
    pub version: u32,
    /// Every downloader completed in time with verified data.
    pub success: bool,
    /// One line per failed client.
    pub failures: Vec<String>,
    /// `"local"` or `"mpi"`.
    pub backend: String,
    /// Ranks used.
    pub ranks: usize,
    /// Time until the last downloader completed (the deadline if one did not).
    pub total_seconds: f64,
    /// The whole run.
    pub wall_seconds: f64,
    /// Kumar–Ross T_min.
    pub lower_bound_seconds: f64,
    /// total_seconds / lower_bound_seconds.
    pub ratio_to_bound: Option<f64>,
    /// The bound's terms.
    pub bound: Bound,
    /// The scenario as run.
    pub scenario: Scenario,
    /// The files.
    pub files: Vec<FileReport>,
    /// Sums over clients.
    pub totals: Totals,
    /// One entry per client, in scenario order.
    pub clients: Vec<ClientReport>,
}

/// One file of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Name.
    pub name: String,
    /// Size.
    pub size: u64,
    /// Piece length.
    pub piece_length: u32,
    /// Piece count.
    pub pieces: u32,
    /// Info-hash, hex.
    pub info_hash: String,
    /// SHA-1 of the content, hex.
    pub sha1: String,
}

/// Sums over every client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Σ downloaded.
    pub downloaded: u64,
    /// Σ uploaded.
    pub uploaded: u64,
    /// Σ hash failures.
    pub hash_failures: u64,
    /// Σ banned addresses.
    pub banned: u64,
}

/// One client's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    /// Name.
    pub name: String,
    /// The rank that ran it.
    pub rank: usize,
    /// Role per file.
    pub roles: Vec<Role>,
    /// Upload cap.
    pub upload_limit: Option<u64>,
    /// Download cap.
    pub download_limit: Option<u64>,
    /// Served wrong data on purpose.
    pub corrupt: bool,
    /// Bytes it had to download.
    pub needed: u64,
    /// Payload bytes received.
    pub downloaded: u64,
    /// Payload bytes sent.
    pub uploaded: u64,
    /// uploaded / downloaded.
    pub ratio: Option<f64>,
    /// downloaded / time to complete.
    pub avg_download_rate: Option<f64>,
    /// uploaded / total_seconds.
    pub avg_upload_rate: f64,
    /// Complete in time.
    pub completed: bool,
    /// When it completed.
    pub complete_seconds: Option<f64>,
    /// Its downloaded files equal the source.
    pub verified: bool,
    /// Bytes received from complete peers.
    pub from_seeds: u64,
    /// Bytes received from incomplete peers.
    pub from_peers: u64,
    /// from_seeds / (from_seeds + from_peers).
    pub from_seeds_share: Option<f64>,
    /// Pieces that failed their hash check here.
    pub hash_failures: u64,
    /// Addresses this client banned.
    pub banned: u64,
    /// Clients that counted a fault against this client's listen address.
    pub suspected_by: u64,
    /// (seconds, fraction verified) samples.
    pub timeline: Vec<(f64, f64)>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl SwarmReport {
    /// Fills `totals`, `total_seconds`, the ratio, `failures` and `success` from the
    /// clients, `deadline_secs` and the bound.
    pub fn finish(&mut self) {
        let mut totals = Totals::default();
        for c in &self.clients {
            totals.downloaded += c.downloaded;
            totals.uploaded += c.uploaded;
            totals.hash_failures += c.hash_failures;
            totals.banned += c.banned;
        }
        self.totals = totals;
        let deadline = self.scenario.deadline_secs as f64;
        let mut failures = Vec::new();
        let mut last: f64 = 0.0;
        for c in &self.clients {
            if let Some(e) = &c.error {
                failures.push(format!("client {}: {e}", c.name));
                continue;
            }
            if c.needed == 0 && !c.roles.iter().any(|r| r.downloads()) {
                continue;
            }
            match c.complete_seconds {
                Some(t) if c.completed => last = last.max(t),
                _ => {
                    last = last.max(deadline);
                    failures.push(format!(
                        "client {}: not complete by the deadline ({deadline:.0} s)",
                        c.name
                    ));
                    continue;
                }
            }
            if !c.verified && !c.corrupt {
                failures.push(format!(
                    "client {}: its data differs from the source",
                    c.name
                ));
            }
        }
        self.total_seconds = last;
        self.ratio_to_bound = (self.lower_bound_seconds > 0.0
            && self.lower_bound_seconds.is_finite())
        .then(|| last / self.lower_bound_seconds);
        self.success = failures.is_empty();
        self.failures = failures;
    }

    /// The report as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
pub(crate) mod tests;
