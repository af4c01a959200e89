//! Node subnet leases, pure: the key layout, the record a node publishes, which subnet to claim,
//! and reading other nodes' leases as untrusted input.
//!
//! Layout (as flannel's `/coreos.com/network/subnets/`): `/podnet/subnets/10.244.3.0-24` holds
//! the JSON [`LeaseRecord`] of the node that owns 10.244.3.0/24, tied to a datastore lease with a
//! TTL. Claiming is create-if-absent, so two nodes can never hold one key. The agent's `leaser`
//! performs claims and renewals against the datastore; nothing here touches it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::validate::names;

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

/// A lease the agent refused to act on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub key: String,
    pub reason: String,
}

/// The leases of a store read as untrusted input: those safe to install, and those refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseSet {
    pub accepted: Vec<Existing>,
    pub refused: Vec<Refused>,
}

/// Reads raw `(key, value, mod_revision)` entries under [`SUBNETS_PREFIX`] as untrusted input,
/// like CNI stdin: a lease is installed (as a route, a VXLAN peer, a no-NAT address) only if its
/// key names an aligned subnet of exactly the cluster's per-node size inside the cluster CIDR,
/// its record parses, names a valid node and a usable unicast underlay address outside the
/// cluster CIDR, and (vxlan) a unicast VTEP MAC; and if no earlier lease (by revision, then key)
/// already holds an overlapping subnet, the same node name or the same underlay address.
/// Everything else is refused with a reason.
pub fn validate_leases<'a>(
    cfg: &SubnetConfig,
    entries: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> LeaseSet {
    let mut entries: Vec<(&str, &str, i64)> = entries.into_iter().collect();
    entries.sort_by(|a, b| (a.2, a.0).cmp(&(b.2, b.0)));
    let mut out = LeaseSet::default();
    for (key, value, revision) in entries {
        match check_lease(cfg, key, value, revision, &out.accepted) {
            Ok(e) => out.accepted.push(e),
            Err(reason) => out.refused.push(Refused {
                key: key.chars().take(200).collect(),
                reason,
            }),
        }
    }
    out.accepted.sort_by_key(|e| e.subnet);
    out
}

fn check_lease(
    cfg: &SubnetConfig,
    key: &str,
    value: &str,
    revision: i64,
    accepted: &[Existing],
) -> Result<Existing, String> {
    let subnet = parse_key(key).ok_or("malformed key (want /podnet/subnets/A.B.C.D-LEN)")?;
    if subnet.prefix_len() != cfg.subnet_len || !cfg.cluster.contains(&subnet) {
        return Err(format!(
            "subnet {subnet} is not a /{} of the cluster CIDR {}",
            cfg.subnet_len, cfg.cluster
        ));
    }
    let record: LeaseRecord =
        serde_json::from_str(value).map_err(|e| format!("malformed record: {e}"))?;
    if !valid_node_name(&record.node) {
        return Err(format!(
            "node name {:?} is not a DNS-1123 subdomain",
            record.node.chars().take(64).collect::<String>()
        ));
    }
    let ip = record.public_ip;
    if ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_link_local()
        || cfg.cluster.contains(&ip)
    {
        return Err(format!("publicIp {ip} is not a usable underlay address"));
    }
    if let Some(mac) = &record.vtep_mac {
        match parse_mac(mac) {
            Some(m) if m[0] & 1 == 0 && m != [0; 6] => {}
            _ => return Err(format!("vtepMac {mac:?} is not a unicast MAC address")),
        }
    }
    for other in accepted {
        if other.subnet.contains(&subnet) || subnet.contains(&other.subnet) {
            return Err(format!("subnet {subnet} overlaps {}", other.subnet));
        }
        if other.record.node == record.node {
            return Err(format!(
                "node {} already holds {}",
                record.node, other.subnet
            ));
        }
        if other.record.public_ip == ip {
            return Err(format!(
                "publicIp {ip} is already node {}'s",
                other.record.node
            ));
        }
    }
    Ok(Existing {
        subnet,
        record,
        revision,
    })
}

/// A node name as a lease may carry it: a DNS-1123 subdomain (the API server's check for node
/// names, [`names::dns1123_subdomain`]) whose labels are also at most 63 characters each, as a
/// host name's must be.
pub fn valid_node_name(s: &str) -> bool {
    names::dns1123_subdomain(s).is_empty()
        && s.split('.')
            .all(|l| l.len() <= names::DNS1123_LABEL_MAX_LEN)
}

/// Parses a MAC address written `aa:bb:cc:dd:ee:ff` (a lease's `vtepMac`).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
