//! The coordinator protocol: what rank 0 and the workers say to each other, with their
//! tags and byte encodings.
//!
//! 1. Rank 0 broadcasts a [`Task`] (the torrent bytes or the magnet link, and the worker
//!    options) — a small binary frame so the torrent is not inflated by JSON.
//! 2. Cooperative mode: every worker sends a [`Hello`] (its listen address and peer id,
//!    [`TAG_HELLO`]); rank 0 sends every worker the full list ([`TAG_PEERS`]).
//! 3. Workers send a [`Status`] about once a second ([`TAG_STATUS`]).
//! 4. Rank 0 sends [`Stop`] ([`TAG_STOP`]) when everyone is done, on Ctrl-C, or to a
//!    stalled worker; the worker stops its session and answers with its
//!    [`WorkerSummary`] ([`TAG_SUMMARY`]).
//!
//! Everything but the task is JSON. Messages in flight are bounded: one status per
//! worker per second, drained by rank 0 at least as fast.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use bitswarm_cluster::Tag;
use bitswarm_net::EncryptionPolicy;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::error::ParallelError;
use super::summary::WorkerSummary;

/// Worker → rank 0: [`Hello`] (cooperative mode).
pub const TAG_HELLO: Tag = 0x5401;
/// Rank 0 → workers: the list of [`Hello`]s.
pub const TAG_PEERS: Tag = 0x5402;
/// Worker → rank 0: [`Status`].
pub const TAG_STATUS: Tag = 0x5403;
/// Rank 0 → worker: [`Stop`].
pub const TAG_STOP: Tag = 0x5404;
/// Worker → rank 0: [`WorkerSummary`].
pub const TAG_SUMMARY: Tag = 0x5405;

/// How the workers share the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every worker downloads a full copy on its own (the classic design).
    Independent,
    /// Workers connect to each other, each asks outside peers only for its share of
    /// the pieces and trades the rest with the other workers.
    Cooperative,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Independent => "independent",
            Mode::Cooperative => "cooperative",
        })
    }
}

/// What to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The bytes of a .torrent file.
    Torrent(Vec<u8>),
    /// A magnet link.
    Magnet(String),
}

/// Settings every worker applies (decided on rank 0 from the command line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerOptions {
    /// Independent or cooperative.
    pub mode: Mode,
    /// Folder under which worker `r` downloads into `rank_<r>_download`.
    pub output: PathBuf,
    /// Cooperative variant: one copy in this folder, each worker writing its share.
    pub shared_dir: Option<PathBuf>,
    /// Base port: worker `r` listens on `base + r` (0: any free port).
    pub base_port: u16,
    /// Address the workers advertise to each other (cooperative mode).
    pub advertise_ip: Advertise,
    /// Peers every worker dials.
    pub peers: Vec<SocketAddr>,
    /// Download cap per worker, bytes/s.
    pub download_limit: Option<u64>,
    /// Upload cap per worker, bytes/s.
    pub upload_limit: Option<u64>,
    /// Most peers per worker.
    pub max_peers: usize,
    /// Seconds between peer checks.
    pub peer_check_interval_secs: u64,
    /// Faults at which a peer is banned.
    pub max_failcount: u32,
    /// Re-announce at least this often, seconds.
    pub announce_interval_secs: Option<u64>,
    /// Milliseconds between status messages.
    pub status_interval_ms: u64,
    /// Seconds a worker's share may lack its owner before others fetch it from outside.
    pub share_grace_secs: u64,
    /// Hash what is on disk instead of trusting resume data.
    pub recheck: bool,
    /// Protocol encryption (MSE/PE) of every worker's connections.
    #[serde(with = "crate::policy_text")]
    pub encryption: EncryptionPolicy,
    /// Seconds a peer has to finish its handshake.
    pub handshake_timeout_secs: u64,
    /// Magnet links: seconds each worker waits for the metadata.
    #[serde(default = "default_metadata_timeout")]
    pub metadata_timeout_secs: u64,
}

fn default_metadata_timeout() -> u64 {
    120
}

/// The address a cooperative worker gives the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Advertise {
    /// This address, for every worker (127.0.0.1 on one machine).
    Ip(IpAddr),
    /// Each worker its own: the source address of its route to the outside (workers on
    /// several hosts under MPI).
    Auto,
}

