//! Starting and stopping the tracker: [`TrackerServer::bind`] binds the sockets (port 0
//! works), spawns the front ends, the expiry sweep and the rate sampler, and returns a
//! [`TrackerHandle`]; [`TrackerServer::start_blocking`] does the same on its own runtime
//! thread for callers without one.
//!
//! The registry sits behind one `Mutex`, held only for the registry call itself (no I/O,
//! no `.await`, reply encoding happens after unlocking).

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::connection_id::ConnectionIds;
use crate::registry::{
    AnnounceCounts, AnnounceError, AnnounceRequest, AnnounceResponse, Registry, ScrapeCounts,
};
use crate::stats::{Counters, RateSampler, StatsReport};
use crate::swarm::PeerSample;
use crate::types::InfoHash;
use crate::whitelist::{load_whitelist, WhitelistError};
use crate::{http_server, udp_server};

/// How often the blocking threads (UDP workers, HTTP accept) check for shutdown if
/// nothing wakes them: [`TrackerHandle::shutdown`] wakes them at once by shutting their
/// sockets down, so this is only a safety net.
const UDP_POLL: Duration = Duration::from_millis(200);

/// How often request rates are sampled.
const RATE_PERIOD: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The whitelist file is unreadable or malformed.
    #[error(transparent)]
    Whitelist(#[from] WhitelistError),
    /// A socket could not be bound.
    #[error("cannot bind {what} on {addr}: {error}")]
    Bind {
        /// "HTTP" or "UDP".
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Cause.
        error: std::io::Error,
    },
    /// The runtime thread of [`TrackerServer::start_blocking`] could not start.
    #[error("cannot start the tracker runtime: {0}")]
    Runtime(std::io::Error),
}

/// State shared by the front ends.
#[derive(Debug)]
pub struct Shared {
    /// Configuration in effect.
    pub config: Config,
    /// The registry.
    registry: Mutex<Registry>,
    /// UDP connection ids.
    pub connection_ids: ConnectionIds,
    /// Request counters.
    pub counters: Counters,
    rates: Mutex<RateSampler>,
    /// When the server started (monotonic).
    pub started: Instant,
    /// The `tracker id` sent in HTTP announce replies (BEP 3): random per run, 16 hex
    /// digits. Clients send it back as `trackerid`; it is accepted and not needed.
    pub tracker_id: String,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The registry never panics while locked; if it did, its state is still
        // consistent enough to keep serving.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Announce through the registry.
    pub fn announce(&self, req: &AnnounceRequest) -> Result<AnnounceResponse, AnnounceError> {
        let now = Instant::now();
        self.registry().announce(req, now, &mut rand::thread_rng())
    }

    /// Announce through the registry, appending the peers to `peers` (no allocation).
    pub fn announce_into(
        &self,
        req: &AnnounceRequest,
        peers: &mut PeerSample,
    ) -> Result<AnnounceCounts, AnnounceError> {
        let now = Instant::now();
        self.registry()
            .announce_into(req, now, &mut rand::thread_rng(), peers)
    }

    /// Scrape through the registry.
    pub fn scrape(&self, hashes: &[InfoHash]) -> Vec<ScrapeCounts> {
        self.registry().scrape(hashes)
    }

    /// Torrents and peers stored.
    pub fn sizes(&self) -> (usize, usize) {
        self.registry().sizes()
    }

    /// The `/stats` and `/metrics` report.
    pub fn report(&self) -> StatsReport {
        let totals = self.registry().totals();
        let rates = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        StatsReport::new(
            self.started.elapsed(),
            totals,
            self.counters.values(),
            &rates,
            RATE_PERIOD,
        )
    }
}

/// Entry points.
#[derive(Debug)]
pub struct TrackerServer;

/// A running tracker.
#[derive(Debug)]
pub struct TrackerHandle {
    shared: Arc<Shared>,
    http_addr: Option<SocketAddr>,
    udp_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    http_permits: Arc<Semaphore>,
    /// Tells the blocking threads (HTTP accept, UDP workers) to return.
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Duplicates of the sockets those threads block on: shutting them down wakes the
    /// threads (accept() fails, recvmmsg() returns 0) so they see `stop` at once.
    wake: Vec<OwnedFd>,
}

