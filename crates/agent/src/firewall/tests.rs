//! Golden tests of the agent's nftables scripts, and the one-owner-per-table rule between the
//! agent's table and the plugin's.
#![allow(clippy::unwrap_used)]

use super::*;

fn nodes() -> BTreeSet<Ipv4Addr> {
    [Ipv4Addr::new(198, 18, 0, 12), Ipv4Addr::new(198, 18, 0, 11)].into()
}

const NONAT_GOLDEN: &str = "add table inet podnet_agent
add set inet podnet_agent nodes { type ipv4_addr; }
add chain inet podnet_agent nonat { type filter hook postrouting priority srcnat - 10; policy accept; }
flush chain inet podnet_agent nonat
add rule inet podnet_agent nonat ip daddr @nodes meta mark set meta mark | 0x00002000
flush set inet podnet_agent nodes
add element inet podnet_agent nodes { 198.18.0.11, 198.18.0.12 }
";

const GUARD_GOLDEN: &str = "add table inet podnet_agent
add set inet podnet_agent nodes { type ipv4_addr; }
add counter inet podnet_agent foreign_vxlan
add chain inet podnet_agent vxlan_guard { type filter hook prerouting priority raw; policy accept; }
flush chain inet podnet_agent vxlan_guard
add rule inet podnet_agent vxlan_guard udp dport 8472 ip saddr != @nodes counter name foreign_vxlan drop
flush set inet podnet_agent nodes
add element inet podnet_agent nodes { 198.18.0.11, 198.18.0.12 }
";

#[test]
fn golden_nonat() {
    assert_eq!(nonat_script(&nodes()), NONAT_GOLDEN);
    // No nodes: the set is emptied, nothing is marked.
    assert_eq!(
        nonat_script(&BTreeSet::new()),
        NONAT_GOLDEN
            .lines()
            .take(6)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
}

#[test]
fn golden_guard() {
    let s = vxlan_guard_script(8472, &nodes());
    assert_eq!(s, GUARD_GOLDEN);
    // Declared with `add` (kept with its value when it exists), never flushed or deleted.
    assert!(!s.contains("reset") && !s.contains("delete"));
    assert!(!vxlan_guard_script(8472, &BTreeSet::new()).contains("add element"));
}

#[test]
fn the_mark_is_the_plugins_nonat_bit() {
    let plugin = podnet_nft::render_add(&pod(), true);
    let bit = format!("{NONAT_MARK:#010x}");
    assert!(nonat_script(&nodes()).contains(&format!("meta mark set meta mark | {bit}")));
    assert!(plugin.contains(&format!("meta mark & {bit} == {bit} return")));
}

#[test]
fn every_reference_is_declared() {
    assert!(table(&nodes(), Some(8472)).undeclared().is_empty());
}

fn pod() -> podnet_nft::PodEntry {
    podnet_nft::PodEntry {
        network: "podnet".into(),
        host_veth: "pn0123456789ab".into(),
        mac: [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02],
        ip: "10.244.1.2".parse().unwrap(),
        masquerade: true,
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
        host_ports: vec![],
    }
}

/// `VERB OBJECT FAMILY TABLE …`: the table each command of a script names.
fn tables_named(script: &str) -> BTreeSet<(String, String)> {
    script
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            (w[2].to_string(), w[3].to_string())
        })
        .collect()
}

/// One owner per table: every command of the agent's scripts names `inet podnet_agent`, every
/// command of the plugin's names `bridge podnet` or `ip podnet`, and neither mentions the other's.
#[test]
fn agent_and_plugin_never_share_a_table() {
    let agent = nonat_script(&nodes()) + &vxlan_guard_script(8472, &nodes());
    let own: BTreeSet<_> = [("inet".to_string(), TABLE.to_string())].into();
    assert_eq!(tables_named(&agent), own);
    assert!(!agent.contains(" podnet "), "{agent}");

    let plugin = [
        podnet_nft::render_base(),
        podnet_nft::render_add(&pod(), true),
        podnet_nft::render_delete(&pod()),
    ]
    .concat();
    let plugin_tables: BTreeSet<_> = [
        ("bridge".to_string(), "podnet".to_string()),
        ("ip".to_string(), "podnet".to_string()),
    ]
    .into();
    assert_eq!(tables_named(&plugin), plugin_tables);
    assert!(!plugin.contains(TABLE), "{plugin}");
    assert!(!plugin.contains("nonat") && !plugin.contains("@nodes"));

    let agent_tx = Transaction::new().install(&table(&nodes(), Some(8472)));
    let plugin_tx = podnet_nft::plugin::add_transaction(&pod(), true);
    assert!(agent_tx.tables().is_disjoint(&plugin_tx.tables()));
}
