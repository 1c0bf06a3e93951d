//! KRPC (BEP 5): the bencoded query/response/error messages, compact node info
//! (26 bytes for IPv4, 38 for IPv6) and compact peer info (6 or 18 bytes).
//!
//! Decoding never panics and bounds what it accepts: packets over [`MAX_PACKET`] bytes,
//! transaction ids over [`MAX_TRANSACTION_ID`] bytes and tokens over [`MAX_TOKEN`] bytes are
//! refused; at most [`MAX_VALUES`] peers and [`MAX_NODES`] nodes are kept from a response.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use bitswarm_bencode::{Decoder, Dict, OwnedValue};

use crate::error::KrpcError;
use crate::node_id::NodeId;

/// Largest KRPC packet accepted or produced.
pub const MAX_PACKET: usize = 4096;
/// Longest transaction id accepted.
pub const MAX_TRANSACTION_ID: usize = 32;
/// Longest token accepted.
pub const MAX_TOKEN: usize = 64;
/// Most peers kept from one `values` list.
pub const MAX_VALUES: usize = 200;
/// Most nodes kept from one `nodes` (or `nodes6`) string.
pub const MAX_NODES: usize = 64;
/// Longest error message kept (bytes as received).
pub const MAX_ERROR_MESSAGE: usize = 256;
/// Longest unknown method name kept.
const MAX_METHOD: usize = 64;

/// KRPC error code 201: generic error.
pub const ERROR_GENERIC: i64 = 201;
/// KRPC error code 202: server error.
pub const ERROR_SERVER: i64 = 202;
/// KRPC error code 203: protocol error (malformed packet, bad token...).
pub const ERROR_PROTOCOL: i64 = 203;
/// KRPC error code 204: method unknown.
pub const ERROR_METHOD_UNKNOWN: i64 = 204;

/// One KRPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The transaction id (`t`), echoed in the reply.
    pub transaction_id: Vec<u8>,
    /// Query, response or error.
    pub body: Body,
}

/// What a message carries (`y` = `q`, `r` or `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A query.
    Query(Query),
    /// A response. KRPC responses do not name their query: the transaction id does.
    Response(Response),
    /// An error: code and message.
    Error {
        /// The error code (201–204).
        code: i64,
        /// A human-readable message.
        message: String,
    },
}

/// A query and the id of the node sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The querying node's id.
    pub sender: NodeId,
    /// The method and its arguments.
    pub method: Method,
}

/// The query methods of BEP 5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `ping`.
    Ping,
    /// `find_node` for `target`.
    FindNode {
        /// The id looked for.
        target: NodeId,
    },
    /// `get_peers` for an info-hash.
    GetPeers {
        /// The torrent's info-hash.
        info_hash: NodeId,
    },
    /// `announce_peer`: the sender is a peer of `info_hash`.
    AnnouncePeer {
        /// The torrent's info-hash.
        info_hash: NodeId,
        /// The peer's TCP port (ignored when `implied_port`).
        port: u16,
        /// Use the UDP source port instead of `port`.
        implied_port: bool,
        /// The token received from our `get_peers` reply.
        token: Vec<u8>,
    },
    /// A method we do not know (answered with error 204).
    Unknown(Vec<u8>),
}

/// A response; fields a given query does not use are empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The responding node's id.
    pub sender: NodeId,
    /// Compact IPv4 nodes (`nodes`).
    pub nodes: Vec<NodeInfo>,
    /// Compact IPv6 nodes (`nodes6`).
    pub nodes6: Vec<NodeInfo>,
    /// Peers (`values`), IPv4 or IPv6.
    pub values: Vec<SocketAddr>,
    /// Token for a later `announce_peer` (`get_peers` replies).
    pub token: Option<Vec<u8>>,
}

