//! Backend planning, pure: from this node and its peers' leases to the routes, neighbours and
//! FDB entries the node should have, and the diff against what the kernel has.
//!
//! - **host-gw**: `ip route replace PEER_SUBNET via PEER_IP dev UNDERLAY proto 112` per peer.
//!   Needs L2 adjacency: a peer whose address is not on one of this node's underlay subnets cannot
//!   be a next hop; it is reported by name instead of being silently black-holed.
//! - **vxlan** (flannel's layout): per peer, `ip neigh replace PEER_SUBNET.0 lladdr PEER_VTEP_MAC
//!   dev podnet.1 nud permanent`, `bridge fdb replace PEER_VTEP_MAC dev podnet.1 dst PEER_IP self
//!   permanent`, `ip route replace PEER_SUBNET via PEER_SUBNET.0 dev podnet.1 onlink proto 112`.
//!
//! The entries are `podnet-netspec`'s; [`podnet_netspec::diff()`] compares them with the kernel's.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use podnet_model::lease::{parse_mac, Existing, LeaseRecord};
use podnet_netspec::{Fdb, Neigh, Route};

/// Which datapath connects the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    HostGw,
    Vxlan,
    /// podnet's userspace UDP encapsulation through a TUN device.
    Udp,
}

impl BackendKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "host-gw" => Some(BackendKind::HostGw),
            "vxlan" => Some(BackendKind::Vxlan),
            "udp" => Some(BackendKind::Udp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::HostGw => "host-gw",
            BackendKind::Vxlan => "vxlan",
            BackendKind::Udp => "udp",
        }
    }
}

/// Bytes VXLAN adds to every packet (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14).
pub const VXLAN_OVERHEAD: u32 = 50;
/// Bytes the udp backend adds (outer IPv4 20 + UDP 8 + podnet header 4).
pub const UDP_OVERHEAD: u32 = 32;

/// This node, as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNode {
    pub node: String,
    pub subnet: Ipv4Net,
    pub underlay_dev: String,
    /// The underlay interface's subnets (for the host-gw adjacency check).
    pub underlay_nets: Vec<Ipv4Net>,
    pub tunnel_dev: String,
}

/// What the node should have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub routes: BTreeSet<Route>,
    pub neighbours: BTreeSet<Neigh>,
    pub fdb: BTreeSet<Fdb>,
    /// host-gw peers that cannot be reached directly: (node, address).
    pub unreachable: Vec<(String, Ipv4Addr)>,
    /// Underlay addresses of every peer (VXLAN is accepted only from these).
    pub peer_ips: BTreeSet<Ipv4Addr>,
}

/// The desired state for `local` given every lease in the store (its own included).
pub fn desired(kind: BackendKind, local: &LocalNode, leases: &[Existing]) -> Desired {
    let mut d = Desired::default();
    for peer in leases
        .iter()
        .filter(|l| l.record.node != local.node && l.subnet != local.subnet)
    {
        let LeaseRecord {
            node,
            public_ip,
            vtep_mac,
            ..
        } = &peer.record;
        d.peer_ips.insert(*public_ip);
        match kind {
            BackendKind::HostGw => {
                if local.underlay_nets.iter().any(|n| n.contains(public_ip)) {
                    d.routes.insert(Route {
                        dst: peer.subnet,
                        via: *public_ip,
                        dev: Some(local.underlay_dev.clone()),
                        onlink: false,
                    });
                } else {
                    d.unreachable.push((node.clone(), *public_ip));
                }
            }
            BackendKind::Vxlan => {
                let Some(mac) = vtep_mac.as_deref().and_then(parse_mac) else {
                    continue;
                };
                let gw = peer.subnet.network();
                d.neighbours.insert(Neigh { ip: gw, mac });
                d.fdb.insert(Fdb {
                    mac,
                    dst: *public_ip,
                });
                d.routes.insert(Route {
                    dst: peer.subnet,
                    via: gw,
                    dev: Some(local.tunnel_dev.clone()),
                    onlink: true,
                });
            }
            BackendKind::Udp => {
                let gw = peer.subnet.network();
                d.routes.insert(Route {
                    dst: peer.subnet,
                    via: gw,
                    dev: Some(local.tunnel_dev.clone()),
                    onlink: true,
                });
            }
        }
    }
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
