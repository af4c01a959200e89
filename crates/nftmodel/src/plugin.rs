//! The plugin's tables — `bridge podnet` (anti-spoofing) and `ip podnet` (hostPort DNAT,
//! masquerade) — built on the model, and the transactions of a pod's ADD and DEL. The plugin is
//! the only owner of these two tables; nothing here names another component's table (the agent's
//! node addresses reach the masquerade chains as [`NONAT_MARK`] on the packet).
//!
//! The static part (tables, sets, maps, base chains and their few rules) is only sent when the
//! fast elements-only script fails because it is missing; its rules are written as
//! `flush chain` + `add rule` inside the same transaction, so re-sending it is atomic and leaves
//! the same rules.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::marks::{NONAT_MARK, SERVICE_NAT_MARK};
use crate::model::{HostPort, PodEntry};
use crate::rule::{AddrType, CtStatus, EtherType, Expr, Field as F, Rule, Verdict};
use crate::ruleset::{
    BaseChain, Chain, ChainType, Element, Elements, Family, Hook, KeyType, Map, MapValue, Policy,
    Priority, Set, StdPriority, Table, TableId, Value,
};
use crate::script::Transaction;
use crate::wire::Change;

/// Name of podnet's tables (one in family `bridge`, one in family `ip`).
pub const TABLE: &str = "podnet";

/// Bridge-family priority that runs before anything else sees a pod's frame.
const ANTISPOOF_PRIORITY: i32 = -300;
/// nat output: the standard `dstnat` value (-100), spelled as a number like nft lists it.
const OUTPUT_PRIORITY: i32 = -100;
/// Never masqueraded: multicast stays on the link it was sent to.
const MULTICAST: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4);

fn bridge_id() -> TableId {
    TableId {
        family: Family::Bridge,
        name: TABLE.into(),
    }
}

fn ip_id() -> TableId {
    TableId {
        family: Family::Ip,
        name: TABLE.into(),
    }
}

/// `table bridge podnet`: a frame from a pod port passes only if (port, source MAC, source IP)
/// — or for ARP (port, MAC, sender IP) with the ARP sender MAC matching too — belongs to that
/// pod; everything else from a pod port (other addresses, IPv6 router advertisements, other
/// ethertypes) is dropped and counted.
pub fn bridge_table() -> Table {
    let ports = "pod_ports";
    let mut t = Table::new(Family::Bridge, TABLE);
    t.sets = vec![
        Set::new("pod_ifnames", &[KeyType::Ifname], Elements::Kept),
        Set::new(
            ports,
            &[KeyType::Ifname, KeyType::EtherAddr, KeyType::Ipv4Addr],
            Elements::Kept,
        ),
    ];
    let antispoof = BaseChain {
        kind: ChainType::Filter,
        hook: Hook::Prerouting,
        priority: Priority::Number(ANTISPOOF_PRIORITY),
        policy: Policy::Accept,
    };
    t.chains = vec![Chain::base(
        "antispoof",
        antispoof,
        vec![
            Rule::new([
                Expr::not_in_set(&[F::Iifname], "pod_ifnames"),
                Verdict::Accept.into(),
            ]),
            Rule::new([
                Expr::eq(F::EtherType, EtherType::Ip),
                Expr::in_set(&[F::Iifname, F::EtherSaddr, F::IpSaddr], ports),
                Verdict::Accept.into(),
            ]),
            Rule::new([
                Expr::eq(F::EtherType, EtherType::Arp),
                Expr::in_set(&[F::Iifname, F::EtherSaddr, F::ArpSaddrIp], ports),
                Expr::in_set(&[F::Iifname, F::ArpSaddrEther, F::ArpSaddrIp], ports),
                Verdict::Accept.into(),
            ]),
            Rule::new([Expr::Counter, Verdict::Drop.into()]),
        ],
    )];
    t
}

