//! The proxy's nftables table, `ip podnet_proxy`, compiled from a [`Plan`]. The agent's proxy
//! controller is its only owner. The per-packet work is a fixed number of map lookups, however
//! many Services there are (kube-proxy's nftables mode is the model):
//!
//! ```text
//! nat_prerouting / nat_output (nat, dstnat):
//!     ip daddr . meta l4proto . th dport vmap @service_ips        cluster IP:port -> goto dnat-P-K | svc-… | drop
//!     fib daddr type local meta l4proto . th dport vmap @service_nodeports   -> goto ext[-masq]-P-K | ext-… | drop
//! dnat-P-K (one per protocol P and endpoint count K in use, shared by every such Service):
//!     meta l4proto P dnat ip to ip daddr . P dport . numgen random mod K map @endpoints_P
//! ext-P-K / ext-masq-P-K: [jump mark_masq] dnat ip to P dport . numgen random mod K map @nodeport_endpoints_P
//! endpoints_P:          (cluster IP, port, index) -> endpoint address . port, every Service's
//! nodeport_endpoints_P: (node port, index) -> endpoint
//! svc-…, ext-…, ep-… (session affinity only, per Service): [ip saddr @aff-… goto ep-…] numgen vmap;
//!     ep-…: update @aff-… { ip saddr } dnat ip to ADDR:PORT
//! nat_postrouting (nat, srcnat):
//!     ct status dnat ip saddr . ip daddr @hairpin masquerade       a pod reaching itself
//!     meta mark & MASQ == MASQ masquerade                          node port, policy Cluster
//! filter_input / filter_forward / filter_output (filter, filter - 10):
//!     ip daddr . meta l4proto . th dport vmap @no_endpoint_ips     -> goto reject
//!     (input) fib daddr type local meta l4proto . th dport vmap @no_endpoint_nodeports
//! reject-chain:  meta l4proto tcp reject with tcp reset ; reject          (ICMP port unreachable)
//! ```
//!
//! Services without affinity own no object: they are elements of `service_ips` and
//! `endpoints`, so a full sync of 10,000 Services is a few maps' elements, not 10,000 chains
//! and sets (nft takes tens of seconds over that many sets), and a change is element edits.
//!
//! A Service without usable endpoints is not in `service_ips` but in `no_endpoint_ips`, so its
//! packets are left untranslated and rejected by the filter chains; one with endpoints only
//! elsewhere under a `Local` policy is dropped (kube-proxy's behaviour). The chains are named
//! after the Service port, so `nft list table ip podnet_proxy` reads like the Services.

use std::collections::BTreeSet;

use podnet_nft_model::rule::AddrType;
use podnet_nft_model::L4;
use podnet_nft_model::{
    BaseChain, Chain, ChainType, Element, Elements, Expr, Family, Field, Hook, KeyType, Map,
    MapValue, Policy, Priority, Reject, Rule, Set, SetFlag, StdPriority, Table, Value, Verdict,
    SERVICE_MASQ_MARK, SERVICE_NAT_MARK,
};

use crate::plan::{Plan, PortId, PortPlan, Target};

/// The proxy's table (family ip).
pub const TABLE: &str = "podnet_proxy";
const SERVICE_IPS: &str = "service_ips";
/// The endpoints map of a protocol: `endpoints_tcp` — (cluster IP, port, index) → endpoint
/// address and port, for every Service without affinity — or `nodeport_endpoints_tcp` —
/// (node port, index) → endpoint. One map per protocol: nft 1.0.6 refuses, in a later
/// transaction, a `th dport` key after a protocol match ("conflicting protocols").
fn endpoints_map(proto: L4, node_port: bool) -> String {
    let kind = if node_port {
        "nodeport_endpoints"
    } else {
        "endpoints"
    };
    format!("{kind}_{}", proto.as_str())
}

fn dport_field(proto: L4) -> Field {
    match proto {
        L4::Tcp => Field::TcpDport,
        L4::Udp => Field::UdpDport,
        L4::Sctp => Field::SctpDport,
    }
}
const SERVICE_NODEPORTS: &str = "service_nodeports";
const NO_ENDPOINT_IPS: &str = "no_endpoint_ips";
const NO_ENDPOINT_NODEPORTS: &str = "no_endpoint_nodeports";
const HAIRPIN: &str = "hairpin";
const REJECT: &str = "reject-chain";
const MARK_MASQ: &str = "mark_masq";
/// nftables' `dstnat` priority as a number.
const DSTNAT: i32 = -100;