impl TrackerServer {
    /// Validates `config`, loads the whitelist, binds the sockets and starts serving on
    /// the current tokio runtime.
    pub async fn bind(config: Config) -> Result<TrackerHandle, ServerError> {
        config.validate()?;
        let whitelist = match &config.whitelist_file {
            Some(path) => Some(load_whitelist(path)?),
            None => None,
        };
        let http = if config.http_enabled {
            let addr = config.http_addr;
            Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|error| ServerError::Bind {
                        what: "HTTP",
                        addr,
                        error,
                    })?,
            )
        } else {
            None
        };
        let udp = if config.udp_enabled {
            let addr = config.udp_addr;
            Some(
                udp_server::bind_sockets(addr, worker_threads(config.udp_workers), UDP_POLL)
                    .map_err(|error| ServerError::Bind {
                        what: "UDP",
                        addr,
                        error,
                    })?,
            )
        } else {
            None
        };
        let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
        let udp_addr = udp
            .as_ref()
            .and_then(|s| s.first())
            .and_then(|s| s.local_addr().ok());
        let started = Instant::now();
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::new(config.registry_config(), whitelist)),
            connection_ids: ConnectionIds::random(),
            counters: Counters::default(),
            rates: Mutex::new(RateSampler::new(started)),
            started,
            tracker_id: format!("{:016x}", rand::random::<u64>()),
            config,
        });
        let (shutdown, rx) = watch::channel(false);
        let http_permits = Arc::new(Semaphore::new(shared.config.http_max_connections));
        let mut tasks = Vec::new();
        let udp_stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut wake: Vec<OwnedFd> = Vec::new();
        if let Some(listener) = http {
            let addr = shared.config.http_addr;
            let bind_err = |error| ServerError::Bind {
                what: "HTTP",
                addr,
                error,
            };
            let listener = listener.into_std().map_err(bind_err)?;
            listener.set_nonblocking(false).map_err(bind_err)?;
            let sock = socket2::SockRef::from(&listener);
            // accept() honours the read timeout: how often the threads see `stop`.
            sock.set_read_timeout(Some(UDP_POLL)).map_err(bind_err)?;
            // Wake accept() only once the request has arrived (seconds to wait for it).
            http_server::set_tcp_option(&listener, libc::TCP_DEFER_ACCEPT, 2).map_err(bind_err)?;
            // Accepted sockets inherit TCP_CORK: a one-shot reply is held until close(),
            // which sends it and the FIN in one segment (one packet and one ACK fewer per
            // connection). Connections handed to the async loop are uncorked first.
            http_server::set_tcp_option(&listener, libc::TCP_CORK, 1).map_err(bind_err)?;
            wake.push(OwnedFd::from(listener.try_clone().map_err(bind_err)?));
            for i in 0..http_threads(shared.config.http_workers) {
                let (shared, permits, stop) =
                    (shared.clone(), http_permits.clone(), udp_stop.clone());
                let (listener, rx) = (listener.try_clone().map_err(bind_err)?, rx.clone());
                let runtime = tokio::runtime::Handle::current();
                let thread = std::thread::Builder::new()
                    .name(format!("tracker-http-{i}"))
                    .spawn(move || {
                        http_server::run_accept_thread(shared, listener, permits, stop, runtime, rx)
                    })
                    .map_err(ServerError::Runtime)?;
                threads.push(thread);
            }
        }
        for (i, socket) in udp.into_iter().flatten().enumerate() {
            let addr = shared.config.udp_addr;
            let dup = socket.try_clone().map_err(|error| ServerError::Bind {
                what: "UDP",
                addr,
                error,
            })?;
            wake.push(OwnedFd::from(dup));
            let (shared, stop) = (shared.clone(), udp_stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("tracker-udp-{i}"))
                .spawn(move || udp_server::run_worker(shared, socket, stop))
                .map_err(ServerError::Runtime)?;
            threads.push(thread);
        }
        tasks.push(tokio::spawn(housekeeping(shared.clone(), rx)));
        tracing::info!(?http_addr, ?udp_addr, "tracker listening");
        Ok(TrackerHandle {
            shared,
            http_addr,
            udp_addr,
            shutdown,
            tasks,
            http_permits,
            stop: udp_stop,
            threads,
            wake,
        })
    }

    /// Starts the tracker on a runtime of its own in a new thread, for callers that are
    /// not async. Dropping the returned value (or [`BlockingTracker::shutdown`]) stops it.
    pub fn start_blocking(config: Config) -> Result<BlockingTracker, ServerError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bitswarm-tracker".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(ServerError::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TrackerServer::bind(config).await {
                        Ok(handle) => {
                            let _ = tx.send(Ok((
                                handle.http_addr,
                                handle.udp_addr,
                                handle.shared.clone(),
                            )));
                            let _ = stop_rx.await;
                            handle.shutdown().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(ServerError::Runtime)?;
        let recv_err = || ServerError::Runtime(std::io::Error::other("tracker thread exited"));
        let (http_addr, udp_addr, shared) = rx.recv().map_err(|_| recv_err())??;
        Ok(BlockingTracker {
            http_addr,
            udp_addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// `configured`, or one per two cores (at least one) if 0.
///
/// Why not one per core: each connection costs the kernel far more than the tracker, and
/// with two threads blocked in accept() every connection woke a thread and the two
/// contended for the listener; on 2 cores one thread used about a fifth less CPU per
/// connection and served more (measured with scripts/bench-tracker.sh).
fn http_threads(configured: usize) -> usize {
    match configured {
        0 => (worker_threads(0) / 2).max(1),
        n => n,
    }
}

/// `configured`, or one per core if 0.
fn worker_threads(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    }
}

/// Sweeps expired peers and samples request rates until shutdown.
async fn housekeeping(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut expire = tokio::time::interval(Duration::from_secs(shared.config.expire_every_secs));
    let mut rates = tokio::time::interval(RATE_PERIOD);
    loop {
        tokio::select! {
            _ = expire.tick() => shared.registry().expire(Instant::now()),
            _ = rates.tick() => {
                let values = shared.counters.values();
                shared.rates.lock().unwrap_or_else(|e| e.into_inner()).sample(values, Instant::now());
            }
            _ = shutdown.changed() => return,
        }
    }
}

impl TrackerHandle {
    /// The bound HTTP address, if HTTP is served.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The bound UDP address, if UDP is served.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// Shared state: counters, reports, registry sizes.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Reloads the whitelist file named in the config (no-op without one).
    pub fn reload_whitelist(&self) -> Result<(), WhitelistError> {
        if let Some(path) = &self.shared.config.whitelist_file {
            let list = load_whitelist(path)?;
            self.shared.registry().set_whitelist(Some(list));
        }
        Ok(())
    }

    /// Stops accepting, lets open HTTP connections finish their current reply (up to two
    /// seconds) and returns when every task has ended.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.stop.store(true, Ordering::Relaxed);
        for fd in &self.wake {
            // SAFETY: shutdown(2) on a socket this handle owns a duplicate of. On Linux it
            // wakes a thread blocked in accept() on a listener, and one blocked in
            // recvmmsg() on an unconnected UDP socket (which then returns 0; the call
            // itself reports ENOTCONN there, ignored).
            unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) };
        }
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        for task in self.tasks {
            let _ = task.await;
        }
        let all = u32::try_from(self.shared.config.http_max_connections).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(Duration::from_secs(2), self.http_permits.acquire_many(all)).await;
        tracing::info!("tracker stopped");
    }
}

/// A tracker running on its own runtime thread; stops when dropped.
#[derive(Debug)]
pub struct BlockingTracker {
    http_addr: Option<SocketAddr>,
    udp_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingTracker {
    /// The bound HTTP address, if HTTP is served.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The bound UDP address, if UDP is served.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// Shared state: counters, reports, registry sizes.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the tracker and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BlockingTracker {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
