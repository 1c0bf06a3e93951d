//! The driver's housekeeping: the initial check, the periodic tick (session timers,
//! choking, dialling, the peer check with bans, resume data) and statistics.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_engine::{ChokerPeer, PeerKey, UploadUse};
use bitswarm_storage::{initial_check, ResumeData};
use tracing::{info, warn};

use crate::stats::{PeerStats, TorrentState, TorrentStats};
use crate::torrent::{Candidate, Internal, Torrent, MAX_CANDIDATES};

/// An unchoked, interested peer that asked us for nothing for this long leaves its
/// upload slot to a waiting peer (`Choker::fill`).
const IDLE_SLOT: Duration = Duration::from_secs(1);

impl Torrent {
    /// Finds what is already on disk (resume data or hashing), then starts.
    pub(crate) async fn initial_check(&mut self) -> Result<(), String> {
        let storage = self.setup.storage.clone();
        let resume_path = self.setup.resume_path.clone();
        let force = self.setup.recheck;
        let info_hash = self.info_hash;
        let fresh = self.setup.fresh && !force;
        let pieces = self.geometry.piece_count() as usize;
        let checked = tokio::task::spawn_blocking(move || {
            if fresh {
                return Ok(vec![false; pieces]);
            }
            let resume = match &resume_path {
                Some(p) => match ResumeData::load_if_present(p) {
                    Ok(r) => r.filter(|r| *r.info_hash() == info_hash),
                    Err(e) => {
                        warn!(error = %e, "ignoring unreadable resume data");
                        None
                    }
                },
                None => None,
            };
            initial_check(&storage, resume.as_ref(), force, &|_, _| {})
        })
        .await
        .map_err(|e| format!("initial check panicked: {e}"))?
        .map_err(|e| format!("initial check failed: {e}"))?;
        let mut have = 0u32;
        for (i, good) in checked.iter().enumerate() {
            if *good {
                self.picker.set_have(i as u32);
                if let Some(v) = self.verified.get_mut(i) {
                    *v = true;
                }
                have += 1;
            }
        }
        info!(torrent = %self.setup.metainfo.info().name(), have, total = self.geometry.piece_count(), "checked data on disk");
        let left = self.left_bytes();
        let now = Instant::now();
        self.started = now;
        self.down = bitswarm_engine::RateMeter::new(now);
        self.up = bitswarm_engine::RateMeter::new(now);
        if self.picker.is_complete() {
            self.completed_at = Some(now);
            self.state = if self.setup.seed_after {
                TorrentState::Seeding
            } else {
                TorrentState::Complete
            };
        } else {
            self.state = TorrentState::Downloading;
        }
        self.announce_tx.send_modify(|s| {
            s.left = left;
            s.completed = false;
            s.checked = true;
        });
        let extra = std::mem::take(&mut self.setup.extra_peers);
        self.add_candidates(extra);
        self.publish_stats();
        Ok(())
    }

    fn left_bytes(&self) -> u64 {
        let have: u64 = self
            .picker
            .have()
            .iter_ones()
            .filter(|p| self.picker.wanted().get(*p))
            .map(|p| u64::from(self.geometry.piece_len(p)))
            .sum();
        self.wanted_bytes.saturating_sub(have)
    }

