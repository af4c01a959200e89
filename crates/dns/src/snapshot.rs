//! The [`Snapshot`]: every name under the cluster domain podnet answers for, with its records,
//! in one immutable value that the server swaps whole when Services, EndpointSlices or Pods
//! change. Building it from the objects lives in `build`; answering from it in `lookup`.
//!
//! Names are keyed by their lowercase text with the trailing dot (`web.default.svc.cluster.local.`).
//! A name with no records of its own but names below it (`default.svc.cluster.local.`, an
//! "empty non-terminal") is present with an empty [`Node`], so it answers NODATA, not NXDOMAIN.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;

/// The cluster domain when none is configured (as the kubelet's `--cluster-domain`).
pub const DEFAULT_DOMAIN: &str = "cluster.local";
/// The TTL of every record podnet serves, in seconds (CoreDNS's kubernetes plugin default).
pub const CLUSTER_TTL: u32 = 5;

/// How `a-b-c-d.NS.pod.DOMAIN` names are answered (CoreDNS's `pods` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodRecords {
    /// No pod names: everything under `pod.DOMAIN` is NXDOMAIN.
    Disabled,
    /// Any well-formed dashed IP answers, in any namespace, with no check against the pods
    /// (CoreDNS's `pods insecure`, the kubeadm default, kept for compatibility with clients that
    /// rely on it, e.g. wildcard certificates for `*.NS.pod.cluster.local`).
    #[default]
    Insecure,
    /// Only the IP of a known, non-host-network pod in that namespace answers
    /// (CoreDNS's `pods verified`).
    Verified,
}

/// What a snapshot is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The cluster domain, without or with the trailing dot.
    pub domain: String,
    /// How pod names are answered.
    pub pods: PodRecords,
    /// The SOA serial; the agent passes the datastore revision the snapshot was built from.
    pub serial: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            domain: DEFAULT_DOMAIN.to_owned(),
            pods: PodRecords::default(),
            serial: 1,
        }
    }
}

/// Why a snapshot could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The cluster domain is not a sequence of DNS labels.
    #[error("invalid cluster domain {domain:?}: {reason}")]
    InvalidDomain { domain: String, reason: String },
}

/// The records of one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) a: BTreeSet<Ipv4Addr>,
    pub(crate) aaaa: BTreeSet<Ipv6Addr>,
    /// An ExternalName Service's alias; a node with one has no other records.
    pub(crate) cname: Option<Name>,
    /// `(port, target key)`; weights are shared out when answering.
    pub(crate) srv: BTreeSet<(u16, String)>,
}

impl Node {
    /// Adds an address as an A or AAAA record.
    pub(crate) fn add_ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                self.a.insert(v4);
            }
            IpAddr::V6(v6) => {
                self.aaaa.insert(v6);
            }
        }
    }
}

/// Every cluster name and its records, for one cluster domain. Cheap to share (`Arc`), never
/// mutated after [`Snapshot::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The domain as a lowercase FQDN, for zone checks.
    pub(crate) domain: Name,
    /// The domain's key text, `cluster.local.`.
    pub(crate) domain_key: String,
    pub(crate) pods: PodRecords,
    pub(crate) serial: u32,
    pub(crate) names: HashMap<String, Node>,
    /// `(namespace, IP)` of every known pod, for [`PodRecords::Verified`].
    pub(crate) pod_ips: HashSet<(String, IpAddr)>,
}

impl Snapshot {
    /// A snapshot with no Services or Pods: cluster names are NXDOMAIN (pod names as
    /// `config.pods` says), everything else is forwarded.
    pub fn empty(config: &Config) -> Result<Self, SnapshotError> {
        let domain = parse_domain(&config.domain)?;
        let domain_key = domain.to_ascii();
        let mut snapshot = Snapshot {
            domain,
            domain_key,
            pods: config.pods,
            serial: config.serial,
            names: HashMap::new(),
            pod_ips: HashSet::new(),
        };
        for zone in ["svc", "pod"] {
            let key = snapshot.key(&[zone]);
            snapshot.node(key);
        }
        Ok(snapshot)
    }

    /// The cluster domain, lowercase, with the trailing dot.
    pub fn domain(&self) -> &str {
        &self.domain_key
    }

    /// How many names the snapshot holds (empty non-terminals included, pod names not).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the snapshot holds no Service names (only the domain's own structure).
    pub fn is_empty(&self) -> bool {
        self.names.values().all(|node| *node == Node::default())
    }

    /// The key of `labels` (most specific first) under the domain: `["web", "default", "svc"]`
    /// → `web.default.svc.cluster.local.`.
    pub(crate) fn key(&self, labels: &[&str]) -> String {
        let mut key = String::new();
        for label in labels {
            key.push_str(label);
            key.push('.');
        }
        key.push_str(&self.domain_key);
        key
    }

    /// The node of `key`, created (with every ancestor down to the domain, so those answer
    /// NODATA) if absent.
    pub(crate) fn node(&mut self, key: String) -> &mut Node {
        let mut rest = key.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.len() < self.domain_key.len() {
                break;
            }
            self.names.entry(parent.to_owned()).or_default();
            rest = parent;
        }
        self.names.entry(key).or_default()
    }
}

/// The cluster domain as a lowercase FQDN, each label a DNS label.
fn parse_domain(text: &str) -> Result<Name, SnapshotError> {
    let invalid = |reason: &str| SnapshotError::InvalidDomain {
        domain: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    if let Some(label) = trimmed
        .split('.')
        .find(|label| !crate::names::is_dns_label(label))
    {
        return Err(invalid(&format!("label {label:?} is not a DNS label")));
    }
    let mut name = Name::from_ascii(&trimmed).map_err(|e| invalid(&e.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}
