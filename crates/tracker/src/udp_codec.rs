//! The UDP tracker protocol (BEP 15): requests and responses as types, parsed from and
//! written to byte buffers. No sockets here; both directions are implemented so a client
//! (tests, the load generator, later the engine) can use the same code.
//!
//! A request parse error says whether the packet must be dropped silently (too short,
//! unknown action, wrong protocol id) or deserves an error reply carrying its
//! transaction id ([`RequestParseError::reply_to`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::registry::Event;
use crate::types::{InfoHash, PeerId};

/// The magic `protocol_id` of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Most info-hashes answered in one scrape (the reply then fits one Ethernet frame).
pub const MAX_SCRAPE_HASHES: usize = 74;

const ACTION_CONNECT: u32 = 0;
const ACTION_ANNOUNCE: u32 = 1;
const ACTION_SCRAPE: u32 = 2;
const ACTION_ERROR: u32 = 3;

/// A client's request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Ask for a connection id.
    Connect {
        /// Chosen by the client, echoed back.
        transaction_id: u32,
    },
    /// Announce (98 bytes on the wire).
    Announce(UdpAnnounce),
    /// Scrape up to [`MAX_SCRAPE_HASHES`] torrents.
    Scrape {
        /// From a connect response.
        connection_id: u64,
        /// Chosen by the client, echoed back.
        transaction_id: u32,
        /// Torrents to count (at least one).
        info_hashes: Vec<InfoHash>,
    },
}

/// The fields of a UDP announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpAnnounce {
    /// From a connect response.
    pub connection_id: u64,
    /// Chosen by the client, echoed back.
    pub transaction_id: u32,
    /// Torrent.
    pub info_hash: InfoHash,
    /// Announcing peer.
    pub peer_id: PeerId,
    /// Bytes downloaded.
    pub downloaded: u64,
    /// Bytes left.
    pub left: u64,
    /// Bytes uploaded.
    pub uploaded: u64,
    /// Event.
    pub event: Event,
    /// IPv4 address the client asks to be listed under (0: the packet's source).
    pub ip: u32,
    /// Client key.
    pub key: u32,
    /// Peers wanted; -1 means default.
    pub num_want: i32,
    /// Port the client listens on.
    pub port: u16,
}

/// The tracker's response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A connection id for the next requests.
    Connect {
        /// Echoed.
        transaction_id: u32,
        /// To put in announce and scrape requests.
        connection_id: u64,
    },
    /// Peers and counts.
    Announce {
        /// Echoed.
        transaction_id: u32,
        /// Seconds to the next announce.
        interval: u32,
        /// Leechers.
        leechers: u32,
        /// Seeders.
        seeders: u32,
        /// Peers; all IPv4 (6-byte entries) or all IPv6 (18-byte entries).
        peers: Vec<SocketAddr>,
    },
    /// Counts per requested torrent, in request order.
    Scrape {
        /// Echoed.
        transaction_id: u32,
        /// (seeders, completed, leechers) per torrent.
        counts: Vec<(u32, u32, u32)>,
    },
    /// The request failed.
    Error {
        /// Echoed.
        transaction_id: u32,
        /// Why.
        message: String,
    },
}

/// Why a request packet could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestParseError {
    /// Shorter than the 16-byte header: no transaction id to answer to.
    #[error("packet too short ({0} bytes)")]
    TooShort(usize),
    /// A connect request without the magic protocol id.
    #[error("connect request with a wrong protocol id")]
    BadProtocolId,
    /// An action this tracker does not serve.
    #[error("unknown action {0}")]
    UnknownAction(u32),
    /// A known action whose body is malformed; can be answered with an error.
    #[error("malformed request: {message}")]
    Malformed {
        /// Transaction id to answer to.
        transaction_id: u32,
        /// What was wrong.
        message: &'static str,
    },
}

impl RequestParseError {
    /// The transaction id to send an error reply to, or `None` to drop the packet.
    pub fn reply_to(&self) -> Option<u32> {
        match self {
            RequestParseError::Malformed { transaction_id, .. } => Some(*transaction_id),
            _ => None,
        }
    }
}