/// `table ip podnet`, with the masquerade chain of `network`'s pods when given:
///
/// - hostPort DNAT only for destinations that are local addresses (`fib daddr type local`,
///   CVE-2025-67499), from outside (prerouting) and from the node itself (output);
/// - masquerade: DNATed traffic from local pods (so replies come back through the node), and
///   pods whose network masquerades, through their network's chain.
pub fn ip_table(network: Option<&PodEntry>) -> Table {
    let mut t = Table::new(Family::Ip, TABLE);
    t.sets = vec![Set::new("pods", &[KeyType::Ipv4Addr], Elements::Kept)];
    let (proto, port, ip) = (KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr);
    t.maps = vec![
        Map::new("masq_src", &[ip], MapValue::Verdict, Elements::Kept),
        Map::new(
            "hostports",
            &[proto, port],
            MapValue::Data(vec![ip, port]),
            Elements::Kept,
        ),
        Map::new(
            "hostports_ip",
            &[ip, proto, port],
            MapValue::Data(vec![ip, port]),
            Elements::Kept,
        ),
    ];
    let nat = |hook, priority| BaseChain {
        kind: ChainType::Nat,
        hook,
        priority,
        policy: Policy::Accept,
    };
    let to_hostports = || {
        vec![Rule::new([
            Expr::eq(F::FibDaddrType, AddrType::Local),
            Verdict::Jump("hostports".into()).into(),
        ])]
    };
    t.chains = vec![
        Chain::base(
            "prerouting",
            nat(Hook::Prerouting, Priority::Named(StdPriority::Dstnat, 0)),
            to_hostports(),
        ),
        Chain::base(
            "output",
            nat(Hook::Output, Priority::Number(OUTPUT_PRIORITY)),
            to_hostports(),
        ),
        Chain::regular(
            "hostports",
            vec![
                Rule::new([Expr::DnatMap {
                    key: vec![F::IpDaddr, F::MetaL4proto, F::ThDport],
                    map: "hostports_ip".into(),
                }]),
                Rule::new([Expr::DnatMap {
                    key: vec![F::MetaL4proto, F::ThDport],
                    map: "hostports".into(),
                }]),
            ],
        ),
        Chain::base(
            "postrouting",
            nat(Hook::Postrouting, Priority::Named(StdPriority::Srcnat, 0)),
            vec![
                // Not a Service's translation (the proxy masquerades its own hairpin).
                Rule::new([
                    Expr::eq(F::CtStatus, CtStatus::Dnat),
                    Expr::mark_lacks(SERVICE_NAT_MARK),
                    Expr::in_set(&[F::IpSaddr], "pods"),
                    Expr::Masquerade,
                ]),
                Rule::new([Expr::Vmap {
                    key: vec![F::IpSaddr],
                    map: "masq_src".into(),
                }]),
            ],
        ),
    ];
    if let Some(pod) = network {
        t.chains.push(network_chain(pod));
    }
    t
}

/// Name of a network's masquerade chain: a safe identifier plus a hash of the exact name.
pub fn masq_chain(network: &str) -> String {
    let safe: String = network
        .chars()
        .take(24)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("masq_{safe}_{:08x}", fnv1a(network.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u32::from(*b)).wrapping_mul(PRIME))
}

/// A network's masquerade chain: everything outside the pod network, except multicast and
/// packets the agent marked as going to a cluster node ([`NONAT_MARK`]), so pods and nodes talk
/// without NAT as the Kubernetes model requires.
fn network_chain(pod: &PodEntry) -> Chain {
    Chain::regular(
        &masq_chain(&pod.network),
        vec![
            Rule::new([Expr::mark_has(NONAT_MARK), Verdict::Return.into()]),
            Rule::new([
                Expr::ne(F::IpDaddr, pod.cluster_cidr),
                Expr::ne(F::IpDaddr, MULTICAST),
                Expr::Masquerade,
            ]),
        ],
    )
}