impl Advertise {
    /// The address this worker advertises. `Auto` asks the kernel which source address
    /// it would use toward a public address (a UDP `connect`, which sends nothing);
    /// without a route it falls back to 127.0.0.1.
    pub fn resolve(self) -> IpAddr {
        match self {
            Advertise::Ip(ip) => ip,
            Advertise::Auto => std::net::UdpSocket::bind("0.0.0.0:0")
                .and_then(|s| {
                    // 192.0.2.1: TEST-NET-1 (RFC 5737), never answered; only the route
                    // matters.
                    s.connect("192.0.2.1:9")?;
                    s.local_addr()
                })
                .map(|a| a.ip())
                .ok()
                .filter(|ip| !ip.is_unspecified())
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }
}

impl std::str::FromStr for Advertise {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Advertise::Auto);
        }
        s.parse::<IpAddr>()
            .map(Advertise::Ip)
            .map_err(|_| format!("{s:?} is neither an IP address nor \"auto\""))
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            mode: Mode::Cooperative,
            output: PathBuf::from("."),
            shared_dir: None,
            base_port: 0,
            advertise_ip: Advertise::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            peers: Vec::new(),
            download_limit: None,
            upload_limit: None,
            max_peers: 50,
            peer_check_interval_secs: 15,
            max_failcount: 3,
            announce_interval_secs: None,
            status_interval_ms: 1000,
            share_grace_secs: 15,
            recheck: false,
            encryption: EncryptionPolicy::Prefer,
            handshake_timeout_secs: 10,
            metadata_timeout_secs: default_metadata_timeout(),
        }
    }
}

/// What rank 0 broadcasts once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The torrent or magnet link.
    pub input: Input,
    /// How to run.
    pub options: WorkerOptions,
}

/// The JSON part of a task frame.
#[derive(Serialize, Deserialize)]
struct TaskHeader {
    options: WorkerOptions,
    magnet: Option<String>,
}

impl Task {
    /// `u32` big-endian header length, the JSON header, then the raw torrent bytes.
    pub fn encode(&self) -> Vec<u8> {
        let (magnet, body): (Option<String>, &[u8]) = match &self.input {
            Input::Torrent(b) => (None, b),
            Input::Magnet(m) => (Some(m.clone()), &[]),
        };
        let header = encode(&TaskHeader {
            options: self.options.clone(),
            magnet,
        });
        let mut out = Vec::with_capacity(4 + header.len() + body.len());
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(body);
        out
    }

    /// Decodes [`Task::encode`]'s frame.
    pub fn decode(bytes: &[u8]) -> Result<Task, ParallelError> {
        let short = || ParallelError::Message("task frame too short".into());
        let len_bytes: [u8; 4] = bytes
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(short)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let header = bytes.get(4..4usize.saturating_add(len)).ok_or_else(short)?;
        let header: TaskHeader = decode(header)?;
        let body = &bytes[4 + len..];
        let input = match header.magnet {
            Some(m) if body.is_empty() => Input::Magnet(m),
            Some(_) => {
                return Err(ParallelError::Message(
                    "task frame has both a magnet link and torrent bytes".into(),
                ))
            }
            None => Input::Torrent(body.to_vec()),
        };
        Ok(Task {
            input,
            options: header.options,
        })
    }
}

/// A worker's address for the others (cooperative mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The worker's rank.
    pub rank: usize,
    /// Where the others dial it (`None`: it failed to start and takes no part).
    pub addr: Option<SocketAddr>,
    /// Its BitTorrent peer id, which identifies it on incoming connections.
    pub peer_id: [u8; 20],
}

/// What a worker is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerState {
    /// Opening files, checking data on disk, meeting the other workers.
    Starting,
    /// Downloading.
    Downloading,
    /// Every wanted piece is verified (cooperative: still serving the others).
    Complete,
    /// It cannot go on (the reason).
    Failed(String),
}

/// A worker's periodic report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The worker's rank.
    pub rank: usize,
    /// What it is doing.
    pub state: WorkerState,
    /// Bytes it must have at the end.
    pub wanted: u64,
    /// Of those, verified.
    pub have: u64,
    /// Payload received.
    pub downloaded: u64,
    /// Payload sent.
    pub uploaded: u64,
    /// Download rate, last second, bytes/s.
    pub down_rate: u64,
    /// Download rate, rolling average, bytes/s.
    pub down_avg: u64,
    /// Upload rate, last second, bytes/s.
    pub up_rate: u64,
    /// Upload rate, rolling average, bytes/s.
    pub up_avg: u64,
    /// Connected peers.
    pub peers: usize,
    /// Seconds since the worker started.
    pub elapsed: f64,
}

impl Status {
    /// A status with nothing done yet.
    pub fn starting(rank: usize) -> Status {
        Status {
            rank,
            state: WorkerState::Starting,
            wanted: 0,
            have: 0,
            downloaded: 0,
            uploaded: 0,
            down_rate: 0,
            down_avg: 0,
            up_rate: 0,
            up_avg: 0,
            peers: 0,
            elapsed: 0.0,
        }
    }
}

