//! What rank 0 tells the client ranks ([`Plan`], broadcast once) and what they tell it
//! back (progress every half second, outcomes at the end), as JSON over cluster messages.

use std::net::SocketAddr;
use std::path::PathBuf;

use bitswarm_cluster::Tag;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::content::PreparedFile;
use super::error::RunnerError;
use super::report::ClientReport;
use super::scenario::{ResolvedClient, Scenario};

/// Client ranks → rank 0: a [`RankProgress`].
pub const TAG_PROGRESS: Tag = 0x5301;
/// Rank 0 → client ranks: stop (every downloader is done, or the deadline passed).
pub const TAG_STOP: Tag = 0x5302;

/// Everything a client rank needs to run its clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario as run.
    pub scenario: Scenario,
    /// Files with their torrents and content paths (on this machine).
    pub files: Vec<PreparedFile>,
    /// Every client.
    pub clients: Vec<ResolvedClient>,
    /// The rank of every client.
    pub placement: Vec<usize>,
    /// Folder under which each client gets `clients/<name>/`.
    pub work_dir: PathBuf,
}

/// One client's state, sent to rank 0 a few times a second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientProgress {
    /// Index in [`Plan::clients`].
    pub index: usize,
    /// Bytes it must download.
    pub needed: u64,
    /// Of those, verified so far.
    pub have: u64,
    /// Payload received.
    pub downloaded: u64,
    /// Payload sent.
    pub uploaded: u64,
    /// Download rate, bytes/s.
    pub download_rate: u64,
    /// Upload rate, bytes/s.
    pub upload_rate: u64,
    /// Every file it downloads is complete.
    pub complete: bool,
    /// It failed (its report says why).
    pub failed: bool,
}

/// A client rank's progress message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankProgress {
    /// Seconds since the rank started its clients.
    pub elapsed: f64,
    /// Its clients.
    pub clients: Vec<ClientProgress>,
}

/// One client's end result, gathered by rank 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientOutcome {
    /// Index in [`Plan::clients`].
    pub index: usize,
    /// The report entry (rank 0 fills `suspected_by`).
    pub report: ClientReport,
    /// Where it listened.
    pub listen: Option<SocketAddr>,
    /// Peer addresses it counted a fault against.
    pub faulted: Vec<SocketAddr>,
}

/// Encodes a message.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data with string keys always serialises.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a message.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RunnerError> {
    serde_json::from_slice(bytes).map_err(|e| RunnerError::Message(e.to_string()))
}