/// A node's id and UDP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Message {
    /// Encodes to bencode.
    pub fn encode(&self) -> Vec<u8> {
        let mut d = OwnedValue::dict();
        d.insert("t", self.transaction_id.clone());
        match &self.body {
            Body::Query(q) => {
                d.insert("y", "q");
                let mut a = OwnedValue::dict();
                a.insert("id", &q.sender.0[..]);
                let name: &[u8] = match &q.method {
                    Method::Ping => b"ping",
                    Method::FindNode { target } => {
                        a.insert("target", &target.0[..]);
                        b"find_node"
                    }
                    Method::GetPeers { info_hash } => {
                        a.insert("info_hash", &info_hash.0[..]);
                        b"get_peers"
                    }
                    Method::AnnouncePeer {
                        info_hash,
                        port,
                        implied_port,
                        token,
                    } => {
                        a.insert("info_hash", &info_hash.0[..]);
                        a.insert("port", i64::from(*port));
                        if *implied_port {
                            a.insert("implied_port", 1i64);
                        }
                        a.insert("token", token.clone());
                        b"announce_peer"
                    }
                    Method::Unknown(name) => name,
                };
                d.insert("q", name);
                d.insert("a", a);
            }
            Body::Response(r) => {
                d.insert("y", "r");
                let mut rd = OwnedValue::dict();
                rd.insert("id", &r.sender.0[..]);
                if !r.nodes.is_empty() {
                    rd.insert("nodes", encode_nodes(&r.nodes));
                }
                if !r.nodes6.is_empty() {
                    rd.insert("nodes6", encode_nodes(&r.nodes6));
                }
                if !r.values.is_empty() {
                    let vals: Vec<OwnedValue> = r
                        .values
                        .iter()
                        .map(|p| OwnedValue::Bytes(encode_addr(p)))
                        .collect();
                    rd.insert("values", vals);
                }
                if let Some(token) = &r.token {
                    rd.insert("token", token.clone());
                }
                d.insert("r", rd);
            }
            Body::Error { code, message } => {
                d.insert("y", "e");
                d.insert(
                    "e",
                    vec![OwnedValue::Int(*code), OwnedValue::from(message.as_str())],
                );
            }
        }
        d.to_bytes()
    }

    /// Decodes one KRPC packet. Never panics; see [`KrpcError`] for when a reply is
    /// possible.
    pub fn decode(packet: &[u8]) -> Result<Message, KrpcError> {
        if packet.len() > MAX_PACKET {
            return Err(KrpcError::drop("packet too large"));
        }
        let value = Decoder::new()
            .max_depth(4)
            .max_values(2 * MAX_VALUES + 64)
            .decode(packet)
            .map_err(|_| KrpcError::drop("not bencode"))?;
        let dict = value.as_dict().ok_or(KrpcError::drop("not a dictionary"))?;
        let tid = dict
            .get_bytes(b"t")
            .ok_or(KrpcError::drop("no transaction id"))?;
        if tid.len() > MAX_TRANSACTION_ID {
            return Err(KrpcError::drop("transaction id too long"));
        }
        let transaction_id = tid.to_vec();
        let body = match dict.get_bytes(b"y") {
            Some(b"q") => {
                let fail = |reason| KrpcError {
                    reason,
                    transaction_id: Some(transaction_id.clone()),
                };
                Body::Query(decode_query(dict).map_err(fail)?)
            }
            Some(b"r") => Body::Response(decode_response(dict).map_err(KrpcError::drop)?),
            Some(b"e") => {
                let list = dict
                    .get_list(b"e")
                    .ok_or(KrpcError::drop("error without list"))?;
                let code = list
                    .first()
                    .and_then(|v| v.as_int())
                    .ok_or(KrpcError::drop("error without code"))?;
                let message = list
                    .get(1)
                    .and_then(|v| v.as_bytes())
                    // Bounded before the lossy conversion, which may triple its size.
                    .map(|b| {
                        String::from_utf8_lossy(&b[..b.len().min(MAX_ERROR_MESSAGE)]).into_owned()
                    })
                    .unwrap_or_default();
                Body::Error { code, message }
            }
            _ => return Err(KrpcError::drop("unknown message type")),
        };
        Ok(Message {
            transaction_id,
            body,
        })
    }
}

fn get_id(dict: &Dict<'_>, key: &[u8]) -> Option<NodeId> {
    dict.get_bytes(key).and_then(NodeId::from_slice)
}

