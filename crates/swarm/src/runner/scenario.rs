//! The scenario: what a swarm run is made of (files, clients and their roles per file,
//! caps, deadline), read from TOML with defaults for every field, overridable from the
//! command line, and resolved into a flat list of files and clients.
//!
//! [`DEFAULT_SCENARIO_TOML`] documents every field; `bitswarm swarm --print-default` prints
//! it, and a test checks that it parses to [`Scenario::default`].

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use bitswarm_net::EncryptionPolicy;
use serde::{Deserialize, Serialize};

use super::error::RunnerError;
pub use super::units::{parse_rate, parse_size, ByteSize, PieceLength, Rate};

/// Most clients one run accepts (each is a session with a listener and a hashing thread).
pub const MAX_CLIENTS: usize = 5000;
/// Most files one run accepts.
pub const MAX_FILES: usize = 64;

/// A whole swarm run, as written in the scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Seed of the random generator that makes the content and picks held pieces.
    pub seed: u64,
    /// Fail the run if a downloader is not complete this many seconds after start.
    pub deadline_secs: u64,
    /// Ranks on one machine without MPI: rank 0 runs the tracker, ranks 1.. the clients.
    pub ranks: usize,
    /// Generated files when no `[[file]]` is given.
    pub files: usize,
    /// Size of each generated file.
    pub size: ByteSize,
    /// Piece length; `"auto"` picks it from the file size (at most 2000 pieces).
    pub piece_length: PieceLength,
    /// Clients that seed every file.
    pub seeds: usize,
    /// Clients that hold a part of every file at start and download the rest.
    pub peers: usize,
    /// Clients that start with nothing and download every file.
    pub leechers: usize,
    /// Fraction of the pieces a peer holds at start (0 to 1).
    pub hold_fraction: f64,
    /// Upload cap of every client that does not set its own.
    pub upload_limit: Rate,
    /// Download cap of every client that does not set its own.
    pub download_limit: Rate,
    /// Upload cap of the `seeds` clients (unset: `upload_limit`).
    pub seed_upload_limit: Option<Rate>,
    /// Tracker announce interval, seconds (clients also re-announce at least this often).
    pub announce_interval_secs: u64,
    /// Most connected peers per client and torrent.
    pub max_peers: usize,
    /// Protocol encryption (MSE/PE) of every client.
    #[serde(with = "crate::policy_text")]
    pub encryption: EncryptionPolicy,
    /// Explicit files (replace `files`/`size`).
    #[serde(rename = "file", skip_serializing_if = "Vec::is_empty")]
    pub file_list: Vec<FileSpec>,
    /// Explicit clients with a role per file (added to `seeds`/`peers`/`leechers`).
    #[serde(rename = "client", skip_serializing_if = "Vec::is_empty")]
    pub client_list: Vec<ClientSpec>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 1,
            deadline_secs: 120,
            ranks: 3,
            files: 1,
            size: ByteSize(64 * MIB),
            piece_length: PieceLength::Auto,
            seeds: 2,
            peers: 6,
            leechers: 8,
            hold_fraction: 0.5,
            upload_limit: Rate(Some(4 * MIB)),
            download_limit: Rate(None),
            seed_upload_limit: Some(Rate(Some(8 * MIB))),
            announce_interval_secs: 1,
            max_peers: 50,
            encryption: EncryptionPolicy::Prefer,
            file_list: Vec::new(),
            client_list: Vec::new(),
        }
    }
}

const MIB: u64 = 1024 * 1024;

/// One file of the swarm (each file is its own single-file torrent).
#[derive(Clone, Debug, PartialEq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSpec {
    /// File name (unset: `file-<n>.bin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Size of generated content (unset: the scenario's `size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// Use this existing file as the content instead of generating it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

/// One or more identical clients with a role per file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSpec {
    /// Name (with `count > 1`, `-<n>` is appended); unset: `client-<n>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many such clients.
    pub count: usize,
    /// Role per file, in file order; missing entries are `none`. A single entry applies
    /// to every file.
    pub roles: Vec<Role>,
    /// Upload cap (unset: the scenario's `upload_limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_limit: Option<Rate>,
    /// Download cap (unset: the scenario's `download_limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_limit: Option<Rate>,
    /// Fraction of pieces held at start where the role is `peer` (unset: the scenario's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_fraction: Option<f64>,
    /// Serve wrong data: every block of what it holds at start has a flipped byte.
    pub corrupt: bool,
}

