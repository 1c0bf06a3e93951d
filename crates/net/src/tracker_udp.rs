//! UDP tracker client (BEP 15) on the shared codec of `bitswarm-tracker`: connect,
//! announce and scrape, retransmission after 15·2^n seconds (n = 0..=8), connection ids
//! reused for at most one minute.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_tracker::udp_codec::{Request, Response, UdpAnnounce};
use bitswarm_tracker::{InfoHash, PeerId};
use tokio::net::UdpSocket;

use crate::tracker_types::{AnnounceParams, AnnounceResult, TrackerError};

/// BEP 15: "a client can use a connection ID until one minute after it has received it".
const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);

/// Retransmission schedule: wait `base · 2^n` for attempt n, for n up to `max_n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpTiming {
    /// First timeout (BEP 15: 15 s).
    pub base: Duration,
    /// Last attempt number (BEP 15: 8, i.e. 3840 s).
    pub max_n: u32,
}

impl Default for UdpTiming {
    fn default() -> Self {
        UdpTiming {
            base: Duration::from_secs(15),
            max_n: 8,
        }
    }
}

impl UdpTiming {
    /// The timeout of attempt `n`.
    pub fn timeout(&self, n: u32) -> Duration {
        self.base.saturating_mul(1u32 << n.min(16))
    }
}

/// One UDP tracker: its address and the connection id we hold for it.
#[derive(Debug)]
pub struct UdpTracker {
    url: String,
    timing: UdpTiming,
    connection: Option<(u64, Instant)>,
    /// One socket for the tracker's lifetime: trackers may tie connection ids to the
    /// client's address and port.
    socket: Option<(UdpSocket, bool)>,
}

impl UdpTracker {
    /// A client for `udp://host:port[/...]`.
    pub fn new(url: &str, timing: UdpTiming) -> Result<Self, TrackerError> {
        host_port(url)?;
        Ok(UdpTracker {
            url: url.to_owned(),
            timing,
            connection: None,
            socket: None,
        })
    }

    /// The socket connected to the tracker (created on first use), and whether it is
    /// IPv6.
    async fn socket(&mut self) -> Result<(), TrackerError> {
        if self.socket.is_none() {
            let addr = resolve(&self.url).await?;
            let bind = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(bind).await?;
            socket.connect(addr).await?;
            self.socket = Some((socket, addr.is_ipv6()));
        }
        Ok(())
    }

    /// Announces; connects first when we hold no valid connection id.
    /// `max_n` caps the attempts (at most `timing.max_n`).
    pub async fn announce(
        &mut self,
        p: &AnnounceParams,
        max_n: u32,
    ) -> Result<AnnounceResult, TrackerError> {
        let saved = self.timing;
        self.timing.max_n = max_n.min(saved.max_n);
        let r = self.announce_inner(p).await;
        self.timing = saved;
        r
    }

    async fn announce_inner(&mut self, p: &AnnounceParams) -> Result<AnnounceResult, TrackerError> {
        self.socket().await?;
        let Some((socket, ipv6)) = self.socket.take() else {
            return Err(TrackerError::Resolve(self.url.clone()));
        };
        let r = self.announce_on(&socket, ipv6, p).await;
        self.socket = Some((socket, ipv6));
        r
    }

    async fn announce_on(
        &mut self,
        socket: &UdpSocket,
        ipv6: bool,
        p: &AnnounceParams,
    ) -> Result<AnnounceResult, TrackerError> {
        let mut n = 0u32;
        let mut reconnected = false;
        loop {
            let (connection_id, fresh) = match self.connection {
                Some((id, at)) if at.elapsed() < CONNECTION_ID_LIFETIME => (id, false),
                _ => {
                    let (id, used) = self.connect(socket, n, ipv6).await?;
                    n = used;
                    self.connection = Some((id, Instant::now()));
                    (id, true)
                }
            };
            let transaction_id: u32 = rand::random();
            let req = Request::Announce(UdpAnnounce {
                connection_id,
                transaction_id,
                info_hash: InfoHash(p.info_hash),
                peer_id: PeerId(p.peer_id),
                downloaded: p.downloaded,
                left: p.left,
                uploaded: p.uploaded,
                event: p.event,
                ip: 0,
                key: p.key,
                num_want: i32::try_from(p.numwant).unwrap_or(-1),
                port: p.port,
            });
            let (reply, used) = self.exchange(socket, &req, transaction_id, n, ipv6).await?;
            match reply {
                Response::Announce {
                    interval,
                    leechers,
                    seeders,
                    peers,
                    ..
                } => {
                    return Ok(AnnounceResult {
                        interval: Duration::from_secs(u64::from(interval.clamp(1, 24 * 3600))),
                        peers,
                        seeders,
                        leechers,
                        ..AnnounceResult::default()
                    })
                }
                // An error to a cached connection id is most likely "expired": connect
                // again once before reporting it.
                Response::Error { .. } if !fresh && !reconnected => {
                    self.connection = None;
                    reconnected = true;
                    n = used;
                }
                Response::Error { message, .. } => return Err(TrackerError::Failure(message)),
                _ => {
                    // Anything else means our connection id is stale: connect again.
                    self.connection = None;
                    n = used + 1;
                    if n > self.timing.max_n {
                        return Err(TrackerError::Timeout);
                    }
                }
            }
        }
    }

    /// Scrapes one torrent: (seeders, completed, leechers).
    pub async fn scrape(&mut self, info_hash: [u8; 20]) -> Result<(u32, u32, u32), TrackerError> {
        self.socket().await?;
        let Some((socket, ipv6)) = self.socket.take() else {
            return Err(TrackerError::Resolve(self.url.clone()));
        };
        let r = self.scrape_on(&socket, ipv6, info_hash).await;
        self.socket = Some((socket, ipv6));
        r
    }