fn decode_query(dict: &Dict<'_>) -> Result<Query, &'static str> {
    let name = dict.get_bytes(b"q").ok_or("query without method")?;
    let args = dict.get_dict(b"a").ok_or("query without arguments")?;
    let sender = get_id(args, b"id").ok_or("query without a valid id")?;
    let method = match name {
        b"ping" => Method::Ping,
        b"find_node" => Method::FindNode {
            target: get_id(args, b"target").ok_or("find_node without target")?,
        },
        b"get_peers" => Method::GetPeers {
            info_hash: get_id(args, b"info_hash").ok_or("get_peers without info_hash")?,
        },
        b"announce_peer" => {
            let info_hash = get_id(args, b"info_hash").ok_or("announce_peer without info_hash")?;
            let implied_port = args.get_int(b"implied_port").unwrap_or(0) != 0;
            let port = match args.get_int(b"port") {
                Some(p) => u16::try_from(p).map_err(|_| "announce_peer with a bad port")?,
                None if implied_port => 0,
                None => return Err("announce_peer without port"),
            };
            let token = args
                .get_bytes(b"token")
                .ok_or("announce_peer without token")?;
            if token.len() > MAX_TOKEN {
                return Err("token too long");
            }
            Method::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token: token.to_vec(),
            }
        }
        other => Method::Unknown(other[..other.len().min(MAX_METHOD)].to_vec()),
    };
    Ok(Query { sender, method })
}

fn decode_response(dict: &Dict<'_>) -> Result<Response, &'static str> {
    let r = dict.get_dict(b"r").ok_or("response without body")?;
    let sender = get_id(r, b"id").ok_or("response without a valid id")?;
    let nodes = match r.get_bytes(b"nodes") {
        Some(b) => decode_nodes(b, 26).ok_or("bad nodes")?,
        None => Vec::new(),
    };
    let nodes6 = match r.get_bytes(b"nodes6") {
        Some(b) => decode_nodes(b, 38).ok_or("bad nodes6")?,
        None => Vec::new(),
    };
    let mut values = Vec::new();
    if let Some(list) = r.get_list(b"values") {
        for v in list.iter().take(MAX_VALUES) {
            if let Some(addr) = v.as_bytes().and_then(decode_addr) {
                values.push(addr);
            }
        }
    }
    let token = match r.get_bytes(b"token") {
        Some(t) if t.len() > MAX_TOKEN => return Err("token too long"),
        Some(t) => Some(t.to_vec()),
        None => None,
    };
    Ok(Response {
        sender,
        nodes,
        nodes6,
        values,
        token,
    })
}

/// Compact address: 4 or 16 bytes of IP, then the port, big-endian.
pub fn encode_addr(addr: &SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
    out
}

/// Reads a compact address of 6 (IPv4) or 18 (IPv6) bytes.
pub fn decode_addr(b: &[u8]) -> Option<SocketAddr> {
    match b.len() {
        6 => {
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let port = u16::from_be_bytes([b[4], b[5]]);
            Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        18 => {
            let ip: [u8; 16] = b[..16].try_into().ok()?;
            let port = u16::from_be_bytes([b[16], b[17]]);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                0,
            )))
        }
        _ => None,
    }
}

/// Compact node info: 20-byte id then the compact address, one after another.
pub fn encode_nodes(nodes: &[NodeInfo]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nodes.len() * 38);
    for n in nodes {
        out.extend_from_slice(&n.id.0);
        out.extend_from_slice(&encode_addr(&n.addr));
    }
    out
}