fn svc_chain(id: &PortId) -> String {
    format!("svc-{id}")
}

fn ext_chain(id: &PortId) -> String {
    format!("ext-{id}")
}

fn ep_chain(id: &PortId, t: &Target) -> String {
    format!("ep-{id}/{}/{}", t.addr, t.port)
}

fn aff_set(id: &PortId, t: &Target) -> String {
    format!("aff-{id}/{}/{}", t.addr, t.port)
}

fn base(kind: ChainType, hook: Hook, priority: Priority) -> BaseChain {
    BaseChain {
        kind,
        hook,
        priority,
        policy: Policy::Accept,
    }
}

/// Tells the plugin's hostPort hairpin masquerade to leave this connection alone.
fn mark_service() -> Expr {
    Expr::MarkSetBits(SERVICE_NAT_MARK)
}

fn proto_match(id: &PortId) -> Expr {
    Expr::eq(Field::MetaL4proto, Value::Proto(id.proto))
}

/// The rules that pick one of `targets` and translate to it; with affinity, the endpoint
/// chains and sets they use are added to `chains` / `sets`.
fn dispatch(
    plan: &PortPlan,
    targets: &[Target],
    chains: &mut Vec<Chain>,
    sets: &mut Vec<Set>,
    have: &mut BTreeSet<String>,
) -> Vec<Rule> {
    let id = &plan.id;
    match plan.affinity {
        None => {
            let dnat = match targets {
                [one] => Expr::DnatTo {
                    addr: one.addr,
                    port: one.port,
                },
                many => Expr::DnatRandom(many.iter().map(|t| (t.addr, t.port)).collect()),
            };
            vec![Rule::new([proto_match(id), mark_service(), dnat])]
        }
        Some(timeout) => {
            let mut rules = Vec::new();
            for t in targets {
                let (chain, set) = (ep_chain(id, t), aff_set(id, t));
                if have.insert(chain.clone()) {
                    let mut s = Set::new(&set, &[KeyType::Ipv4Addr], Elements::Kept);
                    s.flags = vec![SetFlag::Dynamic, SetFlag::Timeout];
                    s.timeout = Some(timeout);
                    sets.push(s);
                    let rule = Rule::new([
                        Expr::UpdateSet {
                            set: set.clone(),
                            key: vec![Field::IpSaddr],
                        },
                        proto_match(id),
                        mark_service(),
                        Expr::DnatTo {
                            addr: t.addr,
                            port: t.port,
                        },
                    ]);
                    chains.push(Chain::regular(&chain, vec![rule]));
                }
                rules.push(Rule::new([
                    Expr::in_set(&[Field::IpSaddr], &set),
                    Verdict::Goto(chain).into(),
                ]));
            }
            let pick = targets
                .iter()
                .map(|t| Verdict::Goto(ep_chain(id, t)))
                .collect();
            rules.push(Rule::new([Expr::NumgenVmap(pick)]));
            rules
        }
    }
}

fn ip_port_key(plan: &PortPlan) -> Vec<Value> {
    vec![
        Value::Ipv4(plan.cluster_ip),
        Value::Proto(plan.id.proto),
        Value::Port(plan.id.port),
    ]
}

/// One shared dispatch chain: the Services of one protocol with `count` endpoints pick one
/// at random by a lookup of (address or node port, index) in the endpoints map. `node_port`:
/// `Some(masquerade)` for node-port traffic (keyed by protocol and port, not address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Dispatch {
    proto: L4,
    count: usize,
    node_port: Option<bool>,
}

impl Dispatch {
    fn chain(&self) -> String {
        let kind = match self.node_port {
            None => "dnat",
            Some(false) => "ext",
            Some(true) => "ext-masq",
        };
        format!("{kind}-{}-{}", self.proto.as_str(), self.count)
    }

    fn build(&self) -> Chain {
        let n = self.count as u32;
        let dport = dport_field(self.proto);
        let key = match self.node_port {
            None => vec![Field::IpDaddr, dport, Field::NumgenRandom(n)],
            Some(_) => vec![dport, Field::NumgenRandom(n)],
        };
        let map = endpoints_map(self.proto, self.node_port.is_some());
        let mut rules = Vec::new();
        if self.node_port == Some(true) {
            rules.push(Rule::new([Verdict::Jump(MARK_MASQ.into()).into()]));
        }
        rules.push(Rule::new([
            Expr::eq(Field::MetaL4proto, Value::Proto(self.proto)),
            mark_service(),
            Expr::DnatMap { key, map },
        ]));
        Chain::regular(&self.chain(), rules)
    }
}