    async fn scrape_on(
        &mut self,
        socket: &UdpSocket,
        ipv6: bool,
        info_hash: [u8; 20],
    ) -> Result<(u32, u32, u32), TrackerError> {
        let (connection_id, n) = match self.connection {
            Some((id, at)) if at.elapsed() < CONNECTION_ID_LIFETIME => (id, 0),
            _ => {
                let (id, n) = self.connect(socket, 0, ipv6).await?;
                self.connection = Some((id, Instant::now()));
                (id, n)
            }
        };
        let transaction_id: u32 = rand::random();
        let req = Request::Scrape {
            connection_id,
            transaction_id,
            info_hashes: vec![InfoHash(info_hash)],
        };
        match self
            .exchange(socket, &req, transaction_id, n, ipv6)
            .await?
            .0
        {
            Response::Scrape { counts, .. } => counts
                .first()
                .copied()
                .ok_or_else(|| TrackerError::Malformed("empty scrape reply".into())),
            Response::Error { message, .. } => {
                self.connection = None;
                Err(TrackerError::Failure(message))
            }
            _ => Err(TrackerError::Malformed("unexpected reply to scrape".into())),
        }
    }

    async fn connect(
        &self,
        socket: &UdpSocket,
        n: u32,
        ipv6: bool,
    ) -> Result<(u64, u32), TrackerError> {
        let transaction_id: u32 = rand::random();
        let req = Request::Connect { transaction_id };
        match self.exchange(socket, &req, transaction_id, n, ipv6).await? {
            (Response::Connect { connection_id, .. }, used) => Ok((connection_id, used)),
            (Response::Error { message, .. }, _) => Err(TrackerError::Failure(message)),
            _ => Err(TrackerError::Malformed(
                "unexpected reply to connect".into(),
            )),
        }
    }

    /// Sends `req` and waits for the reply with our transaction id, retransmitting on the
    /// BEP 15 schedule from attempt `n`. Returns the reply and the attempt it came on.
    async fn exchange(
        &self,
        socket: &UdpSocket,
        req: &Request,
        transaction_id: u32,
        mut n: u32,
        ipv6: bool,
    ) -> Result<(Response, u32), TrackerError> {
        let mut packet = Vec::with_capacity(128);
        req.write(&mut packet);
        let mut buf = vec![0u8; 2048];
        loop {
            socket.send(&packet).await?;
            let deadline = tokio::time::Instant::now() + self.timing.timeout(n);
            loop {
                match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                    Err(_) => break,
                    // ICMP port unreachable shows up as an error: keep waiting for the
                    // timeout, the tracker may come up.
                    Ok(Err(_)) => {
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    Ok(Ok(len)) => match Response::parse(&buf[..len], ipv6) {
                        Ok(r) if response_tid(&r) == transaction_id => return Ok((r, n)),
                        _ => continue,
                    },
                }
            }
            n += 1;
            if n > self.timing.max_n {
                return Err(TrackerError::Timeout);
            }
        }
    }
}

fn response_tid(r: &Response) -> u32 {
    match r {
        Response::Connect { transaction_id, .. }
        | Response::Announce { transaction_id, .. }
        | Response::Scrape { transaction_id, .. }
        | Response::Error { transaction_id, .. } => *transaction_id,
    }
}

fn host_port(url: &str) -> Result<&str, TrackerError> {
    let rest = url
        .strip_prefix("udp://")
        .ok_or_else(|| TrackerError::UnsupportedUrl(url.to_owned()))?;
    let hp = rest.split('/').next().unwrap_or(rest);
    if hp
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .is_none()
    {
        return Err(TrackerError::UnsupportedUrl(url.to_owned()));
    }
    Ok(hp)
}

async fn resolve(url: &str) -> Result<SocketAddr, TrackerError> {
    let hp = host_port(url)?;
    tokio::net::lookup_host(hp)
        .await
        .map_err(|_| TrackerError::Resolve(hp.to_owned()))?
        .next()
        .ok_or_else(|| TrackerError::Resolve(hp.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bep15_backoff() {
        let t = UdpTiming::default();
        assert_eq!(t.timeout(0), Duration::from_secs(15));
        assert_eq!(t.timeout(1), Duration::from_secs(30));
        assert_eq!(t.timeout(8), Duration::from_secs(3840));
    }

    #[test]
    fn urls() {
        assert_eq!(
            host_port("udp://127.0.0.1:6969/announce").unwrap(),
            "127.0.0.1:6969"
        );
        assert!(host_port("udp://host").is_err());
        assert!(host_port("http://x:1").is_err());
    }

    #[tokio::test]
    async fn times_out_against_a_silent_port() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let url = format!("udp://{}", silent.local_addr().unwrap());
        let timing = UdpTiming {
            base: Duration::from_millis(20),
            max_n: 2,
        };
        let mut t = UdpTracker::new(&url, timing).unwrap();
        let p = AnnounceParams {
            info_hash: [1; 20],
            peer_id: [2; 20],
            port: 1,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: bitswarm_tracker::Event::Started,
            numwant: 50,
            key: 0,
            tracker_id: None,
        };
        let started = Instant::now();
        assert!(matches!(
            t.announce(&p, 8).await,
            Err(TrackerError::Timeout)
        ));
        // 20 + 40 + 80 ms.
        assert!(started.elapsed() >= Duration::from_millis(140));
        let mut buf = [0u8; 64];
        let (len, _) = silent.recv_from(&mut buf).await.unwrap();
        assert_eq!(len, 16, "a connect request");
    }
}
