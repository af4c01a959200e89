//! The benchmarks behind `podnet bench`: [`cni`] (ADD/DEL latency of the plugin against the
//! reference `bridge` + `host-local`, in namespaces of its own) and [`backends`] (every
//! backend's pod path against the underlay and a hand-built VXLAN, on two-node labs), and
//! [`services`] (the Service proxy against a kube-proxy-iptables-shaped ruleset at 10 to 10,000
//! Services), and [`rr`], the request/response client (`podnet rr`) whose JSON `backends` reads.
//!
//! Like the lab, they run the `podnet` binary they are called from (`std::env::current_exe`)
//! as the plugin, the servers and the `rr` client, so they are driven from `podnet bench`.
//! Everything they build is removed at the end, also on failure or a signal
//! (`podnet_netns::interrupt`).

pub mod backends;
pub mod cni;
pub mod rr;
pub mod services;