impl Default for ClientSpec {
    fn default() -> Self {
        ClientSpec {
            name: None,
            count: 1,
            roles: Vec::new(),
            upload_limit: None,
            download_limit: None,
            hold_fraction: None,
            corrupt: false,
        }
    }
}

/// What a client does with one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Has the whole file from the start and uploads it.
    Seed,
    /// Holds a part of the file at start, downloads the rest, uploads what it has.
    Peer,
    /// Starts with nothing and downloads the whole file.
    #[serde(alias = "leecher")]
    Leech,
    /// Does not take part in this file.
    None,
}

impl Role {
    /// Whether the role downloads anything.
    pub fn downloads(self) -> bool {
        matches!(self, Role::Peer | Role::Leech)
    }

    /// One letter for tables: S, P, L or `-`.
    pub fn letter(self) -> char {
        match self {
            Role::Seed => 'S',
            Role::Peer => 'P',
            Role::Leech => 'L',
            Role::None => '-',
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Seed => "seed",
            Role::Peer => "peer",
            Role::Leech => "leech",
            Role::None => "none",
        })
    }
}

/// Command-line values that replace scenario fields (`None`: keep the scenario's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--seeds`.
    pub seeds: Option<usize>,
    /// `--peers`.
    pub peers: Option<usize>,
    /// `--leechers`.
    pub leechers: Option<usize>,
    /// `--size` (generated files; also every `[[file]]` without a path).
    pub size: Option<u64>,
    /// `--files` (generated files; with `[[file]]` entries it is an error).
    pub files: Option<usize>,
    /// `--upload-limit`: every client's upload cap, the seeds' and explicit clients' too.
    pub upload_limit: Option<Option<u64>>,
    /// `--download-limit`: every client's download cap.
    pub download_limit: Option<Option<u64>>,
}

/// A file after resolution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedFile {
    /// File name (also the torrent's name).
    pub name: String,
    /// Size in bytes (for a given path: its size on disk, filled in by the content step).
    pub size: u64,
    /// Existing content, if given.
    pub path: Option<PathBuf>,
}

/// A client after resolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedClient {
    /// Position in the client list.
    pub index: usize,
    /// Unique name.
    pub name: String,
    /// Role per file.
    pub roles: Vec<Role>,
    /// Upload cap, bytes/s.
    pub upload_limit: Option<u64>,
    /// Download cap, bytes/s.
    pub download_limit: Option<u64>,
    /// Fraction of pieces held at start where the role is `peer`.
    pub hold_fraction: f64,
    /// Serves wrong data.
    pub corrupt: bool,
}

impl ResolvedClient {
    /// Whether it downloads any file.
    pub fn downloads(&self) -> bool {
        self.roles.iter().any(|r| r.downloads())
    }
}

impl Scenario {
    /// Parses TOML (unknown fields are errors; every field has a default).
    pub fn from_toml(text: &str) -> Result<Scenario, RunnerError> {
        toml::from_str(text).map_err(|e| RunnerError::Scenario(e.to_string().trim().to_owned()))
    }

