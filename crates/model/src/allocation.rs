//! The API server's allocations for Services — cluster IPs from the Service CIDR and node ports
//! from 30000–32767 — as pure choices, and where their claims live in the datastore.
//!
//! ```text
//! /podnet/allocations/serviceips/<a.b.c.d>   value: <namespace>/<name> of the Service holding it
//! /podnet/allocations/nodeports/<port>       value: the same
//! ```
//!
//! A claim is written with create-if-absent before the Service itself, so two Services created
//! at once can never get the same address (the store decides who was first); deleting the
//! Service releases its claims. The choice of a free value starts at a point derived from the
//! Service's name (spread over the range, and the same for the same name, so tests read
//! stable addresses) and walks up from there.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::validate::{NODE_PORT_MAX, NODE_PORT_MIN};

/// The default Service CIDR (Kubernetes' `--service-cluster-ip-range` default in kubeadm).
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// Prefix of the cluster IP claims.
pub const SERVICE_IPS_PREFIX: &str = "/podnet/allocations/serviceips/";
/// Prefix of the node port claims.
pub const NODE_PORTS_PREFIX: &str = "/podnet/allocations/nodeports/";

/// The claim key of a cluster IP.
pub fn service_ip_key(ip: Ipv4Addr) -> String {
    format!("{SERVICE_IPS_PREFIX}{ip}")
}

/// The claim key of a node port.
pub fn node_port_key(port: i32) -> String {
    format!("{NODE_PORTS_PREFIX}{port}")
}

/// What a claim's value says: the Service holding it.
pub fn holder(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// FNV-1a of the holder: where the walk for a free value starts.
fn seed(holder: &str) -> u64 {
    holder.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The addresses of `cidr` a Service may get: all but the network and broadcast addresses
/// and the first host (`.1`, which Kubernetes keeps for the `kubernetes` Service).
pub fn allocatable(cidr: Ipv4Net) -> (u32, u32) {
    let first = u32::from(cidr.network()).saturating_add(2);
    let last = u32::from(cidr.broadcast()).saturating_sub(1);
    (first, last)
}

/// Whether `ip` may be requested in `spec.clusterIP` (inside the CIDR, not the network or
/// broadcast address).
pub fn in_range(cidr: Ipv4Net, ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    cidr.contains(&ip) && n != u32::from(cidr.network()) && n != u32::from(cidr.broadcast())
}

/// Up to `count` free cluster IPs for `holder`, in the order to try them.
pub fn free_ips(
    cidr: Ipv4Net,
    taken: &BTreeSet<Ipv4Addr>,
    holder: &str,
    count: usize,
) -> Vec<Ipv4Addr> {
    let (first, last) = allocatable(cidr);
    if last < first {
        return Vec::new();
    }
    let size = u64::from(last - first) + 1;
    let start = seed(holder) % size;
    (0..size)
        .map(|i| Ipv4Addr::from(first + ((start + i) % size) as u32))
        .filter(|ip| !taken.contains(ip))
        .take(count)
        .collect()
}

/// Up to `count` free node ports for `holder`, in the order to try them.
pub fn free_node_ports(taken: &BTreeSet<i32>, holder: &str, count: usize) -> Vec<i32> {
    let size = (NODE_PORT_MAX - NODE_PORT_MIN + 1) as u64;
    let start = seed(holder) % size;
    (0..size)
        .map(|i| NODE_PORT_MIN + ((start + i) % size) as i32)
        .filter(|p| !taken.contains(p))
        .take(count)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    #[test]
    fn free_ips_skip_taken_reserved_and_stay_in_range() {
        let cidr = net("10.96.0.0/29");
        let taken: BTreeSet<Ipv4Addr> = ["10.96.0.2", "10.96.0.3"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        let free = free_ips(cidr, &taken, "default/web", 10);
        let mut sorted = free.clone();
        sorted.sort();
        let want: Vec<Ipv4Addr> = ["10.96.0.4", "10.96.0.5", "10.96.0.6"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        assert_eq!(sorted, want);
        assert_eq!(
            free_ips(cidr, &taken, "default/web", 10),
            free,
            "deterministic"
        );
    }

    #[test]
    fn a_full_range_has_nothing_free() {
        let cidr = net("10.96.0.0/30");
        let taken = [Ipv4Addr::new(10, 96, 0, 2)].into_iter().collect();
        assert!(free_ips(cidr, &taken, "a/b", 3).is_empty());
        assert!(free_ips(net("10.96.0.0/31"), &BTreeSet::new(), "a/b", 3).is_empty());
    }

    #[test]
    fn range_checks() {
        let cidr = net("10.96.0.0/12");
        assert!(in_range(cidr, "10.96.0.10".parse().expect("ip")));
        assert!(!in_range(cidr, "10.96.0.0".parse().expect("ip")));
        assert!(!in_range(cidr, "10.111.255.255".parse().expect("ip")));
        assert!(!in_range(cidr, "10.112.0.1".parse().expect("ip")));
    }

    #[test]
    fn node_ports_are_in_the_range_and_free() {
        let taken: BTreeSet<i32> = (NODE_PORT_MIN..NODE_PORT_MAX).collect();
        assert_eq!(free_node_ports(&taken, "x/y", 5), vec![NODE_PORT_MAX]);
        let spread = free_node_ports(&BTreeSet::new(), "x/y", 1)[0];
        assert!((NODE_PORT_MIN..=NODE_PORT_MAX).contains(&spread));
    }
}
