//! [`BackendOps`]: the kernel operations the node agent's backends need in the node namespace —
//! routes tagged with podnet's protocol number, the VXLAN device, and its permanent neighbour and
//! FDB entries. Everything is listable, so the agent converges by diff (add what is missing,
//! remove what is extra, leave the rest alone) and never flushes. The values it takes and
//! returns are `podnet-netspec`'s.

use ipnet::Ipv4Net;
use podnet_netspec::{FastPath, Fdb, LinkState, Neigh, Route, VxlanSpec};

use crate::error::NetError;

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
    fn attach_fast_path(&mut self, dev: &str, fp: &FastPath) -> Result<(), NetError>;
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
