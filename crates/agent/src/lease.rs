//! Subnet leases, pure: key layout, the record a node publishes, and which subnet to claim.
//!
//! Layout (as flannel's `/coreos.com/network/subnets/`): `/podnet/subnets/10.244.3.0-24` holds
//! the JSON [`LeaseRecord`] of the node that owns 10.244.3.0/24, tied to a datastore lease with a
//! TTL. Claiming is create-if-absent, so two nodes can never hold one key.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Where subnet leases live.
pub const SUBNETS_PREFIX: &str = "/podnet/subnets/";

/// The cluster's address plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetConfig {
    pub cluster: Ipv4Net,
    pub subnet_len: u8,
}

impl SubnetConfig {
    /// Every per-node subnet of the cluster CIDR, in order.
    pub fn subnets(&self) -> Vec<Ipv4Net> {
        self.cluster
            .subnets(self.subnet_len)
            .map(|s| s.collect())
            .unwrap_or_default()
    }
}

/// What a node publishes with its subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseRecord {
    pub node: String,
    /// The node's underlay address: the next hop (host-gw) or VTEP address (vxlan).
    pub public_ip: Ipv4Addr,
    pub backend: String,
    /// The node's VXLAN device MAC (vxlan backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep_mac: Option<String>,
}

impl LeaseRecord {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

/// `/podnet/subnets/10.244.3.0-24`
pub fn subnet_key(subnet: Ipv4Net) -> String {
    format!(
        "{SUBNETS_PREFIX}{}-{}",
        subnet.network(),
        subnet.prefix_len()
    )
}

/// The subnet a key names; `None` for anything malformed (never trusted blindly).
pub fn parse_key(key: &str) -> Option<Ipv4Net> {
    let rest = key.strip_prefix(SUBNETS_PREFIX)?;
    let (ip, len) = rest.split_once('-')?;
    let net = Ipv4Net::new(ip.parse().ok()?, len.parse().ok()?).ok()?;
    (net.network() == net.addr()).then_some(net)
}

/// One lease as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub subnet: Ipv4Net,
    pub record: LeaseRecord,
    pub revision: i64,
}

/// What to do to get a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimPlan {
    /// The node already holds this lease (restart): take it over with a fresh datastore lease.
    Adopt { subnet: Ipv4Net, revision: i64 },
    /// Try to create these keys, in order, until one succeeds.
    Create(Vec<Ipv4Net>),
}

/// Plans a claim: adopt our own lease if present; else the subnet we held before (if free), then
/// the free subnets starting at a node-specific offset (so racing nodes spread out).
pub fn plan_claim(
    cfg: &SubnetConfig,
    node: &str,
    preferred: Option<Ipv4Net>,
    existing: &[Existing],
) -> ClaimPlan {
    if let Some(mine) = existing
        .iter()
        .find(|e| e.record.node == node && cfg.cluster.contains(&e.subnet))
    {
        return ClaimPlan::Adopt {
            subnet: mine.subnet,
            revision: mine.revision,
        };
    }
    let taken: Vec<Ipv4Net> = existing.iter().map(|e| e.subnet).collect();
    let all = cfg.subnets();
    let free: Vec<Ipv4Net> = all.iter().copied().filter(|s| !taken.contains(s)).collect();
    let mut order = Vec::with_capacity(free.len());
    if let Some(p) = preferred.filter(|p| free.contains(p)) {
        order.push(p);
    }
    if !free.is_empty() {
        let start = (fnv1a(node.as_bytes()) as usize) % free.len();
        order.extend(
            free[start..]
                .iter()
                .chain(&free[..start])
                .filter(|s| Some(**s) != preferred),
        );
    }
    ClaimPlan::Create(order)
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg() -> SubnetConfig {
        SubnetConfig {
            cluster: "10.244.0.0/22".parse().unwrap(),
            subnet_len: 24,
        }
    }

    fn rec(node: &str) -> LeaseRecord {
        LeaseRecord {
            node: node.into(),
            public_ip: "198.18.0.10".parse().unwrap(),
            backend: "vxlan".into(),
            vtep_mac: None,
        }
    }

    #[test]
    fn keys_round_trip_and_refuse_garbage() {
        let n: Ipv4Net = "10.244.3.0/24".parse().unwrap();
        assert_eq!(subnet_key(n), "/podnet/subnets/10.244.3.0-24");
        assert_eq!(parse_key(&subnet_key(n)), Some(n));
        for bad in [
            "/podnet/subnets/10.244.3.1-24",
            "/podnet/subnets/x-24",
            "/other/10.0.0.0-24",
            "/podnet/subnets/10.0.0.0-33",
            "/podnet/subnets/$(reboot)",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn adopts_its_own_lease_after_restart() {
        let existing = vec![Existing {
            subnet: "10.244.2.0/24".parse().unwrap(),
            record: rec("n1"),
            revision: 7,
        }];
        assert_eq!(
            plan_claim(&cfg(), "n1", None, &existing),
            ClaimPlan::Adopt {
                subnet: "10.244.2.0/24".parse().unwrap(),
                revision: 7
            }
        );
    }

    #[test]
    fn prefers_its_old_subnet_then_free_ones() {
        let existing = vec![Existing {
            subnet: "10.244.0.0/24".parse().unwrap(),
            record: rec("other"),
            revision: 1,
        }];
        let ClaimPlan::Create(order) = plan_claim(
            &cfg(),
            "n1",
            Some("10.244.3.0/24".parse().unwrap()),
            &existing,
        ) else {
            panic!("expected create");
        };
        assert_eq!(order[0], "10.244.3.0/24".parse::<Ipv4Net>().unwrap());
        assert_eq!(order.len(), 3);
        assert!(!order.contains(&"10.244.0.0/24".parse().unwrap()));
    }

    #[test]
    fn a_taken_preference_is_skipped() {
        let existing = vec![Existing {
            subnet: "10.244.3.0/24".parse().unwrap(),
            record: rec("other"),
            revision: 1,
        }];
        let ClaimPlan::Create(order) = plan_claim(
            &cfg(),
            "n1",
            Some("10.244.3.0/24".parse().unwrap()),
            &existing,
        ) else {
            panic!("expected create");
        };
        assert!(!order.contains(&"10.244.3.0/24".parse().unwrap()));
    }
}