    /// Replaces fields by command-line values.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), RunnerError> {
        if let Some(n) = o.seeds {
            self.seeds = n;
        }
        if let Some(n) = o.peers {
            self.peers = n;
        }
        if let Some(n) = o.leechers {
            self.leechers = n;
        }
        if let Some(n) = o.files {
            if !self.file_list.is_empty() {
                return Err(RunnerError::Scenario(
                    "--files cannot be used with a scenario that lists [[file]] entries".into(),
                ));
            }
            self.files = n;
        }
        if let Some(size) = o.size {
            self.size = ByteSize(size);
            for f in &mut self.file_list {
                if f.path.is_none() {
                    f.size = Some(ByteSize(size));
                }
            }
        }
        if let Some(up) = o.upload_limit {
            self.upload_limit = Rate(up);
            self.seed_upload_limit = None;
            for c in &mut self.client_list {
                c.upload_limit = None;
            }
        }
        if let Some(down) = o.download_limit {
            self.download_limit = Rate(down);
            for c in &mut self.client_list {
                c.download_limit = None;
            }
        }
        Ok(())
    }

    /// The files, in order.
    pub fn resolved_files(&self) -> Vec<ResolvedFile> {
        if self.file_list.is_empty() {
            return (1..=self.files)
                .map(|i| ResolvedFile {
                    name: format!("file-{i}.bin"),
                    size: self.size.0,
                    path: None,
                })
                .collect();
        }
        self.file_list
            .iter()
            .enumerate()
            .map(|(i, f)| ResolvedFile {
                name: f
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("file-{}.bin", i + 1)),
                size: f.size.map_or(self.size.0, |s| s.0),
                path: f.path.clone(),
            })
            .collect()
    }

    /// Every client: `seeds`, then `peers`, then `leechers`, then the `[[client]]` entries.
    pub fn resolved_clients(&self) -> Vec<ResolvedClient> {
        let nfiles = self.resolved_files().len();
        let mut out: Vec<ResolvedClient> = Vec::new();
        let mut push = |name: String, roles: Vec<Role>, up, down, hold, corrupt| {
            let index = out.len();
            out.push(ResolvedClient {
                index,
                name,
                roles,
                upload_limit: up,
                download_limit: down,
                hold_fraction: hold,
                corrupt,
            });
        };
        let seed_up = self.seed_upload_limit.unwrap_or(self.upload_limit).0;
        let groups = [
            ("seed", self.seeds, Role::Seed, seed_up),
            ("peer", self.peers, Role::Peer, self.upload_limit.0),
            ("leech", self.leechers, Role::Leech, self.upload_limit.0),
        ];
        for (prefix, count, role, up) in groups {
            for i in 1..=count {
                push(
                    format!("{prefix}-{i}"),
                    vec![role; nfiles],
                    up,
                    self.download_limit.0,
                    self.hold_fraction,
                    false,
                );
            }
        }
        let mut unnamed = 0;
        for spec in &self.client_list {
            let roles: Vec<Role> = match spec.roles.as_slice() {
                [one] => vec![*one; nfiles],
                many => (0..nfiles)
                    .map(|i| many.get(i).copied().unwrap_or(Role::None))
                    .collect(),
            };
            for i in 1..=spec.count {
                let name = match &spec.name {
                    Some(n) if spec.count == 1 => n.clone(),
                    Some(n) => format!("{n}-{i}"),
                    None => {
                        unnamed += 1;
                        format!("client-{unnamed}")
                    }
                };
                push(
                    name,
                    roles.clone(),
                    spec.upload_limit.unwrap_or(self.upload_limit).0,
                    spec.download_limit.unwrap_or(self.download_limit).0,
                    spec.hold_fraction.unwrap_or(self.hold_fraction),
                    spec.corrupt,
                );
            }
        }
        out
    }

    /// Checks what parsing cannot: counts, fractions, unique names, a seed for every file
    /// that someone downloads.
    pub fn validate(&self) -> Result<(), RunnerError> {
        let bad = |m: String| Err(RunnerError::Scenario(m));
        if self.deadline_secs == 0 {
            return bad("deadline_secs must be at least 1".into());
        }
        if self.ranks < 2 {
            return bad("ranks must be at least 2 (a tracker rank and a client rank)".into());
        }
        if self.announce_interval_secs == 0 {
            return bad("announce_interval_secs must be at least 1".into());
        }
        if self.max_peers == 0 {
            return bad("max_peers must be at least 1".into());
        }
        let files = self.resolved_files();
        if files.is_empty() || files.len() > MAX_FILES {
            return bad(format!(
                "a scenario needs 1 to {MAX_FILES} files, not {}",
                files.len()
            ));
        }
        if self.client_list.iter().any(|c| c.roles.len() > files.len()) {
            return bad("a [[client]] lists more roles than there are files".into());
        }
        let mut names = HashSet::new();
        for f in &files {
            if f.path.is_none() && f.size == 0 {
                return bad(format!("file {}: size must be at least 1 byte", f.name));
            }
            if f.name.is_empty() || f.name.contains(['/', '\\']) || f.name.starts_with('.') {
                return bad(format!("file name {:?}: must be a plain file name", f.name));
            }
            if !names.insert(f.name.clone()) {
                return bad(format!("file name {:?} is used twice", f.name));
            }
        }
        let clients = self.resolved_clients();
        if clients.len() > MAX_CLIENTS {
            return bad(format!("{} clients: at most {MAX_CLIENTS}", clients.len()));
        }
        if !clients.iter().any(|c| c.downloads()) {
            return bad("no client downloads anything: add leechers or peers".into());
        }
        let mut names = HashSet::new();
        for c in &clients {
            if !(0.0..=1.0).contains(&c.hold_fraction) {
                return bad(format!("{}: hold_fraction must be between 0 and 1", c.name));
            }
            if c.name.is_empty() || c.name.contains(['/', '\\']) || c.name.starts_with('.') {
                return bad(format!("client name {:?}: must be a plain name", c.name));
            }
            if !names.insert(c.name.clone()) {
                return bad(format!("client name {:?} is used twice", c.name));
            }
        }
        for (i, f) in files.iter().enumerate() {
            let wanted = clients.iter().any(|c| c.roles[i].downloads());
            let seeded = clients.iter().any(|c| c.roles[i] == Role::Seed);
            if wanted && !seeded {
                return bad(format!(
                    "file {}: downloaded by some client but seeded by none",
                    f.name
                ));
            }
        }
        Ok(())
    }
}

