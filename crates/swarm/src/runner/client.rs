//! One client on its rank: its folder and start data, its session (with the client's
//! caps) and one torrent per file it takes part in, the sampling of its statistics while
//! it runs (progress, timeline, bytes from seeds and from peers, faults seen), and the
//! final check of its files against the source.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_net::{AddTorrent, Session, SessionConfig, TorrentHandle, TorrentState};
use bitswarm_proto::Metainfo;

use super::content::{held_bytes, held_pieces, sha1_file, write_start_data};
use super::error::RunnerError;
use super::plan::{ClientOutcome, ClientProgress, Plan};
use super::report::ClientReport;
use super::scenario::{ResolvedClient, Role};

/// Timeline samples kept per client; older ones are thinned out by half when full.
const MAX_TIMELINE: usize = 512;

/// What a client needs from one file, decided before it starts.
#[derive(Clone, Debug)]
pub struct ClientFile {
    /// Index of the file.
    pub file: usize,
    /// The client's role for it.
    pub role: Role,
    /// Pieces held at start (seeds: all; leechers: none).
    pub held: Vec<bool>,
    /// Bytes to download.
    pub need: u64,
}

/// The files of `client`, with held pieces and needs (also used by rank 0 for the bound).
pub fn client_files(
    plan_seed: u64,
    client: &ResolvedClient,
    metas: &[Arc<Metainfo>],
) -> Vec<ClientFile> {
    let mut out = Vec::new();
    for (file, (role, meta)) in client.roles.iter().zip(metas).enumerate() {
        let count = meta.geometry().piece_count();
        let held = match role {
            Role::None => continue,
            Role::Seed => vec![true; count as usize],
            Role::Leech => vec![false; count as usize],
            Role::Peer => held_pieces(count, client.hold_fraction, plan_seed, client.index, file),
        };
        let need = match role {
            Role::Seed => 0,
            _ => meta.info().content_length() - held_bytes(meta, &held),
        };
        out.push(ClientFile {
            file,
            role: *role,
            held,
            need,
        });
    }
    out
}

/// One torrent of a running client.
struct Running {
    spec: ClientFile,
    handle: TorrentHandle,
    /// Where its copy of the file is (downloaders), for the final check.
    copy: Option<PathBuf>,
    /// Bytes already verified at start (held pieces).
    held_bytes: u64,
    /// Latest snapshot's numbers.
    have: u64,
    downloaded: u64,
    uploaded: u64,
    download_rate: u64,
    upload_rate: u64,
    hash_failures: u64,
    banned: u64,
    /// Seconds (rank clock) when it completed.
    completed_at: Option<f64>,
    /// Payload received per peer address at the last snapshot.
    per_peer: HashMap<SocketAddr, u64>,
}

/// A client while it runs.
pub struct RunningClient {
    spec: ResolvedClient,
    rank: usize,
    session: Option<Session>,
    listen: Option<SocketAddr>,
    torrents: Vec<Running>,
    error: Option<String>,
    from_seeds: u64,
    from_peers: u64,
    faulted: HashSet<SocketAddr>,
    timeline: Vec<(f64, f64)>,
    complete_at: Option<f64>,
}

impl RunningClient {
    /// Writes the client's start data (blocking file I/O; call before the clock starts).
    pub fn prepare(
        plan: &Plan,
        client: &ResolvedClient,
        metas: &[Arc<Metainfo>],
    ) -> Result<(), RunnerError> {
        let dir = client_dir(plan, client);
        for f in client_files(plan.scenario.seed, client, metas) {
            let meta = &metas[f.file];
            let source = &plan.files[f.file].source;
            match f.role {
                Role::Seed if !client.corrupt => {}
                Role::None => {}
                _ => write_start_data(meta, source, &dir, &f.held, client.corrupt)?,
            }
        }
        Ok(())
    }

    /// Starts the client's session and torrents. A failure is kept as the client's error
    /// (the rest of the swarm goes on).
    pub async fn start(
        plan: &Plan,
        client: &ResolvedClient,
        metas: &[Arc<Metainfo>],
        rank: usize,
    ) -> RunningClient {
        let mut me = RunningClient {
            spec: client.clone(),
            rank,
            session: None,
            listen: None,
            torrents: Vec::new(),
            error: None,
            from_seeds: 0,
            from_peers: 0,
            faulted: HashSet::new(),
            timeline: vec![(0.0, 0.0)],
            complete_at: None,
        };
        if let Err(e) = me.try_start(plan, metas).await {
            me.error = Some(e);
        }
        me
    }

