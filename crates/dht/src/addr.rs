//! Which addresses a node accepts into its routing table and peer lists.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `addr` may be used as a DHT node or peer address. Port 0, unspecified,
/// multicast and broadcast addresses never are; loopback, private, link-local,
/// shared (100.64/10) and documentation addresses only when `allow_local` (public DHT
/// nodes must ignore them: they mean something else on every network).
pub fn is_acceptable(addr: &SocketAddr, allow_local: bool) -> bool {
    if addr.port() == 0 {
        return false;
    }
    match addr.ip() {
        IpAddr::V4(ip) => v4_acceptable(ip, allow_local),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => v4_acceptable(v4, allow_local),
            None => v6_acceptable(ip, allow_local),
        },
    }
}

fn v4_acceptable(ip: Ipv4Addr, allow_local: bool) -> bool {
    if ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() {
        return false;
    }
    let o = ip.octets();
    let shared = o[0] == 100 && (o[1] & 0xc0) == 64;
    let local = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_documentation()
        || shared
        || o[0] == 0;
    allow_local || !local
}

fn v6_acceptable(ip: Ipv6Addr, allow_local: bool) -> bool {
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    let s = ip.segments();
    let unique_local = (s[0] & 0xfe00) == 0xfc00;
    let link_local = (s[0] & 0xffc0) == 0xfe80;
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    let local = ip.is_loopback() || unique_local || link_local || documentation;
    allow_local || !local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str, allow_local: bool) -> bool {
        is_acceptable(&s.parse().expect("address"), allow_local)
    }

    #[test]
    fn local_addresses_only_when_allowed() {
        for a in [
            "127.0.0.1:6881",
            "10.1.2.3:1",
            "192.168.1.1:2",
            "[::1]:3",
            "[fd00::1]:4",
            "100.64.0.1:5",
        ] {
            assert!(!ok(a, false), "{a}");
            assert!(ok(a, true), "{a}");
        }
        for a in [
            "0.0.0.0:1",
            "224.0.0.1:1",
            "255.255.255.255:1",
            "8.8.8.8:0",
            "[::]:1",
        ] {
            assert!(!ok(a, true), "{a}");
        }
        assert!(ok("8.8.8.8:6881", false));
        assert!(ok("[2a00::1]:6881", false));
    }
}
