//! Golden tests of the rendered nft scripts.

use super::*;
use crate::model::L4;

fn pod() -> PodEntry {
    PodEntry {
        network: "podnet".into(),
        host_veth: "pn0123456789ab".into(),
        mac: [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02],
        ip: "10.244.1.2".parse().unwrap(),
        masquerade: true,
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
        host_ports: vec![
            HostPort {
                proto: L4::Tcp,
                host_ip: None,
                host_port: 18080,
                pod_port: 8080,
            },
            HostPort {
                proto: L4::Udp,
                host_ip: Some("198.18.0.1".parse().unwrap()),
                host_port: 53,
                pod_port: 5353,
            },
        ],
    }
}

#[test]
fn golden_fast_add() {
    let got = render_add(&pod(), false);
    let want = format!(
        "add element bridge podnet pod_ifnames {{ \"pn0123456789ab\" }}
add element bridge podnet pod_ports {{ \"pn0123456789ab\" . 0a:58:0a:f4:01:02 . 10.244.1.2 }}
add element ip podnet pods {{ 10.244.1.2 }}
add element ip podnet masq_src {{ 10.244.1.2 : jump {} }}
add element ip podnet hostports {{ tcp . 18080 : 10.244.1.2 . 8080 }}
add element ip podnet hostports_ip {{ 198.18.0.1 . udp . 53 : 10.244.1.2 . 5353 }}
",
        masq_chain("podnet")
    );
    assert_eq!(got, want);
}

#[test]
fn full_add_contains_base_and_network_chain() {
    let got = render_add(&pod(), true);
    assert!(got.starts_with("add table bridge podnet\n"));
    assert!(got.contains(
        "add rule ip podnet hostports dnat ip to meta l4proto . th dport map @hostports"
    ));
    assert!(got.contains("fib daddr type local jump hostports"));
    assert!(got.contains(&format!(
        "add rule ip podnet {} ip daddr != 10.244.0.0/16 ip daddr != @nonat ip daddr != 224.0.0.0/4 masquerade",
        masq_chain("podnet")
    )));
    assert!(got.ends_with(&render_add(&pod(), false)));
}

#[test]
fn delete_adds_then_deletes_each_element() {
    let got = render_delete(&pod());
    let adds = got.lines().filter(|l| l.starts_with("add element")).count();
    let dels = got
        .lines()
        .filter(|l| l.starts_with("delete element"))
        .count();
    assert_eq!(adds, 6);
    assert_eq!(dels, 6);
    assert!(!got.contains("add rule"), "DEL must not touch rules");
}

#[test]
fn no_masquerade_no_vmap_element() {
    let mut p = pod();
    p.masquerade = false;
    assert!(!render_add(&p, false).contains("masq_src"));
}

#[test]
fn masq_chain_names_are_safe_and_distinct() {
    let a = masq_chain("a-b");
    let b = masq_chain("a_b");
    assert_ne!(a, b);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
}
