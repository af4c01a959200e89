//! Golden tests of the renderer: the exact text of each construct.

use super::*;
use crate::model::L4;

fn id(family: Family) -> TableId {
    TableId {
        family,
        name: "t".into(),
    }
}

fn rule(exprs: impl IntoIterator<Item = Expr>) -> String {
    Rule::new(exprs).to_string()
}

#[test]
fn golden_declarations() {
    let mut t = Table::new(Family::Inet, "t");
    let mut cidrs = Set::new("cidrs", &[KeyType::Ipv4Addr], Elements::Kept);
    cidrs.flags = vec![SetFlag::Interval, SetFlag::Timeout];
    t.sets = vec![
        Set::new(
            "ports",
            &[KeyType::Ifname, KeyType::EtherAddr, KeyType::Ipv4Addr],
            Elements::Kept,
        ),
        cidrs,
        Set::new("marks", &[KeyType::Mark], Elements::Kept),
    ];
    t.maps = vec![
        Map::new(
            "hp",
            &[KeyType::InetProto, KeyType::InetService],
            MapValue::Data(vec![KeyType::Ipv4Addr, KeyType::InetService]),
            Elements::Kept,
        ),
        Map::new("v", &[KeyType::Ipv4Addr], MapValue::Verdict, Elements::Kept),
    ];
    t.counters = vec!["dropped".into()];
    let base = |kind, hook, priority, policy| BaseChain {
        kind,
        hook,
        priority,
        policy,
    };
    t.chains = vec![
        Chain::base(
            "pre",
            base(
                ChainType::Filter,
                Hook::Prerouting,
                Priority::Named(StdPriority::Raw, 0),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::base(
            "in",
            base(
                ChainType::Filter,
                Hook::Input,
                Priority::Named(StdPriority::Filter, 5),
                Policy::Drop,
            ),
            vec![],
        ),
        Chain::base(
            "fwd",
            base(
                ChainType::Filter,
                Hook::Forward,
                Priority::Named(StdPriority::Security, 0),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::base(
            "out",
            base(
                ChainType::Route,
                Hook::Output,
                Priority::Named(StdPriority::Mangle, 0),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::base(
            "dnat",
            base(
                ChainType::Nat,
                Hook::Prerouting,
                Priority::Named(StdPriority::Dstnat, 0),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::base(
            "post",
            base(
                ChainType::Nat,
                Hook::Postrouting,
                Priority::Named(StdPriority::Srcnat, -10),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::base(
            "num",
            base(
                ChainType::Filter,
                Hook::Prerouting,
                Priority::Number(-300),
                Policy::Accept,
            ),
            vec![],
        ),
        Chain::regular("plain", vec![]),
    ];
    let got = Transaction::new().declare(&t).render();
    assert_eq!(
        got,
        "add table inet t
add set inet t ports { type ifname . ether_addr . ipv4_addr; }
add set inet t cidrs { type ipv4_addr; flags interval, timeout; }
add set inet t marks { type mark; }
add map inet t hp { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet t v { type ipv4_addr : verdict; }
add counter inet t dropped
add chain inet t pre { type filter hook prerouting priority raw; policy accept; }
add chain inet t in { type filter hook input priority filter + 5; policy drop; }
add chain inet t fwd { type filter hook forward priority security; policy accept; }
add chain inet t out { type route hook output priority mangle; policy accept; }
add chain inet t dnat { type nat hook prerouting priority dstnat; policy accept; }
add chain inet t post { type nat hook postrouting priority srcnat - 10; policy accept; }
add chain inet t num { type filter hook prerouting priority -300; policy accept; }
add chain inet t plain
"
    );
}

#[test]
fn golden_families() {
    let names: Vec<String> = [
        Family::Ip,
        Family::Ip6,
        Family::Inet,
        Family::Arp,
        Family::Bridge,
        Family::Netdev,
    ]
    .into_iter()
    .map(|f| id(f).to_string())
    .collect();
    assert_eq!(
        names,
        ["ip t", "ip6 t", "inet t", "arp t", "bridge t", "netdev t"]
    );
}

#[test]
fn golden_matches() {
    use Field as F;
    let ip = |s: &str| Value::Ipv4(s.parse().unwrap());
    assert_eq!(
        rule([Expr::eq(F::EtherType, crate::rule::EtherType::Arp)]),
        "ether type arp"
    );
    assert_eq!(
        rule([Expr::ne(
            F::IpDaddr,
            Value::Net("10.0.0.0/8".parse().unwrap())
        )]),
        "ip daddr != 10.0.0.0/8"
    );
    assert_eq!(
        rule([Expr::eq(F::IpSaddr, ip("1.2.3.4"))]),
        "ip saddr 1.2.3.4"
    );
    assert_eq!(
        rule([Expr::eq(F::UdpDport, Value::Port(8472))]),
        "udp dport 8472"
    );
    assert_eq!(
        rule([Expr::eq(F::TcpDport, Value::Port(80))]),
        "tcp dport 80"
    );
    assert_eq!(
        rule([Expr::eq(F::MetaL4proto, Value::Proto(L4::Sctp))]),
        "meta l4proto sctp"
    );
    assert_eq!(
        rule([Expr::eq(F::Oifname, Value::Ifname("eth0".into()))]),
        "oifname \"eth0\""
    );
    assert_eq!(
        rule([Expr::eq(F::FibDaddrType, crate::rule::AddrType::Local)]),
        "fib daddr type local"
    );
    assert_eq!(
        rule([Expr::eq(F::CtStatus, crate::rule::CtStatus::Dnat)]),
        "ct status dnat"
    );
    assert_eq!(
        rule([Expr::in_set(
            &[F::Iifname, F::ArpSaddrEther, F::ArpSaddrIp],
            "p"
        )]),
        "iifname . arp saddr ether . arp saddr ip @p"
    );
    assert_eq!(
        rule([Expr::not_in_set(&[F::IpSaddr], "nodes")]),
        "ip saddr != @nodes"
    );
    assert_eq!(
        rule([Expr::mark_has(0x2000)]),
        "meta mark & 0x00002000 == 0x00002000"
    );
    let not_marked = Expr::Match(Match {
        left: vec![F::MetaMark],
        mask: Some(0x4000),
        op: Cmp::Ne,
        right: Rhs::Value(Value::Mark(0)),
    });
    assert_eq!(rule([not_marked]), "meta mark & 0x00004000 != 0x00000000");
}

#[test]
fn golden_statements() {
    use Field as F;
    assert_eq!(rule([Expr::Counter, Verdict::Drop.into()]), "counter drop");
    assert_eq!(
        rule([Expr::NamedCounter("c".into()), Verdict::Accept.into()]),
        "counter name c accept"
    );
    assert_eq!(
        rule([Expr::MarkSetBits(0x2000)]),
        "meta mark set meta mark | 0x00002000"
    );
    assert_eq!(rule([Expr::Masquerade]), "masquerade");
    assert_eq!(
        rule([Expr::DnatMap {
            key: vec![F::IpDaddr, F::MetaL4proto, F::ThDport],
            map: "m".into(),
        }]),
        "dnat ip to ip daddr . meta l4proto . th dport map @m"
    );
    assert_eq!(
        rule([Expr::Vmap {
            key: vec![F::IpSaddr],
            map: "v".into(),
        }]),
        "ip saddr vmap @v"
    );
    assert_eq!(rule([Verdict::Return.into()]), "return");
    assert_eq!(rule([Verdict::Jump("x".into()).into()]), "jump x");
    assert_eq!(rule([Verdict::Goto("y".into()).into()]), "goto y");
    assert_eq!(
        rule([Expr::Raw("log prefix \"x\"".into()), Verdict::Drop.into()]),
        "log prefix \"x\" drop"
    );
}

#[test]
fn golden_element_operations() {
    let t = id(Family::Ip);
    let pod = "10.244.1.2".parse().unwrap();
    let elems = vec![
        Element::key(vec![
            Value::Ifname("pn0".into()),
            Value::Ether([0x0a, 0x58, 0, 0, 0xff, 1]),
            Value::Ipv4(pod),
        ]),
        Element::map(
            vec![Value::Proto(L4::Tcp), Value::Port(80)],
            vec![Value::Ipv4(pod), Value::Port(8080)],
        ),
        Element::verdict(vec![Value::Ipv4(pod)], Verdict::Jump("c".into())),
        Element::key(vec![Value::Mark(0x10)]),
    ];
    let got = Transaction::new()
        .add_elements(&t, "s", elems.clone())
        .delete_elements(&t, "s", elems[..1].to_vec())
        .add_elements(&t, "empty", vec![])
        .push(Op::ReplaceElements {
            table: t.clone(),
            kind: SetKind::Set,
            set: "s".into(),
            elements: vec![],
        })
        .push(Op::ReplaceElements {
            table: t.clone(),
            kind: SetKind::Map,
            set: "m".into(),
            elements: elems[1..2].to_vec(),
        })
        .render();
    assert_eq!(
        got,
        "add element ip t s { \"pn0\" . 0a:58:00:00:ff:01 . 10.244.1.2, tcp . 80 : 10.244.1.2 . 8080, 10.244.1.2 : jump c, 0x00000010 }
delete element ip t s { \"pn0\" . 0a:58:00:00:ff:01 . 10.244.1.2 }
flush set ip t s
flush map ip t m
add element ip t m { tcp . 80 : 10.244.1.2 . 8080 }
"
    );
}

/// `install`: declarations, then every chain's rules replaced, then the contents of the sets and
/// maps the table keeps exactly; sets with kept elements are never flushed.
#[test]
fn golden_install() {
    let mut t = Table::new(Family::Inet, "a");
    let node = |s: &str| Element::key(vec![Value::Ipv4(s.parse().unwrap())]);
    t.sets = vec![
        Set::new(
            "nodes",
            &[KeyType::Ipv4Addr],
            Elements::Exactly(vec![node("198.18.0.11"), node("198.18.0.12")]),
        ),
        Set::new("dynamic", &[KeyType::Ipv4Addr], Elements::Kept),
    ];
    t.maps = vec![Map::new(
        "v",
        &[KeyType::Ipv4Addr],
        MapValue::Verdict,
        Elements::Exactly(vec![]),
    )];
    t.chains = vec![
        Chain::regular(
            "c",
            vec![
                Rule::new([Expr::in_set(&[Field::IpSaddr], "nodes"), Expr::Counter]),
                Rule::new([Verdict::Accept.into()]),
            ],
        ),
        Chain::regular("empty", vec![]),
    ];
    let tx = Transaction::new().install(&t);
    assert_eq!(
        tx.render(),
        "add table inet a
add set inet a nodes { type ipv4_addr; }
add set inet a dynamic { type ipv4_addr; }
add map inet a v { type ipv4_addr : verdict; }
add chain inet a c
add chain inet a empty
flush chain inet a c
add rule inet a c ip saddr @nodes counter
add rule inet a c accept
flush chain inet a empty
flush set inet a nodes
add element inet a nodes { 198.18.0.11, 198.18.0.12 }
flush map inet a v
"
    );
    assert_eq!(tx.tables(), [t.id()].into());
}

#[test]
fn undeclared_references_are_found() {
    let mut t = Table::new(Family::Ip, "t");
    t.sets = vec![Set::new("s", &[KeyType::Ipv4Addr], Elements::Kept)];
    t.maps = vec![Map::new(
        "v",
        &[KeyType::Ipv4Addr],
        MapValue::Verdict,
        Elements::Exactly(vec![Element::verdict(
            vec![Value::Ipv4("1.1.1.1".parse().unwrap())],
            Verdict::Goto("gone".into()),
        )]),
    )];
    t.chains = vec![Chain::regular(
        "c",
        vec![Rule::new([
            Expr::in_set(&[Field::IpSaddr], "s"),
            Expr::not_in_set(&[Field::IpDaddr], "missing"),
            Expr::NamedCounter("nope".into()),
            Verdict::Jump("c".into()).into(),
        ])],
    )];
    assert_eq!(
        t.undeclared(),
        ["set missing", "counter nope", "chain gone"]
    );
}