/// The default scenario, commented field by field (`bitswarm swarm --print-default`).
pub const DEFAULT_SCENARIO_TOML: &str = r#"# bitswarm swarm scenario (TOML). Every field is optional; shown are the defaults.
# Command-line flags (--seeds, --peers, --leechers, --size, --files, --upload-limit,
# --download-limit) override this file.
#
# Sizes: an integer (bytes) or a string with a unit: "64MiB", "512K", "1G" (powers of
# 1024; "MB", "kB", "GB" are powers of 1000). Rates: the same, bytes per second, with an
# optional "/s"; 0 or "unlimited" means no cap.

# Seed of the random generator that makes the content and picks the pieces peers hold.
seed = 1
# The run fails if a downloader is not complete this many seconds after the clients start.
deadline_secs = 120
# Ranks when run without MPI (threads of this process): rank 0 runs the tracker and gathers
# the report, ranks 1.. each run a share of the clients. Under mpirun the world size wins.
ranks = 3

# Generated content when no [[file]] is given: this many files of this size, each its own
# single-file torrent named file-1.bin, file-2.bin, ...
files = 1
size = "64MiB"
# Piece length: "auto" (at most 2000 pieces per file) or a power of two >= 16 KiB.
piece_length = "auto"

# Clients with the same role for every file: seeds have the whole file, peers hold
# hold_fraction of its pieces at start (a random subset each) and download the rest,
# leechers start with nothing.
seeds = 2
peers = 6
leechers = 8
hold_fraction = 0.5

# Per-client caps (token buckets on the client's session).
upload_limit = "4MiB"
download_limit = "unlimited"
# Upload cap of the `seeds` clients (unset: upload_limit).
seed_upload_limit = "8MiB"

# Tracker announce interval in seconds (clients also re-announce at least this often).
announce_interval_secs = 1
# Most connected peers per client and torrent.
max_peers = 50
# Protocol encryption (MSE/PE) of every client, as `bitswarm download --encryption`:
# "prefer" (an encrypted handshake, then plaintext payload when both sides allow it;
# falls back to a plaintext connection), "require" (RC4 only) or "disable". Every
# encrypted handshake costs both sides a 768-bit Diffie-Hellman exchange: with every
# client on this machine, a swarm of n clients pays for n(n-1)/2 of them at once.
encryption = "prefer"

# Explicit files replace files/size. Each needs a unique plain name; `path` uses an
# existing file as the content (its size is read from disk).
# [[file]]
# name = "movie.bin"
# size = "32MiB"
# [[file]]
# name = "notes.txt"
# path = "/home/me/notes.txt"

# Explicit clients, added after seeds/peers/leechers: a role per file in file order
# ("seed", "peer", "leech" or "none"; missing entries are "none"; a single role applies to
# every file), optional caps, hold_fraction and corrupt (serve wrong data: every block
# it holds at start has a flipped byte; used to test that others ban it). With count > 1
# the names get -1, -2, ...
# [[client]]
# name = "mixed"
# count = 1
# roles = ["seed", "leech"]
# upload_limit = "2MiB"
# download_limit = "8MiB"
# hold_fraction = 0.25
# corrupt = false
"#;

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