fn host_port_element(hp: &HostPort, pod: &PodEntry) -> (&'static str, Element) {
    let (proto, port) = (Value::Proto(hp.proto), Value::Port(hp.host_port));
    let to = vec![Value::Ipv4(pod.ip), Value::Port(hp.pod_port)];
    match hp.host_ip {
        Some(ip) => (
            "hostports_ip",
            Element::map(vec![Value::Ipv4(ip), proto, port], to),
        ),
        None => ("hostports", Element::map(vec![proto, port], to)),
    }
}

/// Every element of one pod: (table, set or map, elements), in declaration order.
fn pod_elements(pod: &PodEntry) -> Vec<(TableId, &'static str, Vec<Element>)> {
    let veth = Value::Ifname(pod.host_veth.clone());
    let mut out = vec![
        (
            bridge_id(),
            "pod_ifnames",
            vec![Element::key(vec![veth.clone()])],
        ),
        (
            bridge_id(),
            "pod_ports",
            vec![Element::key(vec![
                veth,
                Value::Ether(pod.mac),
                Value::Ipv4(pod.ip),
            ])],
        ),
        (
            ip_id(),
            "pods",
            vec![Element::key(vec![Value::Ipv4(pod.ip)])],
        ),
    ];
    if pod.masquerade {
        let jump = Verdict::Jump(masq_chain(&pod.network));
        let e = Element::verdict(vec![Value::Ipv4(pod.ip)], jump);
        out.push((ip_id(), "masq_src", vec![e]));
    }
    for map in ["hostports", "hostports_ip"] {
        let elems: Vec<Element> = pod
            .host_ports
            .iter()
            .map(|hp| host_port_element(hp, pod))
            .filter(|(m, _)| *m == map)
            .map(|(_, e)| e)
            .collect();
        if !elems.is_empty() {
            out.push((ip_id(), map, elems));
        }
    }
    out
}

/// Adds the pod's elements ([`Change::Add`]), or adds then deletes them ([`Change::Remove`]):
/// exactly what [`crate::wire`]'s batch sends.
fn with_elements(mut tx: Transaction, change: Change, pod: &PodEntry) -> Transaction {
    let elems = pod_elements(pod);
    for (table, set, e) in &elems {
        tx = tx.add_elements(table, set, e.clone());
    }
    if change == Change::Remove {
        for (table, set, e) in elems {
            tx = tx.delete_elements(&table, set, e);
        }
    }
    tx
}

/// The static ruleset: both tables declared with their base chains' rules.
pub fn base_transaction() -> Transaction {
    Transaction::new()
        .install(&bridge_table())
        .install(&ip_table(None))
}

pub fn render_base() -> String {
    base_transaction().render()
}

/// ADD, fast form (`full = false`): only the pod's elements. Fails (changing nothing) if the
/// static ruleset or the network's chain is missing; then the full form is sent: static ruleset
/// + the network's chain + the pod's elements.
pub fn add_transaction(pod: &PodEntry, full: bool) -> Transaction {
    let mut tx = Transaction::new();
    if full {
        tx = tx.install(&bridge_table()).install(&ip_table(Some(pod)));
    }
    with_elements(tx, Change::Add, pod)
}

pub fn render_add(pod: &PodEntry, full: bool) -> String {
    add_transaction(pod, full).render()
}

/// DEL: declare, add, then delete the pod's elements in one transaction. Adding first makes the
/// delete succeed whether or not the elements were there (nft 1.0.6 has no `destroy`). Rules are
/// not touched.
pub fn delete_transaction(pod: &PodEntry) -> Transaction {
    let tx = Transaction::new()
        .declare(&bridge_table())
        .declare(&ip_table(Some(pod)));
    with_elements(tx, Change::Remove, pod)
}

pub fn render_delete(pod: &PodEntry) -> String {
    delete_transaction(pod).render()
}

/// Only the pod's elements: added, or added then deleted (the script form of [`crate::wire`]'s
/// batch).
pub fn render_elements(change: Change, pod: &PodEntry) -> String {
    with_elements(Transaction::new(), change, pod).render()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