    /// Adds addresses to dial.
    pub(crate) fn add_candidates(&mut self, addrs: Vec<SocketAddr>) {
        let now = Instant::now();
        for a in addrs {
            if a.port() == 0 || self.is_self(&a) || self.banned.contains(&a) {
                continue;
            }
            if self.candidates.len() >= MAX_CANDIDATES {
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = self.candidates.entry(a) {
                e.insert(Candidate {
                    next_attempt: now,
                    failures: 0,
                    peer_id: None,
                    learned: self.next_learned,
                });
                self.next_learned += 1;
            }
        }
    }

    fn is_self(&self, a: &SocketAddr) -> bool {
        let l = self.setup.listen;
        a.port() == l.port()
            && (a.ip() == l.ip() || a.ip().is_loopback() || l.ip().is_unspecified())
    }

    pub(crate) fn on_tick(&mut self) {
        let now = Instant::now();
        self.coop_tick(now);
        self.pex_tick(now);
        self.collect_closing_uploads(now);
        // Pieces that found the shared hash queue full (see `drain_hash_backlog`).
        self.drain_hash_backlog();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in &keys {
            self.peer_timeout(*k, now);
            // Catch up on requests (e.g. after the rate estimate grew) and uploads.
            self.fill_requests(*k, now);
            self.offer_pieces(*k, now);
            self.serve_uploads(*k);
            self.touch(*k);
        }
        if self.accepting() && self.choker.is_due(now) {
            self.rechoke(now);
        } else if now.duration_since(self.last_slot_check) >= IDLE_SLOT / 2 {
            self.last_slot_check = now;
            self.fill_upload_slots(now);
        }
        if now.duration_since(self.last_peer_check) >= self.setup.config.peer_check_interval {
            self.last_peer_check = now;
            self.peer_check();
        }
        if self.accepting() {
            self.dial_candidates(now);
        }
        if self.resume_dirty
            && now.duration_since(self.last_resume) >= self.setup.config.resume_interval
        {
            self.save_resume_soon();
        }
        self.announce_tx.send_if_modified(|s| {
            let (up, down) = (self.up.total(), self.down.total());
            let changed = s.uploaded != up || s.downloaded != down;
            s.uploaded = up;
            s.downloaded = down;
            changed
        });
    }

    /// Dials due candidates, at most 8 at a time, in the order they were learned.
    pub(crate) fn dial_candidates(&mut self, now: Instant) {
        let room = self.setup.config.max_peers.saturating_sub(self.peers.len());
        if room == 0 {
            return;
        }
        let due = due_in_order(
            self.candidates
                .iter()
                .filter(|(a, c)| c.next_attempt <= now && !self.banned.contains(*a))
                // A peer connected under another address (it dialled us): dialled again
                // only once that connection is gone.
                .filter(|(_, c)| !c.peer_id.is_some_and(|id| self.connected_to_id(&id)))
                .filter(|(a, _)| !self.connected_to(a))
                .map(|(a, c)| (*a, c.learned)),
            room.min(8),
        );
        for a in due {
            if let Some(c) = self.candidates.get_mut(&a) {
                // Until the connection reports back, do not dial it again.
                c.next_attempt = now + Duration::from_secs(3600);
            }
            self.dial(a);
        }
    }

    /// Re-evaluates who we upload to (tit-for-tat, or by upload rate when seeding).
    pub(crate) fn rechoke(&mut self, now: Instant) {
        let seeding = self.picker.is_complete();
        let list = self.choker_peers(now);
        if let Some(upload) = self.upload_use(now) {
            self.choker.resize(upload, &list, seeding, now);
        }
        let d = self.choker.rechoke(&list, seeding, now, &mut self.rng);
        self.apply_choking(d, now);
    }

    /// Gives free upload slots to interested peers at once (an unchoked peer lost
    /// interest or left, or a choked one became interested): see `Choker::fill`.
    pub(crate) fn fill_upload_slots(&mut self, now: Instant) {
        if !self.accepting() {
            return;
        }
        let seeding = self.picker.is_complete();
        let list = self.choker_peers(now);
        if let Some(upload) = self.upload_use(now) {
            self.choker.resize(upload, &list, seeding, now);
        }
        let d = self.choker.fill(&list, seeding, now, &mut self.rng);
        self.apply_choking(d, now);
    }

    /// The session's upload (every torrent's, as the cap is the session's) since the
    /// last sizing, against its cap; `None` until a quarter second has passed (a
    /// shorter window says more about the token bucket's bursts than about the use).
    fn upload_use(&mut self, now: Instant) -> Option<UploadUse> {
        let (before, at) = self.upload_mark;
        let secs = now.saturating_duration_since(at).as_secs_f64();
        if secs < 0.25 {
            return None;
        }
        let limiter = &self.setup.limiters.upload;
        let taken = limiter.taken();
        self.upload_mark = (taken, now);
        Some(UploadUse {
            rate: (taken.saturating_sub(before) as f64 / secs) as u64,
            limit: limiter.rate(),
        })
    }

    fn choker_peers(&self, now: Instant) -> Vec<ChokerPeer> {
        self.peers
            .iter()
            .filter(|(_, p)| p.session.is_connected() && !p.session.is_closed())
            // Members of a cooperating group are always unchoked (cooperation.rs).
            .filter(|(_, p)| !self.is_member(p.peer_id))
            .map(|(k, p)| ChokerPeer {
                key: *k,
                interested: p.session.peer_interested(),
                snubbed: p.session.requests().is_snubbed(),
                is_seed: p.is_seed(),
                download_rate: p.down.average(now),
                upload_rate: p.up.average(now),
                connected_at: p.connected_at,
                unchoked: !p.session.am_choking(),
                idle: !p.session.am_choking()
                    && !queued(p)
                    && now.saturating_duration_since(p.last_slot_use) >= IDLE_SLOT,
                queued: queued(p),
            })
            .collect()
    }

    fn apply_choking(&mut self, d: bitswarm_engine::ChokeDecision, now: Instant) {
        for k in d.unchoke {
            if let Some(p) = self.peers.get_mut(&k) {
                p.session.set_choking(false, now);
                p.last_slot_use = now;
            }
            self.offer_pieces(k, now);
            self.touch(k);
        }
        for k in d.choke {
            if let Some(p) = self.peers.get_mut(&k) {
                p.session.set_choking(true, now);
                p.pending_uploads.clear();
            }
            self.withdraw_offers(k);
            self.touch(k);
        }
    }

    /// Disconnects and bans peers at or over the fault limit.
    pub(crate) fn peer_check(&mut self) {
        let max = self.setup.config.max_failcount;
        let mut banned_now = Vec::new();
        for (k, p) in self.peers.iter_mut() {
            let score = self.scores.get(&p.addr).copied().unwrap_or_default();
            if score.should_ban(max) {
                warn!(peer = %p.addr, failcount = score.failcount(), hash_failures = score.hash_failures,
                    protocol_errors = score.protocol_errors, timeouts = score.timeouts, "peer check: banning peer");
                self.banned.insert(p.addr);
                if let Some(id) = p.peer_id {
                    self.banned_ids.insert(id);
                }
                p.session.close();
                banned_now.push(*k);
            }
        }
        // Banned addresses that are not connected (e.g. after a protocol error).
        for (addr, score) in &self.scores {
            if score.should_ban(max) && self.banned.insert(*addr) {
                warn!(peer = %addr, failcount = score.failcount(), "peer check: banning disconnected peer");
            }
        }
        for k in banned_now {
            self.touch(k);
        }
        for p in self.peers.values() {
            let s = &p.session;
            tracing::trace!(peer = %p.addr, out = p.outgoing, conn = s.is_connected(), closed = s.is_closed(),
                am_int = s.am_interested(), peer_choking = s.peer_choking(), am_choking = s.am_choking(),
                peer_int = s.peer_interested(), reqs = s.requests().len(), has = s.peer_pieces().count(),
                pending_up = p.pending_uploads.len(), reading = p.reading, backlog = p.conn.backlog(), "peer state");
        }
        tracing::debug!(
            have = self.picker.have().count(),
            hash_backlog = self.hash_backlog.len(),
            hashing = self.hashing,
            peers = self.peers.len(),
            banned = self.banned.len(),
            "peer check done"
        );
    }

    /// Saves resume data in the background if none is being saved.
    pub(crate) fn save_resume_soon(&mut self) {
        let Some(path) = self.setup.resume_path.clone() else {
            return;
        };
        if self.resume_saving {
            return;
        }
        self.resume_saving = true;
        self.resume_dirty = false;
        self.last_resume = Instant::now();
        let storage = self.setup.storage.clone();
        let verified = self.verified.clone();
        let info_hash = self.info_hash;
        let tx = self.internal_tx.clone();
        tokio::task::spawn_blocking(move || {
            let r = ResumeData::capture(&storage, info_hash, &verified).and_then(|r| r.save(&path));
            let _ = tx.send(Internal::ResumeSaved(r.err().map(|e| e.to_string())));
        });
    }

    /// Saves resume data and waits for it.
    pub(crate) async fn save_resume_now(&mut self) -> Result<(), String> {
        let Some(path) = self.setup.resume_path.clone() else {
            return Ok(());
        };
        let storage = self.setup.storage.clone();
        let verified = self.verified.clone();
        let info_hash = self.info_hash;
        tokio::task::spawn_blocking(move || {
            ResumeData::capture(&storage, info_hash, &verified).and_then(|r| r.save(&path))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
    }

    /// Publishes a statistics snapshot.
    /// Counts what removed peers' socket tasks wrote since; forgets the finished ones.
    fn collect_closing_uploads(&mut self, now: Instant) {
        let mut written = 0;
        self.closing_uploads.retain(|c| {
            // Finished first, then taken: a finished task wrote nothing after the take.
            let finished = Arc::strong_count(c) == 1;
            written += c.swap(0, Ordering::AcqRel);
            !finished
        });
        if written > 0 {
            self.up.record(written, now);
        }
    }

    pub(crate) fn publish_stats(&mut self) {
        let now = Instant::now();
        let wanted = self.picker.wanted();
        let mut have_bytes = 0u64;
        let mut pieces_have = 0u32;
        for p in self.picker.have().iter_ones() {
            pieces_have += 1;
            if wanted.get(p) {
                have_bytes += u64::from(self.geometry.piece_len(p));
            }
        }
        let peer_list: Vec<PeerStats> = self
            .peers
            .values()
            .filter(|p| p.session.is_connected())
            .map(|p| PeerStats {
                addr: p.addr,
                client: p.client.clone(),
                outgoing: p.outgoing,
                is_seed: p.is_seed(),
                download_rate: p.down.rate(now),
                download_rate_avg: p.down.average(now),
                upload_rate: p.up.rate(now),
                upload_rate_avg: p.up.average(now),
                downloaded: p.down.total(),
                uploaded: p.up.total(),
                failcount: self.scores.get(&p.addr).map_or(0, |s| s.failcount()),
                peer_choking: p.session.peer_choking(),
                am_choking: p.session.am_choking(),
            })
            .collect();
        let stats = TorrentStats {
            info_hash: self.info_hash,
            name: self.setup.metainfo.info().name().to_owned(),
            state: self.state.clone(),
            pieces_total: self.geometry.piece_count(),
            pieces_have,
            pieces_wanted: wanted.count(),
            wanted_bytes: self.wanted_bytes,
            have_bytes,
            downloaded: self.down.total(),
            uploaded: self.up.total(),
            uploaded_zero_copy: self.uploaded_zero_copy,
            download_rate: self.down.rate(now),
            download_rate_avg: self.down.average(now),
            upload_rate: self.up.rate(now),
            upload_rate_avg: self.up.average(now),
            peers: peer_list.len(),
            seeds: peer_list.iter().filter(|p| p.is_seed).count(),
            banned: self.banned.len(),
            hash_failures: self.hash_failures,
            elapsed_secs: now.duration_since(self.started).as_secs_f64(),
            completed_after_secs: self
                .completed_at
                .map(|c| c.duration_since(self.started).as_secs_f64()),
            peer_list,
        };
        self.stats_tx.send_replace(stats);
    }
}

/// Whether something waits to go to `p`: its requests, disk reads, or at least a
/// block's worth of unwritten bytes (a few `have`s waiting do not use a slot).
fn queued(p: &crate::peer::Peer) -> bool {
    p.session.incoming_requests() > 0
        || !p.pending_uploads.is_empty()
        || p.reading > 0
        || p.conn.backlog() >= bitswarm_engine::BLOCK_LEN as usize
}

/// The first `max` of `due` (address, order learned) by the order learned. A tracker
/// lists the seeds first to a leecher (`bitswarm-tracker` and chihaya do), and the
/// candidates' map would otherwise dial them in random order: at the start of a swarm,
/// when every client dials its peers at once, the one peer that has data was dialled
/// among the last 8-at-a-time batches.
fn due_in_order(due: impl Iterator<Item = (SocketAddr, u64)>, max: usize) -> Vec<SocketAddr> {
    let mut due: Vec<(SocketAddr, u64)> = due.collect();
    due.sort_unstable_by_key(|(_, learned)| *learned);
    due.into_iter().take(max).map(|(a, _)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_candidates_are_dialled_in_the_order_learned() {
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        // As a map yields them: any order.
        let due = [
            (addr(7), 6),
            (addr(1), 0),
            (addr(5), 4),
            (addr(2), 1),
            (addr(9), 8),
        ];
        assert_eq!(
            due_in_order(due.into_iter(), 3),
            vec![addr(1), addr(2), addr(5)]
        );
        assert_eq!(due_in_order(due.into_iter(), 10).len(), 5);
    }
}
