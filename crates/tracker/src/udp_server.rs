//! The UDP front end (BEP 15): worker threads, each with its own `SO_REUSEPORT` socket on
//! the tracker's address; datagrams are received and answered in batches
//! (`recvmmsg`/`sendmmsg`), each parsed, answered from the registry and sent back to its
//! source. See [`run_worker`] for why.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::registry::{canonical_ip, AnnounceRequest};
use crate::server::Shared;
use crate::stats::Counters;
use crate::swarm::PeerSample;
use crate::udp_codec::{write_announce_header, Request, Response};

/// Answers one packet from `src` into `out`; returns whether to send `out`.
pub fn handle_packet(
    shared: &Shared,
    packet: &[u8],
    src: SocketAddr,
    out: &mut Vec<u8>,
    peers: &mut PeerSample,
) -> bool {
    let c = &shared.counters;
    let now_secs = shared.started.elapsed().as_secs();
    let error = |transaction_id: u32, message: String, out: &mut Vec<u8>| {
        Counters::bump(&c.udp_errors);
        Response::Error {
            transaction_id,
            message,
        }
        .write(out);
        true
    };
    match Request::parse(packet) {
        Err(e) => match e.reply_to() {
            Some(txid) => error(txid, e.to_string(), out),
            None => {
                Counters::bump(&c.udp_dropped);
                false
            }
        },
        Ok(Request::Connect { transaction_id }) => {
            Counters::bump(&c.udp_connects);
            let connection_id = shared.connection_ids.issue(&src, now_secs);
            Response::Connect {
                transaction_id,
                connection_id,
            }
            .write(out);
            true
        }
        Ok(Request::Announce(a)) => {
            Counters::bump(&c.udp_announces);
            if !shared.connection_ids.check(a.connection_id, &src, now_secs) {
                return error(a.transaction_id, "invalid connection id".into(), out);
            }
            let src_ip = canonical_ip(src.ip());
            let ip = if shared.config.allow_ip_param && a.ip != 0 && src_ip.is_ipv4() {
                IpAddr::V4(Ipv4Addr::from(a.ip))
            } else {
                src_ip
            };
            let req = AnnounceRequest {
                info_hash: a.info_hash,
                peer_id: a.peer_id,
                addr: SocketAddr::new(ip, a.port),
                event: a.event,
                left: a.left,
                uploaded: a.uploaded,
                downloaded: a.downloaded,
                numwant: u32::try_from(a.num_want).ok(),
            };
            peers.reset(false);
            match shared.announce_into(&req, peers) {
                Ok(r) => {
                    write_announce_header(
                        out,
                        a.transaction_id,
                        r.interval,
                        r.incomplete,
                        r.complete,
                    );
                    // The registry answers with peers of the asker's family only, so one
                    // of these is empty.
                    out.extend_from_slice(&peers.compact_v4);
                    out.extend_from_slice(&peers.compact_v6);
                    true
                }
                Err(e) => error(a.transaction_id, e.to_string(), out),
            }
        }
        Ok(Request::Scrape {
            connection_id,
            transaction_id,
            info_hashes,
        }) => {
            Counters::bump(&c.udp_scrapes);
            if !shared.connection_ids.check(connection_id, &src, now_secs) {
                return error(transaction_id, "invalid connection id".into(), out);
            }
            let counts = shared.scrape(&info_hashes);
            let counts = counts
                .iter()
                .map(|c| (c.complete, c.downloaded, c.incomplete))
                .collect();
            Response::Scrape {
                transaction_id,
                counts,
            }
            .write(out);
            true
        }
    }
}

/// Datagrams received (and answered) per system call, at most.
const BATCH: usize = 32;
/// Receive buffer per datagram: BEP 15 requests are at most 98 bytes (announce) or
/// 16 + 20 × 74 (scrape); anything longer is junk and gets truncated, then refused.
const RX_BYTES: usize = 2048;