/// Why rank 0 stops a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// Every worker is done (or failed).
    Finished,
    /// The user pressed Ctrl-C.
    Interrupted,
    /// The worker made no progress for this many seconds.
    Stalled(u64),
}

/// Encodes a JSON message.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data with string keys always serialises.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a JSON message.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParallelError> {
    serde_json::from_slice(bytes).map_err(|e| ParallelError::Message(e.to_string()))
}

/// Decodes a [`WorkerSummary`].
pub fn decode_summary(bytes: &[u8]) -> Result<WorkerSummary, ParallelError> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> WorkerOptions {
        WorkerOptions {
            mode: Mode::Independent,
            output: "/tmp/out dir".into(),
            shared_dir: Some("/tmp/shared".into()),
            base_port: 7000,
            peers: vec!["127.0.0.1:6881".parse().unwrap()],
            download_limit: Some(8 << 20),
            encryption: EncryptionPolicy::Require,
            handshake_timeout_secs: 3,
            advertise_ip: Advertise::Auto,
            ..WorkerOptions::default()
        }
    }

    #[test]
    fn advertise_parses_and_resolves() {
        assert_eq!("auto".parse::<Advertise>(), Ok(Advertise::Auto));
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!("10.1.2.3".parse::<Advertise>(), Ok(Advertise::Ip(ip)));
        assert!("10.1.2".parse::<Advertise>().is_err());
        assert_eq!(Advertise::Ip(ip).resolve(), ip);
        // Whatever the machine's routes, an address a peer could dial.
        assert!(!Advertise::Auto.resolve().is_unspecified());
    }

    #[test]
    fn options_carry_encryption_in_the_json_header() {
        let task = Task {
            input: Input::Torrent(vec![1]),
            options: options(),
        };
        let frame = task.encode();
        let text = String::from_utf8_lossy(&frame);
        assert!(text.contains("\"encryption\":\"require\""), "{text}");
        assert!(text.contains("\"advertise_ip\":\"auto\""), "{text}");
        let back = Task::decode(&frame).unwrap();
        assert_eq!(back.options.encryption, EncryptionPolicy::Require);
    }

    #[test]
    fn a_torrent_task_round_trips_with_its_raw_bytes() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let task = Task {
            input: Input::Torrent(bytes.clone()),
            options: options(),
        };
        let frame = task.encode();
        // The torrent travels raw, not as a JSON array of numbers.
        assert!(frame.len() < bytes.len() + 1000);
        assert_eq!(Task::decode(&frame).unwrap(), task);
    }

    #[test]
    fn a_magnet_task_round_trips() {
        let task = Task {
            input: Input::Magnet(
                "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567".into(),
            ),
            options: WorkerOptions::default(),
        };
        assert_eq!(Task::decode(&task.encode()).unwrap(), task);
    }

    #[test]
    fn broken_task_frames_are_errors_not_panics() {
        let frame = Task {
            input: Input::Torrent(vec![1, 2, 3]),
            options: options(),
        }
        .encode();
        for cut in [0, 2, 4, 10, 30] {
            assert!(Task::decode(&frame[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = frame.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Task::decode(&huge).is_err());
        let mut both = Task {
            input: Input::Magnet("magnet:?xt=x".into()),
            options: options(),
        }
        .encode();
        both.push(7);
        assert!(Task::decode(&both).is_err());
    }

    #[test]
    fn control_messages_round_trip() {
        let hello = Hello {
            rank: 3,
            addr: Some("127.0.0.1:40000".parse().unwrap()),
            peer_id: *b"-BS0100-abcdefghijkl",
        };
        assert_eq!(decode::<Hello>(&encode(&hello)).unwrap(), hello);
        let list = vec![
            hello,
            Hello {
                addr: None,
                ..hello
            },
        ];
        assert_eq!(decode::<Vec<Hello>>(&encode(&list)).unwrap(), list);
        let mut status = Status::starting(2);
        status.state = WorkerState::Failed("disk full".into());
        status.have = 5 << 20;
        status.elapsed = 1.5;
        assert_eq!(decode::<Status>(&encode(&status)).unwrap(), status);
        for stop in [Stop::Finished, Stop::Interrupted, Stop::Stalled(60)] {
            assert_eq!(decode::<Stop>(&encode(&stop)).unwrap(), stop);
        }
        assert!(decode::<Status>(b"{\"rank\":1}").is_err());
        assert!(decode::<Stop>(b"\xff").is_err());
    }
}