/// The whole table for `plan`.
pub fn table(plan: &Plan) -> Table {
    let mut chains = Vec::new();
    let mut sets = Vec::new();
    let mut have = BTreeSet::new();
    let (mut service_ips, mut nodeports, mut no_ips, mut no_nodeports) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut hairpin = BTreeSet::new();
    let mut endpoints: Vec<(L4, Element)> = Vec::new();
    let mut nodeport_endpoints: Vec<(L4, Element)> = Vec::new();
    let mut dispatchers = BTreeSet::new();
    for p in plan.ports.values() {
        let id = &p.id;
        if !p.internal.is_empty() {
            let chain = if p.affinity.is_some() {
                let rules = dispatch(p, &p.internal, &mut chains, &mut sets, &mut have);
                chains.push(Chain::regular(&svc_chain(id), rules));
                svc_chain(id)
            } else {
                // The shared chain for this protocol and endpoint count, and the endpoints as
                // elements: no object per Service (see the module doc).
                for (i, t) in p.internal.iter().enumerate() {
                    let key = vec![
                        Value::Ipv4(p.cluster_ip),
                        Value::Port(id.port),
                        Value::Int(i as u32),
                    ];
                    let data = vec![Value::Ipv4(t.addr), Value::Port(t.port)];
                    endpoints.push((id.proto, Element::map(key, data)));
                }
                let d = Dispatch {
                    proto: id.proto,
                    count: p.internal.len(),
                    node_port: None,
                };
                let name = d.chain();
                dispatchers.insert(d);
                name
            };
            service_ips.push(Element::verdict(ip_port_key(p), Verdict::Goto(chain)));
        } else if p.any_endpoints {
            service_ips.push(Element::verdict(ip_port_key(p), Verdict::Drop));
        } else {
            no_ips.push(Element::verdict(
                ip_port_key(p),
                Verdict::Goto(REJECT.into()),
            ));
        }
        hairpin.extend(p.internal.iter().map(|t| t.addr));
        if let Some(np) = &p.node_port {
            let key = vec![Value::Proto(id.proto), Value::Port(np.port)];
            hairpin.extend(np.targets.iter().map(|t| t.addr));
            if np.targets.is_empty() {
                if p.any_endpoints {
                    nodeports.push(Element::verdict(key, Verdict::Drop));
                } else {
                    no_nodeports.push(Element::verdict(key, Verdict::Goto(REJECT.into())));
                }
                continue;
            }
            let chain = if p.affinity.is_some() {
                let mut rules = Vec::new();
                if np.masquerade {
                    rules.push(Rule::new([Verdict::Jump(MARK_MASQ.into()).into()]));
                }
                rules.extend(dispatch(p, &np.targets, &mut chains, &mut sets, &mut have));
                chains.push(Chain::regular(&ext_chain(id), rules));
                ext_chain(id)
            } else {
                for (i, t) in np.targets.iter().enumerate() {
                    let k = vec![Value::Port(np.port), Value::Int(i as u32)];
                    let data = vec![Value::Ipv4(t.addr), Value::Port(t.port)];
                    nodeport_endpoints.push((id.proto, Element::map(k, data)));
                }
                let d = Dispatch {
                    proto: id.proto,
                    count: np.targets.len(),
                    node_port: Some(np.masquerade),
                };
                let name = d.chain();
                dispatchers.insert(d);
                name
            };
            nodeports.push(Element::verdict(key, Verdict::Goto(chain)));
        }
    }
    chains.extend(dispatchers.iter().map(Dispatch::build));
    let ip_key = [KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService];
    let port_key = [KeyType::InetProto, KeyType::InetService];
    let mut t = Table::new(Family::Ip, TABLE);
    t.maps = vec![
        Map::new(
            SERVICE_IPS,
            &ip_key,
            MapValue::Verdict,
            Elements::Exactly(service_ips),
        ),
        Map::new(
            SERVICE_NODEPORTS,
            &port_key,
            MapValue::Verdict,
            Elements::Exactly(nodeports),
        ),
        Map::new(
            NO_ENDPOINT_IPS,
            &ip_key,
            MapValue::Verdict,
            Elements::Exactly(no_ips),
        ),
        Map::new(
            NO_ENDPOINT_NODEPORTS,
            &port_key,
            MapValue::Verdict,
            Elements::Exactly(no_nodeports),
        ),
    ];
    let pairs = hairpin
        .into_iter()
        .map(|a| Element::key(vec![Value::Ipv4(a), Value::Ipv4(a)]))
        .collect();
    for proto in [L4::Tcp, L4::Udp, L4::Sctp] {
        let pick = |v: &[(L4, Element)]| -> Vec<Element> {
            v.iter()
                .filter(|(p, _)| *p == proto)
                .map(|(_, e)| e.clone())
                .collect()
        };
        let port = dport_field(proto).to_string();
        let mut m = Map::new(
            &endpoints_map(proto, false),
            &[],
            MapValue::Data(vec![]),
            Elements::Exactly(pick(&endpoints)),
        );
        m.typeof_ = Some(format!(
            "ip daddr . {port} . numgen random mod 1 : ip daddr . {port}"
        ));
        t.maps.push(m);
        let mut m = Map::new(
            &endpoints_map(proto, true),
            &[],
            MapValue::Data(vec![]),
            Elements::Exactly(pick(&nodeport_endpoints)),
        );
        m.typeof_ = Some(format!("{port} . numgen random mod 1 : ip daddr . {port}"));
        t.maps.push(m);
    }
    t.sets = vec![Set::new(
        HAIRPIN,
        &[KeyType::Ipv4Addr, KeyType::Ipv4Addr],
        Elements::Exactly(pairs),
    )];
    t.sets.extend(sets);
    t.chains = static_chains();
    t.chains.extend(chains);
    t
}