/// Why a response packet could not be parsed (client side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseParseError {
    /// Too short for its action.
    #[error("response too short ({0} bytes)")]
    TooShort(usize),
    /// Unknown action.
    #[error("unknown action {0}")]
    UnknownAction(u32),
    /// Peer list length is not a multiple of the entry size.
    #[error("peer list of {0} bytes is not a whole number of entries")]
    BadPeerList(usize),
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    (u64::from(u32_at(b, at)) << 32) | u64::from(u32_at(b, at + 4))
}
fn hash_at(b: &[u8], at: usize) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(&b[at..at + 20]);
    out
}

fn event_from(n: u32) -> Option<Event> {
    Some(match n {
        0 => Event::None,
        1 => Event::Completed,
        2 => Event::Started,
        3 => Event::Stopped,
        _ => return None,
    })
}

fn event_to(e: Event) -> u32 {
    match e {
        Event::None => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    }
}

impl Request {
    /// Parses a request packet.
    pub fn parse(b: &[u8]) -> Result<Request, RequestParseError> {
        if b.len() < 16 {
            return Err(RequestParseError::TooShort(b.len()));
        }
        let connection_id = u64_at(b, 0);
        let action = u32_at(b, 8);
        let transaction_id = u32_at(b, 12);
        let malformed = |message| RequestParseError::Malformed {
            transaction_id,
            message,
        };
        match action {
            ACTION_CONNECT => {
                if connection_id != PROTOCOL_ID {
                    return Err(RequestParseError::BadProtocolId);
                }
                Ok(Request::Connect { transaction_id })
            }
            ACTION_ANNOUNCE => {
                // 98 bytes; BEP 41 options may follow and are ignored.
                if b.len() < 98 {
                    return Err(malformed("announce shorter than 98 bytes"));
                }
                let event = event_from(u32_at(b, 80)).ok_or(malformed("unknown event"))?;
                Ok(Request::Announce(UdpAnnounce {
                    connection_id,
                    transaction_id,
                    info_hash: InfoHash(hash_at(b, 16)),
                    peer_id: PeerId(hash_at(b, 36)),
                    downloaded: u64_at(b, 56),
                    left: u64_at(b, 64),
                    uploaded: u64_at(b, 72),
                    event,
                    ip: u32_at(b, 84),
                    key: u32_at(b, 88),
                    num_want: u32_at(b, 92) as i32,
                    port: u16_at(b, 96),
                }))
            }
            ACTION_SCRAPE => {
                let n = ((b.len() - 16) / 20).min(MAX_SCRAPE_HASHES);
                if n == 0 {
                    return Err(malformed("scrape without info-hashes"));
                }
                let info_hashes = (0..n).map(|i| InfoHash(hash_at(b, 16 + 20 * i))).collect();
                Ok(Request::Scrape {
                    connection_id,
                    transaction_id,
                    info_hashes,
                })
            }
            other => Err(RequestParseError::UnknownAction(other)),
        }
    }

    /// Appends the packet to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Request::Connect { transaction_id } => {
                out.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
                out.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
            }
            Request::Announce(a) => {
                out.extend_from_slice(&a.connection_id.to_be_bytes());
                out.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
                out.extend_from_slice(&a.transaction_id.to_be_bytes());
                out.extend_from_slice(&a.info_hash.0);
                out.extend_from_slice(&a.peer_id.0);
                out.extend_from_slice(&a.downloaded.to_be_bytes());
                out.extend_from_slice(&a.left.to_be_bytes());
                out.extend_from_slice(&a.uploaded.to_be_bytes());
                out.extend_from_slice(&event_to(a.event).to_be_bytes());
                out.extend_from_slice(&a.ip.to_be_bytes());
                out.extend_from_slice(&a.key.to_be_bytes());
                out.extend_from_slice(&a.num_want.to_be_bytes());
                out.extend_from_slice(&a.port.to_be_bytes());
            }
            Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            } => {
                out.extend_from_slice(&connection_id.to_be_bytes());
                out.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for h in info_hashes {
                    out.extend_from_slice(&h.0);
                }
            }
        }
    }
}

