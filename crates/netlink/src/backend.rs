//! [`BackendOps`]: the kernel operations the node agent's backends need in the node namespace —
//! routes tagged with podnet's protocol number, the VXLAN device, and its permanent neighbour and
//! FDB entries. Everything is listable, so the agent converges by diff (add what is missing,
//! remove what is extra, leave the rest alone) and never flushes.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::types::NetError;

/// Routing protocol number on podnet's routes (`ip route show proto 112`): it marks what the
/// agent owns, so a diff never touches other routes.
pub const RTPROT_PODNET: u8 = 112;

/// A route the agent owns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub dst: Ipv4Net,
    pub via: Ipv4Addr,
    /// Output device; `None` lets the kernel pick from `via`.
    pub dev: Option<String>,
    pub onlink: bool,
}

/// A permanent neighbour entry (IPv4 → MAC) on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Neigh {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
}

/// A VXLAN FDB entry: frames for `mac` go to the VTEP at `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fdb {
    pub mac: [u8; 6],
    pub dst: Ipv4Addr,
}

/// The VXLAN device of the vxlan backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSpec {
    pub name: String,
    pub vni: u32,
    pub port: u16,
    pub local: Ipv4Addr,
    pub underlay_dev: String,
    pub mtu: u32,
}

impl VxlanSpec {
    /// The device's MAC: locally administered, derived from the local address
    /// (`0e:50:` + its four bytes), so a device deleted and created again — or made by another
    /// agent run — keeps the address the peers' neighbour entries point at.
    pub fn mac(&self) -> [u8; 6] {
        let o = self.local.octets();
        [0x0e, 0x50, o[0], o[1], o[2], o[3]]
    }
}

/// What the agent reads back about a link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkState {
    pub mac: [u8; 6],
    pub mtu: u32,
    pub up: bool,
    pub addresses: Vec<Ipv4Net>,
}

/// Kernel operations of the backends.
pub trait BackendOps {
    /// `ip -j route show proto 112`
    fn podnet_routes(&mut self) -> Result<Vec<Route>, NetError>;
    /// `ip route replace DST via VIA [dev DEV onlink] proto 112`
    fn replace_route(&mut self, route: &Route) -> Result<(), NetError>;
    /// `ip route del DST via VIA proto 112` (gone already = success)
    fn delete_route(&mut self, route: &Route) -> Result<(), NetError>;
    /// `ip -j addr show DEV`; `None` when the link does not exist.
    fn link_state(&mut self, dev: &str) -> Result<Option<LinkState>, NetError>;
    /// `ip link add NAME address MAC type vxlan id VNI dstport PORT local IP dev UNDERLAY
    /// nolearning; ip link set NAME mtu MTU up` — kept if it already exists (its MAC set to the
    /// spec's if it differs: `ip link set NAME address MAC`).
    fn ensure_vxlan(&mut self, spec: &VxlanSpec) -> Result<LinkState, NetError>;
    /// `ip link set DEV mtu MTU up`
    fn set_link_up(&mut self, dev: &str, mtu: u32) -> Result<LinkState, NetError>;
    /// `sysctl -w net.ipv6.conf.DEV.disable_ipv6=1`: a device that carries IPv4 only (the udp
    /// backend's TUN), so the kernel sends no IPv6 (MLD, router solicitations) into it.
    fn disable_ipv6(&mut self, dev: &str) -> Result<(), NetError>;
    /// The eBPF fast path's `from_uplink` program at DEV's tc ingress (packets to this node's
    /// pods enter them directly): `tc qdisc replace dev DEV clsact; tc filter replace dev DEV
    /// ingress pref 1 handle 1 bpf direct-action …` — replaced in place when attached again.
    fn attach_fast_path(&mut self, dev: &str, fp: &crate::FastPath) -> Result<(), NetError>;
    /// `tc filter show dev DEV ingress` lists podnet's `from_uplink` filter (false also when DEV
    /// has no clsact qdisc).
    fn fast_path_attached(&mut self, dev: &str) -> Result<bool, NetError>;
    /// `ip addr add ADDR dev DEV` (present already = success)
    fn ensure_address(&mut self, dev: &str, addr: Ipv4Net) -> Result<(), NetError>;
    /// `ip -j neigh show dev DEV nud permanent`
    fn neighbours(&mut self, dev: &str) -> Result<Vec<Neigh>, NetError>;
    /// `ip neigh replace IP lladdr MAC dev DEV nud permanent`
    fn replace_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError>;
    /// `ip neigh del IP dev DEV`
    fn delete_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError>;
    /// `bridge -j fdb show dev DEV` (entries with a `dst`)
    fn fdb(&mut self, dev: &str) -> Result<Vec<Fdb>, NetError>;
    /// `bridge fdb replace MAC dev DEV dst IP self permanent`
    fn replace_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError>;
    /// `bridge fdb del MAC dev DEV dst IP self`
    fn delete_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError>;
}
