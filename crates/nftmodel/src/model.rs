//! What the ruleset needs to know about one pod.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Layer-4 protocol, as nftables names it (`inet_proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L4 {
    Tcp,
    Udp,
    Sctp,
}

impl L4 {
    pub fn as_str(self) -> &'static str {
        match self {
            L4::Tcp => "tcp",
            L4::Udp => "udp",
            L4::Sctp => "sctp",
        }
    }
}

/// One hostPort: traffic to a local address of the node on `host_port` goes to the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub proto: L4,
    /// `None`: any local address of the node.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub pod_port: u16,
}

/// Everything the ruleset holds for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEntry {
    /// The network the pod is attached to (selects its masquerade chain).
    pub network: String,
    /// Host-side veth, the bridge port the pod's frames enter by.
    pub host_veth: String,
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    /// Masquerade traffic to destinations outside `cluster_cidr`.
    pub masquerade: bool,
    /// Destinations reached without NAT (the pod network); `None`: only the pod's own subnet.
    pub cluster_cidr: Ipv4Net,
    pub host_ports: Vec<HostPort>,
}