impl Response {
    /// Appends the packet to `out`. Announce peers must all be of one family.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Response::Connect {
                transaction_id,
                connection_id,
            } => {
                out.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(&connection_id.to_be_bytes());
            }
            Response::Announce {
                transaction_id,
                interval,
                leechers,
                seeders,
                peers,
            } => {
                write_announce_header(out, *transaction_id, *interval, *leechers, *seeders);
                for p in peers {
                    write_peer(out, p);
                }
            }
            Response::Scrape {
                transaction_id,
                counts,
            } => {
                out.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for (s, c, l) in counts {
                    out.extend_from_slice(&s.to_be_bytes());
                    out.extend_from_slice(&c.to_be_bytes());
                    out.extend_from_slice(&l.to_be_bytes());
                }
            }
            Response::Error {
                transaction_id,
                message,
            } => {
                out.extend_from_slice(&ACTION_ERROR.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(message.as_bytes());
            }
        }
    }

    /// Parses a response; `ipv6` says which peer entry size the socket family implies.
    pub fn parse(b: &[u8], ipv6: bool) -> Result<Response, ResponseParseError> {
        if b.len() < 8 {
            return Err(ResponseParseError::TooShort(b.len()));
        }
        let transaction_id = u32_at(b, 4);
        match u32_at(b, 0) {
            ACTION_CONNECT if b.len() >= 16 => Ok(Response::Connect {
                transaction_id,
                connection_id: u64_at(b, 8),
            }),
            ACTION_ANNOUNCE if b.len() >= 20 => {
                let entry = if ipv6 { 18 } else { 6 };
                let list = &b[20..];
                if !list.chunks_exact(entry).remainder().is_empty() {
                    return Err(ResponseParseError::BadPeerList(list.len()));
                }
                let peers = list.chunks_exact(entry).map(read_peer).collect();
                Ok(Response::Announce {
                    transaction_id,
                    interval: u32_at(b, 8),
                    leechers: u32_at(b, 12),
                    seeders: u32_at(b, 16),
                    peers,
                })
            }
            ACTION_SCRAPE => {
                let counts = b[8..]
                    .chunks_exact(12)
                    .map(|c| (u32_at(c, 0), u32_at(c, 4), u32_at(c, 8)))
                    .collect();
                Ok(Response::Scrape {
                    transaction_id,
                    counts,
                })
            }
            ACTION_ERROR => Ok(Response::Error {
                transaction_id,
                message: String::from_utf8_lossy(&b[8..]).into_owned(),
            }),
            ACTION_CONNECT | ACTION_ANNOUNCE => Err(ResponseParseError::TooShort(b.len())),
            other => Err(ResponseParseError::UnknownAction(other)),
        }
    }
}

/// Writes the 20-byte header of an announce response (the server writes peers after it
/// straight from the registry's reply, without building a `Response`).
pub fn write_announce_header(
    out: &mut Vec<u8>,
    txid: u32,
    interval: u32,
    leechers: u32,
    seeders: u32,
) {
    out.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    out.extend_from_slice(&txid.to_be_bytes());
    out.extend_from_slice(&interval.to_be_bytes());
    out.extend_from_slice(&leechers.to_be_bytes());
    out.extend_from_slice(&seeders.to_be_bytes());
}

/// Writes one compact peer: 4 + 2 bytes for IPv4, 16 + 2 for IPv6.
pub fn write_peer(out: &mut Vec<u8>, p: &SocketAddr) {
    match p.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&p.port().to_be_bytes());
}

fn read_peer(c: &[u8]) -> SocketAddr {
    let port = u16_at(c, c.len() - 2);
    let ip = if c.len() == 6 {
        IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&c[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    SocketAddr::new(ip, port)
}
