//! VXLAN is accepted only from cluster nodes: packets to the VXLAN port from any other source are
//! dropped in `prerouting` at raw priority, before the kernel decapsulates them. One atomic `nft`
//! transaction declares the table and replaces the set of node addresses. The agent applies it on
//! every resync (drift repair: a deleted table, chain or element comes back); the drop counter is
//! a named counter object, which re-declaring keeps, so repeating the script loses no count.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// nftables table of the agent (family inet), separate from the plugin's.
pub const TABLE: &str = "podnet_agent";
/// The named counter of VXLAN packets dropped for coming from a non-node
/// (`nft list counter inet podnet_agent foreign_vxlan`).
pub const FOREIGN_VXLAN: &str = "foreign_vxlan";

/// The node addresses pods reach without masquerade: the plugin's `ip podnet nonat` set
/// (declared here too, so the order in which agent and plugin first run does not matter).
pub fn nonat_script(nodes: &BTreeSet<Ipv4Addr>) -> String {
    let mut s = String::from(
        "add table ip podnet\nadd set ip podnet nonat { type ipv4_addr; }\nflush set ip podnet nonat\n",
    );
    if !nodes.is_empty() {
        let list: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        let _ = writeln!(s, "add element ip podnet nonat {{ {} }}", list.join(", "));
    }
    s
}

/// The script: static chain + the current node set, as one transaction.
pub fn vxlan_guard_script(port: u16, nodes: &BTreeSet<Ipv4Addr>) -> String {
    let t = TABLE;
    let mut s = format!(
        "add table inet {t}
add set inet {t} nodes {{ type ipv4_addr; }}
add counter inet {t} {FOREIGN_VXLAN}
add chain inet {t} vxlan_guard {{ type filter hook prerouting priority raw; policy accept; }}
flush chain inet {t} vxlan_guard
add rule inet {t} vxlan_guard udp dport {port} ip saddr != @nodes counter name {FOREIGN_VXLAN} drop
flush set inet {t} nodes
"
    );
    if !nodes.is_empty() {
        let list: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        let _ = writeln!(s, "add element inet {t} nodes {{ {} }}", list.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_guard() {
        let nodes: BTreeSet<Ipv4Addr> =
            [Ipv4Addr::new(198, 18, 0, 12), Ipv4Addr::new(198, 18, 0, 11)].into();
        let s = vxlan_guard_script(8472, &nodes);
        assert!(s.contains(
            "add rule inet podnet_agent vxlan_guard udp dport 8472 ip saddr != @nodes counter name foreign_vxlan drop"
        ));
        // Declared with `add` (kept with its value when it exists), never flushed or deleted.
        assert!(s.contains("add counter inet podnet_agent foreign_vxlan\n"));
        assert!(!s.contains("reset") && !s.contains("delete"));
        assert!(s.ends_with("add element inet podnet_agent nodes { 198.18.0.11, 198.18.0.12 }\n"));
        assert!(!vxlan_guard_script(8472, &BTreeSet::new()).contains("add element"));
    }
}