/// Binds the UDP sockets: one per worker, all on the same address with `SO_REUSEPORT`, so
/// the kernel spreads clients over the workers (by source address) and no two threads
/// contend for one socket's queue. Port 0 is resolved by the first socket. Each socket is
/// blocking with a read timeout of `poll`, so workers see the shutdown flag.
pub fn bind_sockets(
    addr: SocketAddr,
    workers: usize,
    poll: std::time::Duration,
) -> std::io::Result<Vec<std::net::UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut sockets: Vec<std::net::UdpSocket> = Vec::with_capacity(workers);
    let mut at = addr;
    for _ in 0..workers.max(1) {
        let s = Socket::new(Domain::for_address(at), Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_port(true)?;
        s.bind(&at.into())?;
        s.set_read_timeout(Some(poll))?;
        let s: std::net::UdpSocket = s.into();
        if sockets.is_empty() {
            at = s.local_addr()?;
        }
        sockets.push(s);
    }
    Ok(sockets)
}

fn to_socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    // SAFETY: the kernel filled `storage` with a sockaddr of the family it names, and
    // sockaddr_storage is large and aligned enough for either.
    unsafe {
        match i32::from(storage.ss_family) {
            libc::AF_INET => {
                let a = &*(storage as *const _ as *const libc::sockaddr_in);
                Some(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))),
                    u16::from_be(a.sin_port),
                ))
            }
            libc::AF_INET6 => {
                let a = &*(storage as *const _ as *const libc::sockaddr_in6);
                Some(SocketAddr::new(
                    IpAddr::V6(std::net::Ipv6Addr::from(a.sin6_addr.s6_addr)),
                    u16::from_be(a.sin6_port),
                ))
            }
            _ => None,
        }
    }
}

/// One worker's receive loop on its own socket. Returns when `stop` is set (checked at
/// least every read-timeout interval).
///
/// Why blocking threads with `recvmmsg`/`sendmmsg` rather than tokio tasks: a UDP worker
/// has nothing to wait for but the next datagrams, so a blocking call that returns every
/// datagram already queued (`MSG_WAITFORONE`) is one system call per batch each way, with
/// no reactor round trip and no per-packet wake-up once the server is busy (profiled: the
/// system calls were about half of the time per announce).
pub fn run_worker(shared: Arc<Shared>, socket: std::net::UdpSocket, stop: Arc<AtomicBool>) {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let mut rx = vec![0u8; BATCH * RX_BYTES];
    // SAFETY (zeroed): plain C structs for which all-zero is a valid value.
    let mut names: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut rx_iov: Vec<libc::iovec> = rx
        .chunks_mut(RX_BYTES)
        .map(|c| libc::iovec {
            iov_base: c.as_mut_ptr().cast(),
            iov_len: c.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut tx_iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut tx_msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut outs: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(1024)).collect();
    let mut peers = PeerSample::new(false);
    while !stop.load(Ordering::Relaxed) {
        for i in 0..BATCH {
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut rx_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            msgs[i].msg_len = 0;
        }
        // SAFETY: every header points at live buffers owned by this function, sized as
        // declared; the kernel writes at most that much.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        // -1 is a timeout (to check `stop`) or a per-packet condition such as an ICMP port
        // unreachable reported on a later receive: skip and keep serving.
        if n <= 0 {
            continue;
        }
        let mut count = 0;
        for i in 0..n as usize {
            let Some(src) = to_socket_addr(&names[i]) else {
                continue;
            };
            let len = (msgs[i].msg_len as usize).min(RX_BYTES);
            let packet = &rx[i * RX_BYTES..i * RX_BYTES + len];
            let out = &mut outs[i];
            out.clear();
            if handle_packet(&shared, packet, src, out, &mut peers) {
                tx_iov[count] = libc::iovec {
                    iov_base: out.as_mut_ptr().cast(),
                    iov_len: out.len(),
                };
                let h = &mut tx_msgs[count].msg_hdr;
                h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
                h.msg_namelen = msgs[i].msg_hdr.msg_namelen;
                h.msg_iov = &mut tx_iov[count];
                h.msg_iovlen = 1;
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
                h.msg_flags = 0;
                count += 1;
            }
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: headers [sent, count) point at `names` and `outs`, alive and unchanged
            // until this loop ends.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    tx_msgs[sent..].as_mut_ptr(),
                    (count - sent) as libc::c_uint,
                    0,
                )
            };
            // An error belongs to the first datagram not sent (e.g. its destination is
            // unreachable): drop that one and send the rest.
            sent += if r > 0 { r as usize } else { 1 };
        }
    }
}