fn static_chains() -> Vec<Chain> {
    let lookup = || {
        vec![
            Rule::new([Expr::Vmap {
                key: vec![Field::IpDaddr, Field::MetaL4proto, Field::ThDport],
                map: SERVICE_IPS.into(),
            }]),
            Rule::new([
                Expr::eq(Field::FibDaddrType, AddrType::Local),
                Expr::Vmap {
                    key: vec![Field::MetaL4proto, Field::ThDport],
                    map: SERVICE_NODEPORTS.into(),
                },
            ]),
        ]
    };
    let no_endpoints = || {
        Rule::new([Expr::Vmap {
            key: vec![Field::IpDaddr, Field::MetaL4proto, Field::ThDport],
            map: NO_ENDPOINT_IPS.into(),
        }])
    };
    let dstnat = Priority::Named(StdPriority::Dstnat, 0);
    let filter = Priority::Named(StdPriority::Filter, -10);
    vec![
        Chain::base(
            "nat_prerouting",
            base(ChainType::Nat, Hook::Prerouting, dstnat),
            lookup(),
        ),
        Chain::base(
            "nat_output",
            base(ChainType::Nat, Hook::Output, Priority::Number(DSTNAT)),
            lookup(),
        ),
        Chain::base(
            "nat_postrouting",
            base(
                ChainType::Nat,
                Hook::Postrouting,
                Priority::Named(StdPriority::Srcnat, 0),
            ),
            vec![
                Rule::new([
                    Expr::eq(Field::CtStatus, podnet_nft_model::rule::CtStatus::Dnat),
                    Expr::in_set(&[Field::IpSaddr, Field::IpDaddr], HAIRPIN),
                    Expr::Masquerade,
                ]),
                Rule::new([Expr::mark_has(SERVICE_MASQ_MARK), Expr::Masquerade]),
            ],
        ),
        Chain::base(
            "filter_input",
            base(ChainType::Filter, Hook::Input, filter),
            vec![
                no_endpoints(),
                Rule::new([
                    Expr::eq(Field::FibDaddrType, AddrType::Local),
                    Expr::Vmap {
                        key: vec![Field::MetaL4proto, Field::ThDport],
                        map: NO_ENDPOINT_NODEPORTS.into(),
                    },
                ]),
            ],
        ),
        Chain::base(
            "filter_forward",
            base(ChainType::Filter, Hook::Forward, filter),
            vec![no_endpoints()],
        ),
        Chain::base(
            "filter_output",
            base(ChainType::Filter, Hook::Output, filter),
            vec![no_endpoints()],
        ),
        Chain::regular(
            REJECT,
            vec![
                Rule::new([
                    Expr::eq(Field::MetaL4proto, Value::Proto(podnet_nft_model::L4::Tcp)),
                    Expr::Reject(Reject::TcpReset),
                ]),
                Rule::new([Expr::Reject(Reject::Icmp)]),
            ],
        ),
        Chain::regular(
            MARK_MASQ,
            vec![Rule::new([Expr::MarkSetBits(SERVICE_MASQ_MARK)])],
        ),
    ]
}

#[cfg(test)]
mod tests;