    async fn try_start(&mut self, plan: &Plan, metas: &[Arc<Metainfo>]) -> Result<(), String> {
        let s = &plan.scenario;
        let config = SessionConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upload_limit: self.spec.upload_limit,
            download_limit: self.spec.download_limit,
            max_peers: s.max_peers,
            // A corrupt client asks the tracker for no peers, so it never dials out and
            // every connection to it uses its listen address: that is how the report
            // knows who blamed it (`suspected_by`); others still find it by announce.
            numwant: if self.spec.corrupt {
                0
            } else {
                u32::try_from(s.max_peers).unwrap_or(u32::MAX)
            },
            peer_check_interval: Duration::from_secs(1),
            max_announce_interval: Some(Duration::from_secs(s.announce_interval_secs)),
            hash_threads: 1,
            encryption: s.encryption,
            ..SessionConfig::default()
        };
        let session = Session::new(config)
            .await
            .map_err(|e| format!("session: {e}"))?;
        self.listen = Some(SocketAddr::from((
            [127, 0, 0, 1],
            session.local_addr().port(),
        )));
        let dir = client_dir(plan, &self.spec);
        for f in client_files(s.seed, &self.spec, metas) {
            let meta = metas[f.file].clone();
            let honest_seed = f.role == Role::Seed && !self.spec.corrupt;
            let mut add = if honest_seed {
                AddTorrent::seed(meta.clone(), plan.files[f.file].source.clone())
            } else {
                AddTorrent::download(meta.clone(), dir.clone())
            };
            add.seed_after = true;
            let handle = session
                .add_torrent(add)
                .await
                .map_err(|e| format!("{}: {e}", meta.info().name()))?;
            let held_bytes = held_bytes(&meta, &f.held);
            self.torrents.push(Running {
                copy: f.role.downloads().then(|| dir.join(meta.info().name())),
                held_bytes,
                spec: f,
                handle,
                have: 0,
                downloaded: 0,
                uploaded: 0,
                download_rate: 0,
                upload_rate: 0,
                hash_failures: 0,
                banned: 0,
                completed_at: None,
                per_peer: HashMap::new(),
            });
        }
        self.session = Some(session);
        Ok(())
    }

    /// Bytes it must download.
    pub fn needed(&self) -> u64 {
        self.torrents.iter().map(|t| t.spec.need).sum()
    }

    /// Reads the latest statistics; `now` is seconds on the rank's clock.
    pub fn sample(&mut self, now: f64) {
        if self.error.is_some() {
            return;
        }
        for t in &mut self.torrents {
            let s = t.handle.stats();
            if let TorrentState::Error(e) = &s.state {
                self.error = Some(format!("{}: {e}", s.name));
                return;
            }
            t.have = s.have_bytes;
            t.downloaded = s.downloaded;
            t.uploaded = s.uploaded;
            t.download_rate = s.download_rate;
            t.upload_rate = s.upload_rate;
            t.hash_failures = s.hash_failures;
            t.banned = s.banned as u64;
            if t.spec.role.downloads() && t.completed_at.is_none() {
                if let Some(done) = s.completed_after_secs {
                    // Completion time from the torrent's own clock, mapped onto ours.
                    t.completed_at = Some((now - (s.elapsed_secs - done).max(0.0)).max(0.0));
                }
            }
            for p in &s.peer_list {
                let before = t.per_peer.insert(p.addr, p.downloaded).unwrap_or(0);
                let delta = p.downloaded.saturating_sub(before);
                if p.is_seed {
                    self.from_seeds += delta;
                } else {
                    self.from_peers += delta;
                }
                if p.failcount > 0 {
                    self.faulted.insert(p.addr);
                }
            }
        }
        let needed = self.needed();
        if self.complete_at.is_none() {
            let downloaders = self.torrents.iter().filter(|t| t.spec.role.downloads());
            let mut all = true;
            let mut last: f64 = 0.0;
            for t in downloaders {
                match t.completed_at {
                    Some(at) => last = last.max(at),
                    None => all = false,
                }
            }
            if all {
                self.complete_at = Some(if needed == 0 { 0.0 } else { last });
            }
        }
        if needed > 0 {
            let frac = self.fetched() as f64 / needed as f64;
            let changed = match self.timeline.last() {
                Some((_, f)) => (*f - frac).abs() > 1e-9,
                None => true,
            };
            if changed {
                if self.timeline.len() >= MAX_TIMELINE {
                    let thinned = self.timeline.iter().step_by(2).copied().collect();
                    self.timeline = thinned;
                }
                self.timeline.push((now, frac.min(1.0)));
            }
        }
    }

    /// Verified bytes of what it had to download.
    fn fetched(&self) -> u64 {
        self.torrents
            .iter()
            .filter(|t| t.spec.role.downloads())
            .map(|t| t.have.saturating_sub(t.held_bytes).min(t.spec.need))
            .sum()
    }

    /// The progress line for rank 0.
    pub fn progress(&self) -> ClientProgress {
        let sum = |f: fn(&Running) -> u64| self.torrents.iter().map(f).sum();
        ClientProgress {
            index: self.spec.index,
            needed: self.needed(),
            have: self.fetched(),
            downloaded: sum(|t| t.downloaded),
            uploaded: sum(|t| t.uploaded),
            download_rate: sum(|t| t.download_rate),
            upload_rate: sum(|t| t.upload_rate),
            complete: self.complete_at.is_some(),
            failed: self.error.is_some(),
        }
    }

    /// Takes the session out to stop it (every torrent then announces `stopped`).
    pub fn take_session(&mut self) -> Option<Session> {
        self.session.take()
    }

    /// Checks its files against the source (blocking) and builds its outcome.
    /// `total_seconds` is how long the run lasted on the rank's clock.
    pub fn finish(self, plan: &Plan, total_seconds: f64) -> ClientOutcome {
        let mut verified = self.error.is_none();
        let mut error = self.error.clone();
        for t in &self.torrents {
            // A corrupt client's own damaged pieces are not its download.
            let check = match t.spec.role {
                Role::Leech => true,
                Role::Peer => !self.spec.corrupt,
                _ => false,
            };
            let Some(copy) = t.copy.as_ref().filter(|_| check) else {
                continue;
            };
            match sha1_file(copy) {
                Ok(h) if h == plan.files[t.spec.file].sha1 => {}
                Ok(_) => verified = false,
                Err(e) => {
                    verified = false;
                    error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        let p = self.progress();
        let seconds = self.complete_at.unwrap_or(total_seconds);
        let attributed = self.from_seeds + self.from_peers;
        let report = ClientReport {
            name: self.spec.name.clone(),
            rank: self.rank,
            roles: self.spec.roles.clone(),
            upload_limit: self.spec.upload_limit,
            download_limit: self.spec.download_limit,
            corrupt: self.spec.corrupt,
            needed: p.needed,
            downloaded: p.downloaded,
            uploaded: p.uploaded,
            ratio: (p.downloaded > 0).then(|| p.uploaded as f64 / p.downloaded as f64),
            avg_download_rate: (p.downloaded > 0 && seconds > 0.0)
                .then(|| p.downloaded as f64 / seconds),
            avg_upload_rate: if total_seconds > 0.0 {
                p.uploaded as f64 / total_seconds
            } else {
                0.0
            },
            completed: self.complete_at.is_some() && self.error.is_none(),
            complete_seconds: self.complete_at,
            verified: verified && (self.complete_at.is_some() || p.needed == 0),
            from_seeds: self.from_seeds,
            from_peers: self.from_peers,
            from_seeds_share: (attributed > 0).then(|| self.from_seeds as f64 / attributed as f64),
            hash_failures: self.torrents.iter().map(|t| t.hash_failures).sum(),
            banned: self.torrents.iter().map(|t| t.banned).sum(),
            suspected_by: 0,
            timeline: self.timeline.clone(),
            error,
        };
        let mut faulted: Vec<SocketAddr> = self.faulted.into_iter().collect();
        faulted.sort();
        ClientOutcome {
            index: self.spec.index,
            report,
            listen: self.listen,
            faulted,
        }
    }
}

/// The client's own folder: `<work>/clients/<name>`.
pub fn client_dir(plan: &Plan, client: &ResolvedClient) -> PathBuf {
    plan.work_dir.join("clients").join(&client.name)
}

/// The rank clock: seconds since `t0`.
pub fn seconds_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}
