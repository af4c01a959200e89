//! Packet mark bits: the one contract between podnet's nftables tables. Tables never name each
//! other's objects (each has exactly one owner); when one owner's decision must reach another's
//! chain, it travels on the packet as a mark bit defined here.
//!
//! Bits in use elsewhere that podnet stays clear of: Kubernetes' `0x4000` (kube-proxy's
//! masquerade mark) and `0x8000` (kubelet's drop mark), Calico's `0xffff0000`, Cilium's `0x0f00`.

/// Set by the agent's `nonat` chain (`inet podnet_agent`, postrouting at `srcnat - 10`) on packets
/// to a cluster node's address; the plugin's masquerade chains (`ip podnet masq_*`, at `srcnat`)
/// return on it, so pods reach nodes with their own source address. Only this bit is read or
/// written (`meta mark set meta mark | 0x2000`, `meta mark & 0x2000 == 0x2000`).
pub const NONAT_MARK: u32 = 0x0000_2000;

/// Set by the proxy's `mark_masq` chain (`ip podnet_proxy`) on node-port connections under
/// `externalTrafficPolicy: Cluster`; the proxy's own `nat_postrouting` masquerades them, so
/// the reply returns through the node the client reached. Only read and written by the proxy's
/// table; defined here so no other table takes the bit.
pub const SERVICE_MASQ_MARK: u32 = 0x0000_1000;

/// Set by the proxy (`ip podnet_proxy`) on the first packet of every connection it translates
/// to a Service endpoint. The plugin's hostPort hairpin masquerade (`ip podnet postrouting`,
/// which masquerades DNATed connections from local pods) skips marked packets: a pod reaching
/// a Service keeps its own address (the proxy masquerades only its own hairpin and node-port
/// cases). Only this bit is read or written.
pub const SERVICE_NAT_MARK: u32 = 0x0000_0800;
