//! Answering one question from a [`Snapshot`]: the records, NODATA, NXDOMAIN, or "not ours".
//!
//! This is the only place that turns snapshot nodes into wire records; it does not parse or
//! encode messages (that is `handle`'s), so it can be tested question by question.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::names::parse_dashed;
use crate::snapshot::{Node, PodRecords, Snapshot, CLUSTER_TTL};

/// SOA timers (refresh, retry, expire), as CoreDNS serves them; nothing transfers the zone.
const SOA_REFRESH: i32 = 7200;
const SOA_RETRY: i32 = 1800;
const SOA_EXPIRE: i32 = 86_400;
/// The total SRV weight shared out among the records of one name (CoreDNS: 100 / count each).
const SRV_TOTAL_WEIGHT: u16 = 100;

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The name has records of the type.
    Found {
        answers: Vec<Record>,
        additionals: Vec<Record>,
    },
    /// The name exists, with no record of the type.
    NoData,
    /// The name is under the cluster domain and does not exist.
    NxDomain,
    /// The name is not under the cluster domain.
    Outside,
}

/// Looks `qname`/`qtype` up in `snapshot`.
pub(crate) fn lookup(snapshot: &Snapshot, qname: &Name, qtype: RecordType) -> Lookup {
    if !snapshot.domain.zone_of(qname) {
        return Lookup::Outside;
    }
    let key = key_of(qname);
    if key == snapshot.domain_key && matches!(qtype, RecordType::SOA | RecordType::ANY) {
        return Lookup::Found {
            answers: vec![soa_record(snapshot)],
            additionals: Vec::new(),
        };
    }
    if let Some(node) = snapshot.names.get(&key) {
        return from_node(snapshot, node, qname, qtype);
    }
    match pod_ip(snapshot, &key) {
        Some(ip) => {
            let mut node = Node::default();
            node.add_ip(ip);
            from_node(snapshot, &node, qname, qtype)
        }
        None => Lookup::NxDomain,
    }
}

/// The SOA of the cluster domain, for the authority section of negative answers.
pub(crate) fn soa_record(snapshot: &Snapshot) -> Record {
    let under = |label: &str| {
        Name::from_ascii(label)
            .and_then(|name| name.append_domain(&snapshot.domain))
            .unwrap_or_else(|_| snapshot.domain.clone())
    };
    let soa = SOA::new(
        under("ns.dns"),
        under("hostmaster"),
        snapshot.serial,
        SOA_REFRESH,
        SOA_RETRY,
        SOA_EXPIRE,
        CLUSTER_TTL,
    );
    Record::from_rdata(snapshot.domain.clone(), CLUSTER_TTL, RData::SOA(soa))
}

/// The snapshot key of a name: lowercase text with the trailing dot.
fn key_of(name: &Name) -> String {
    let mut key = name.to_lowercase().to_ascii();
    if !key.ends_with('.') {
        key.push('.');
    }
    key
}

/// The address of `DASHED-IP.NS.pod.DOMAIN.` when pod names answer it.
fn pod_ip(snapshot: &Snapshot, key: &str) -> Option<IpAddr> {
    let rest = key.strip_suffix(&snapshot.domain_key)?;
    let rest = rest.strip_suffix("pod.")?;
    let mut labels = rest.strip_suffix('.')?.split('.');
    let (Some(host), Some(namespace), None) = (labels.next(), labels.next(), labels.next()) else {
        return None;
    };
    let ip = parse_dashed(host)?;
    match snapshot.pods {
        PodRecords::Disabled => None,
        PodRecords::Insecure => Some(ip),
        PodRecords::Verified => snapshot
            .pod_ips
            .contains(&(namespace.to_owned(), ip))
            .then_some(ip),
    }
}

fn from_node(snapshot: &Snapshot, node: &Node, qname: &Name, qtype: RecordType) -> Lookup {
    let record = |rdata| Record::from_rdata(qname.clone(), CLUSTER_TTL, rdata);
    if let Some(alias) = &node.cname {
        // A CNAME answers every type at its name (RFC 1034 §3.6.2); the client follows it.
        return Lookup::Found {
            answers: vec![record(RData::CNAME(CNAME(alias.clone())))],
            additionals: Vec::new(),
        };
    }
    let mut answers = Vec::new();
    let mut additionals = Vec::new();
    let any = qtype == RecordType::ANY;
    if any || qtype == RecordType::A {
        answers.extend(node.a.iter().map(|ip| record(RData::A(A(*ip)))));
    }
    if any || qtype == RecordType::AAAA {
        answers.extend(node.aaaa.iter().map(|ip| record(RData::AAAA(AAAA(*ip)))));
    }
    if (any || qtype == RecordType::SRV) && !node.srv.is_empty() {
        let count = u16::try_from(node.srv.len()).unwrap_or(u16::MAX);
        let weight = SRV_TOTAL_WEIGHT / count;
        // Several ports of one Service share a target: its addresses go in once.
        let mut targets_added = BTreeSet::new();
        for (port, target_key) in &node.srv {
            let Ok(target) = Name::from_ascii(target_key) else {
                continue;
            };
            answers.push(record(RData::SRV(SRV::new(
                0,
                weight,
                *port,
                target.clone(),
            ))));
            if let Some(target_node) = snapshot.names.get(target_key) {
                if targets_added.insert(target_key) {
                    additionals.extend(address_records(&target, target_node));
                }
            }
        }
    }
    if answers.is_empty() {
        Lookup::NoData
    } else {
        Lookup::Found {
            answers,
            additionals,
        }
    }
}

fn address_records<'a>(name: &'a Name, node: &'a Node) -> impl Iterator<Item = Record> + 'a {
    let record = move |rdata| Record::from_rdata(name.clone(), CLUSTER_TTL, rdata);
    let a = node.a.iter().map(move |ip| record(RData::A(A(*ip))));
    let aaaa = node
        .aaaa
        .iter()
        .map(move |ip| record(RData::AAAA(AAAA(*ip))));
    a.chain(aaaa)
}
