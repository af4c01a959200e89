//! Golden tests of the plugin's rendered nft scripts: the exact text of every transaction.

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

const BRIDGE: &str = "add table bridge podnet
add set bridge podnet pod_ifnames { type ifname; }
add set bridge podnet pod_ports { type ifname . ether_addr . ipv4_addr; }
add chain bridge podnet antispoof { type filter hook prerouting priority -300; policy accept; }
flush chain bridge podnet antispoof
add rule bridge podnet antispoof iifname != @pod_ifnames accept
add rule bridge podnet antispoof ether type ip iifname . ether saddr . ip saddr @pod_ports accept
add rule bridge podnet antispoof ether type arp iifname . ether saddr . arp saddr ip @pod_ports iifname . arp saddr ether . arp saddr ip @pod_ports accept
add rule bridge podnet antispoof counter drop
";

const IP_DECLARATIONS: &str = "add table ip podnet
add set ip podnet pods { type ipv4_addr; }
add map ip podnet masq_src { type ipv4_addr : verdict; }
add map ip podnet hostports { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map ip podnet hostports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add chain ip podnet prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip podnet output { type nat hook output priority -100; policy accept; }
add chain ip podnet hostports
add chain ip podnet postrouting { type nat hook postrouting priority srcnat; policy accept; }
";

const IP_RULES: &str = "flush chain ip podnet prerouting
add rule ip podnet prerouting fib daddr type local jump hostports
flush chain ip podnet output
add rule ip podnet output fib daddr type local jump hostports
flush chain ip podnet hostports
add rule ip podnet hostports dnat ip to ip daddr . meta l4proto . th dport map @hostports_ip
add rule ip podnet hostports dnat ip to meta l4proto . th dport map @hostports
flush chain ip podnet postrouting
add rule ip podnet postrouting ct status dnat meta mark & 0x00000800 == 0x00000000 ip saddr @pods masquerade
add rule ip podnet postrouting ip saddr vmap @masq_src
";

fn elements(verb: &str) -> String {
    format!(
        "{verb} element bridge podnet pod_ifnames {{ \"pn0123456789ab\" }}
{verb} element bridge podnet pod_ports {{ \"pn0123456789ab\" . 0a:58:0a:f4:01:02 . 10.244.1.2 }}
{verb} element ip podnet pods {{ 10.244.1.2 }}
{verb} element ip podnet masq_src {{ 10.244.1.2 : jump masq_podnet_{HASH} }}
{verb} element ip podnet hostports {{ tcp . 18080 : 10.244.1.2 . 8080 }}
{verb} element ip podnet hostports_ip {{ 198.18.0.1 . udp . 53 : 10.244.1.2 . 5353 }}
"
    )
}

/// FNV-1a of "podnet".
const HASH: &str = "3f9983f7";

#[test]
fn golden_base() {
    assert_eq!(
        render_base(),
        format!("{BRIDGE}{IP_DECLARATIONS}{IP_RULES}")
    );
}

#[test]
fn golden_fast_add() {
    assert_eq!(render_add(&pod(), false), elements("add"));
}

#[test]
fn golden_full_add() {
    let want = format!(
        "{BRIDGE}{IP_DECLARATIONS}add chain ip podnet masq_podnet_{HASH}
{IP_RULES}flush chain ip podnet masq_podnet_{HASH}
add rule ip podnet masq_podnet_{HASH} meta mark & 0x00002000 == 0x00002000 return
add rule ip podnet masq_podnet_{HASH} ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade
{}",
        elements("add")
    );
    assert_eq!(render_add(&pod(), true), want);
}

#[test]
fn golden_delete_adds_then_deletes_each_element_and_touches_no_rule() {
    let declarations: String = BRIDGE.lines().take(4).map(|l| format!("{l}\n")).collect();
    let want = format!(
        "{declarations}{IP_DECLARATIONS}add chain ip podnet masq_podnet_{HASH}\n{}{}",
        elements("add"),
        elements("delete")
    );
    assert_eq!(render_delete(&pod()), want);
    assert!(
        !render_delete(&pod()).contains("rule"),
        "DEL must not touch rules"
    );
}

#[test]
fn render_elements_is_the_batch_in_script_form() {
    assert_eq!(render_elements(Change::Add, &pod()), elements("add"));
    assert_eq!(
        render_elements(Change::Remove, &pod()),
        elements("add") + &elements("delete")
    );
}

#[test]
fn several_host_ports_share_one_command_per_map() {
    let mut p = pod();
    p.host_ports.push(HostPort {
        proto: L4::Sctp,
        host_ip: None,
        host_port: 9999,
        pod_port: 9,
    });
    assert!(render_add(&p, false).contains(
        "add element ip podnet hostports { tcp . 18080 : 10.244.1.2 . 8080, sctp . 9999 : 10.244.1.2 . 9 }\n"
    ));
    p.host_ports.clear();
    assert!(!render_add(&p, false).contains("hostports"));
}

#[test]
fn no_masquerade_no_vmap_element() {
    let mut p = pod();
    p.masquerade = false;
    assert!(!render_add(&p, false).contains("masq_src"));
}

#[test]
fn masq_chain_names_are_safe_and_distinct() {
    assert_eq!(masq_chain("podnet"), format!("masq_podnet_{HASH}"));
    let a = masq_chain("a-b");
    let b = masq_chain("a_b");
    assert_ne!(a, b);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
}

#[test]
fn every_reference_is_declared() {
    assert_eq!(bridge_table().undeclared(), Vec::<String>::new());
    assert_eq!(ip_table(Some(&pod())).undeclared(), Vec::<String>::new());
}

/// One owner per table: the plugin's transactions touch its two tables and nothing else.
#[test]
fn only_the_plugins_tables() {
    let own = [bridge_id(), ip_id()].into_iter().collect();
    for tx in [
        base_transaction(),
        add_transaction(&pod(), true),
        add_transaction(&pod(), false),
        delete_transaction(&pod()),
    ] {
        assert!(tx.tables().is_subset(&own), "{:?}", tx.tables());
        for line in tx.render().lines() {
            let words: Vec<&str> = line.split(' ').collect();
            assert!(matches!(words[2..4], ["bridge" | "ip", "podnet"]), "{line}");
        }
    }
}