/// Reads compact node info entries of `size` bytes (26 or 38); `None` when the length is
/// not a multiple. Keeps at most [`MAX_NODES`].
pub fn decode_nodes(b: &[u8], size: usize) -> Option<Vec<NodeInfo>> {
    if b.len() % size != 0 {
        return None;
    }
    let mut out = Vec::new();
    for chunk in b.chunks_exact(size).take(MAX_NODES) {
        let id = NodeId::from_slice(&chunk[..20])?;
        let addr = decode_addr(&chunk[20..])?;
        out.push(NodeInfo { id, addr });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(b: u8) -> NodeId {
        NodeId([b; 20])
    }

    #[test]
    fn decodes_bep5_ping_example() {
        let m = Message::decode(b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")
            .expect("decodes");
        assert_eq!(m.transaction_id, b"aa");
        match m.body {
            Body::Query(Query {
                sender,
                method: Method::Ping,
            }) => assert_eq!(&sender.0, b"abcdefghij0123456789"),
            other => panic!("unexpected {other:?}"),
        }
        let out = Message {
            transaction_id: b"aa".to_vec(),
            body: Body::Query(Query {
                sender: NodeId(*b"abcdefghij0123456789"),
                method: Method::Ping,
            }),
        }
        .encode();
        assert_eq!(
            out,
            b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".to_vec()
        );
    }

    #[test]
    fn decodes_get_peers_response_with_values() {
        let pkt = b"d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re";
        let m = Message::decode(pkt).expect("decodes");
        let Body::Response(r) = m.body else {
            panic!("not a response")
        };
        assert_eq!(r.token.as_deref(), Some(&b"aoeusnth"[..]));
        assert_eq!(r.values.len(), 2);
        assert_eq!(r.values[0], "97.120.106.101:11893".parse().unwrap());
    }

    #[test]
    fn unknown_method_and_bad_query_keep_the_transaction_id() {
        let m = Message::decode(b"d1:ad2:id20:abcdefghij0123456789e1:q3:foo1:t1:x1:y1:qe")
            .expect("decodes");
        assert!(
            matches!(m.body, Body::Query(Query { method: Method::Unknown(ref n), .. }) if n == b"foo")
        );
        let e = Message::decode(b"d1:ad2:id3:abce1:q4:ping1:t1:x1:y1:qe").unwrap_err();
        assert_eq!(e.transaction_id.as_deref(), Some(&b"x"[..]));
        let e = Message::decode(b"d1:rd2:id3:abce1:t1:x1:y1:re").unwrap_err();
        assert_eq!(e.transaction_id, None);
    }

    #[test]
    fn refuses_bad_nodes_length_and_bad_port() {
        assert!(
            Message::decode(b"d1:rd2:id20:abcdefghij01234567895:nodes3:abce1:t1:x1:y1:re").is_err()
        );
        let pkt = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:abcdefghij01234567894:porti70000e5:token1:ke1:q13:announce_peer1:t1:x1:y1:qe";
        assert!(Message::decode(pkt).is_err());
    }

    fn arb_id() -> impl Strategy<Value = NodeId> {
        any::<[u8; 20]>().prop_map(NodeId)
    }
    fn arb_v4() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p)))
    }
    fn arb_v6() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p)))
    }
    fn arb_method() -> impl Strategy<Value = Method> {
        prop_oneof![
            Just(Method::Ping),
            arb_id().prop_map(|target| Method::FindNode { target }),
            arb_id().prop_map(|info_hash| Method::GetPeers { info_hash }),
            (
                arb_id(),
                any::<u16>(),
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(info_hash, port, implied_port, token)| {
                    Method::AnnouncePeer {
                        info_hash,
                        port,
                        implied_port,
                        token,
                    }
                }),
            "[a-z]{1,10}"
                .prop_filter("not a known method", |s| !matches!(
                    s.as_str(),
                    "ping" | "find_node" | "get_peers" | "announce_peer"
                ))
                .prop_map(|s| Method::Unknown(s.into_bytes())),
        ]
    }
    fn arb_body() -> impl Strategy<Value = Body> {
        prop_oneof![
            (arb_id(), arb_method())
                .prop_map(|(sender, method)| Body::Query(Query { sender, method })),
            (
                arb_id(),
                proptest::collection::vec((arb_id(), arb_v4()), 0..8),
                proptest::collection::vec((arb_id(), arb_v6()), 0..8),
                proptest::collection::vec(prop_oneof![arb_v4(), arb_v6()], 0..20),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            )
                .prop_map(|(sender, n4, n6, values, token)| Body::Response(Response {
                    sender,
                    nodes: n4
                        .into_iter()
                        .map(|(id, addr)| NodeInfo { id, addr })
                        .collect(),
                    nodes6: n6
                        .into_iter()
                        .map(|(id, addr)| NodeInfo { id, addr })
                        .collect(),
                    values,
                    token,
                })),
            (201i64..=204, "[ -~]{0,30}").prop_map(|(code, message)| Body::Error { code, message }),
        ]
    }

    proptest! {
        #[test]
        fn encode_decode_identity(tid in proptest::collection::vec(any::<u8>(), 0..8), body in arb_body()) {
            let m = Message { transaction_id: tid, body };
            let bytes = m.encode();
            prop_assert_eq!(Message::decode(&bytes), Ok(m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn mutated_valid_packets_never_panic(body in arb_body(), pos in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = Message { transaction_id: b"ab".to_vec(), body }.encode();
            let i = pos % bytes.len();
            bytes[i] = byte;
            let _ = Message::decode(&bytes);
        }
    }

    #[test]
    fn helper_ids_differ() {
        assert_ne!(id(1), id(2));
    }
}
