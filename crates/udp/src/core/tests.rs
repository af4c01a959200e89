//! Every decision of the core, and every drop reason.

use std::net::Ipv4Addr;

use super::*;
use crate::header::MAGIC;
use crate::ipv4::build;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn tunnel() -> Tunnel {
    Tunnel::new(
        "10.244.1.0/24".parse().unwrap(),
        vec![
            Peer {
                node: "n2".into(),
                underlay: "198.18.0.12:8285".parse().unwrap(),
                subnet: "10.244.2.0/24".parse().unwrap(),
            },
            Peer {
                node: "n3".into(),
                underlay: "198.18.0.13:8285".parse().unwrap(),
                subnet: "10.244.3.0/24".parse().unwrap(),
            },
        ],
    )
}

fn datagram(inner: &[u8]) -> Vec<u8> {
    let mut d = vec![MAGIC[0], MAGIC[1], 1, 0];
    d.extend_from_slice(inner);
    d
}

const N2: &str = "198.18.0.12:40000";

#[test]
fn encapsulates_to_the_node_that_leases_the_destination() {
    let mut t = tunnel();
    let pkt = build(ip("10.244.1.5"), ip("10.244.3.7"), 10);
    assert_eq!(
        t.encapsulate(&pkt),
        Action::SendTo {
            to: "198.18.0.13:8285".parse().unwrap(),
            header: [0x70, 0x6e, 1, 0]
        }
    );
    assert_eq!(
        t.encapsulate(&build(ip("10.244.1.5"), ip("10.9.9.9"), 0)),
        Action::Drop(DropReason::NoRoute)
    );
    assert_eq!(
        t.encapsulate(&[0x45, 0, 0]),
        Action::Drop(DropReason::BadInnerPacket)
    );
}

#[test]
fn delivers_a_good_datagram() {
    let mut t = tunnel();
    let inner = build(ip("10.244.2.9"), ip("10.244.1.5"), 32);
    let d = datagram(&inner);
    assert_eq!(
        t.decapsulate(N2.parse().unwrap(), &d),
        Action::WriteToTun(&inner[..])
    );
    assert_eq!(t.drops().total(), 0);
}

#[test]
fn a_node_may_send_from_its_own_address() {
    let mut t = tunnel();
    let inner = build(ip("198.18.0.12"), ip("10.244.1.5"), 8);
    let d = datagram(&inner);
    assert_eq!(
        t.decapsulate(N2.parse().unwrap(), &d),
        Action::WriteToTun(&inner[..])
    );
    // ...but not from another node's.
    let d = datagram(&build(ip("198.18.0.13"), ip("10.244.1.5"), 8));
    assert_eq!(
        t.decapsulate(N2.parse().unwrap(), &d),
        Action::Drop(DropReason::SpoofedSource)
    );
}

#[test]
fn drops_and_counts_every_bad_datagram() {
    let mut t = tunnel();
    let good = build(ip("10.244.2.9"), ip("10.244.1.5"), 32);
    let mut truncated = datagram(&good);
    truncated.truncate(30);
    let mut long_field = good.clone();
    long_field[2..4].copy_from_slice(&500u16.to_be_bytes());
    let mut ipv6 = good.clone();
    ipv6[0] = 0x60;
    let mut bad_ihl = good.clone();
    bad_ihl[0] = 0x44;
    let cases: Vec<(&str, &str, Vec<u8>, DropReason)> = vec![
        (
            "outsider",
            "203.0.113.9:8285",
            datagram(&good),
            DropReason::UnknownSender,
        ),
        ("empty", N2, vec![], DropReason::BadHeader),
        ("short header", N2, vec![0x70, 0x6e], DropReason::BadHeader),
        (
            "bad magic",
            N2,
            [b"xx\x01\x00".as_slice(), &good].concat(),
            DropReason::BadHeader,
        ),
        (
            "future version",
            N2,
            [b"pn\x02\x00".as_slice(), &good].concat(),
            DropReason::BadHeader,
        ),
        (
            "flags",
            N2,
            [b"pn\x01\x01".as_slice(), &good].concat(),
            DropReason::BadHeader,
        ),
        ("header only", N2, datagram(&[]), DropReason::BadInnerPacket),
        ("truncated", N2, truncated, DropReason::BadInnerPacket),
        (
            "length field lies",
            N2,
            datagram(&long_field),
            DropReason::BadInnerPacket,
        ),
        (
            "ipv6 inside",
            N2,
            datagram(&ipv6),
            DropReason::BadInnerPacket,
        ),
        (
            "ihl too small",
            N2,
            datagram(&bad_ihl),
            DropReason::BadInnerPacket,
        ),
        (
            "spoofed: n3's subnet from n2",
            N2,
            datagram(&build(ip("10.244.3.9"), ip("10.244.1.5"), 8)),
            DropReason::SpoofedSource,
        ),
        (
            "spoofed: outside the cluster",
            N2,
            datagram(&build(ip("8.8.8.8"), ip("10.244.1.5"), 8)),
            DropReason::SpoofedSource,
        ),
        (
            "not for this node",
            N2,
            datagram(&build(ip("10.244.2.9"), ip("10.244.3.5"), 8)),
            DropReason::NotForThisNode,
        ),
        (
            "to the outside",
            N2,
            datagram(&build(ip("10.244.2.9"), ip("1.1.1.1"), 8)),
            DropReason::NotForThisNode,
        ),
    ];
    for (name, from, d, want) in &cases {
        assert_eq!(
            t.decapsulate(from.parse().unwrap(), d),
            Action::Drop(*want),
            "{name}"
        );
    }
    assert_eq!(t.drops().total(), cases.len() as u64);
    assert_eq!(t.drops().get(DropReason::BadHeader), 5);
    assert_eq!(t.drops().get(DropReason::SpoofedSource), 2);
}

#[test]
fn arbitrary_bytes_never_panic_and_never_reach_the_tun() {
    // A cheap deterministic generator (xorshift) stands in for a fuzzer in the unit tests.
    let mut t = tunnel();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let len = (next() % 96) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if next() % 2 == 0 && d.len() >= 4 {
            d[..4].copy_from_slice(b"pn\x01\x00");
        }
        if let Action::WriteToTun(inner) = t.decapsulate(N2.parse().unwrap(), &d) {
            let info = crate::ipv4::parse(inner).unwrap();
            let from_n2 = info.src.octets()[..3] == [10, 244, 2] || info.src == ip("198.18.0.12");
            assert!(
                from_n2 && info.dst.octets()[..3] == [10, 244, 1],
                "{info:?}"
            );
        }
        let _ = t.encapsulate(&d);
    }
}

#[test]
fn peer_changes_take_effect() {
    let mut t = tunnel();
    let d = datagram(&build(ip("10.244.2.9"), ip("10.244.1.5"), 8));
    t.set_peers(vec![]);
    assert_eq!(
        t.decapsulate(N2.parse().unwrap(), &d),
        Action::Drop(DropReason::UnknownSender)
    );
}
