//! The Local Service Discovery options shared by `download`, `seed` and `info --fetch`,
//! and the session setting they make.

use std::net::{Ipv4Addr, SocketAddrV4};

use bitswarm_net::LsdSettings;

/// Local Service Discovery (BEP 14) options.
#[derive(clap::Args, Debug, Clone)]
pub struct LsdArgs {
    /// Do not announce torrents to, or look for peers on, the local network (BEP 14
    /// multicast to 239.192.152.143:6771; never done for private torrents).
    #[arg(long)]
    pub no_lsd: bool,
    /// The local interface (its IPv4 address) for Local Service Discovery (default: the
    /// one the system sends multicast through; 127.0.0.1 keeps it on this machine).
    #[arg(long, value_name = "IP")]
    pub lsd_interface: Option<Ipv4Addr>,
    /// The multicast port (tests run several groups on one machine).
    #[arg(long, value_name = "PORT", hide = true)]
    pub lsd_port: Option<u16>,
}

impl LsdArgs {
    /// The session's LSD settings (`None`: off).
    pub fn settings(&self) -> Option<LsdSettings> {
        if self.no_lsd {
            return None;
        }
        let mut s = LsdSettings::default();
        if let Some(ip) = self.lsd_interface {
            s.interface = ip;
        }
        if let Some(port) = self.lsd_port {
            s.group = SocketAddrV4::new(*s.group.ip(), port);
        }
        Some(s)
    }
}
