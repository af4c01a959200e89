//! The agent's nftables table, `inet podnet_agent`, built on the podnet-nft model. The agent is
//! its only owner and it never writes the plugin's tables; everything it knows about node
//! addresses lives here, in one set `nodes` (the peers' underlay addresses) used by two chains:
//!
//! - `vxlan_guard` (VXLAN backend only): packets to the VXLAN port from any other source are
//!   dropped in `prerouting` at raw priority, before the kernel decapsulates them, and counted in
//!   the named counter [`FOREIGN_VXLAN`];
//! - `nonat`: packets to a node address get [`NONAT_MARK`] in `postrouting` at `srcnat - 10`, just
//!   before the plugin's masquerade, which skips marked packets — pods reach nodes with their own
//!   address (the Kubernetes model: no NAT between pods and nodes).
//!
//! One atomic `nft` transaction declares the table, replaces the chains' rules and the set's
//! contents. The agent applies it on every resync (drift repair: a deleted table, chain or
//! element comes back); re-declaring the counter keeps its value, so repeating it loses no count.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use podnet_nft::{
    BaseChain, Chain, ChainType, Element, Elements, Expr, Family, Field, Hook, KeyType, Policy,
    Priority, Rule, Set, StdPriority, Table, Transaction, Value, Verdict, NONAT_MARK,
};

/// nftables table of the agent (family inet), separate from the plugin's.
pub const TABLE: &str = "podnet_agent";
/// The named counter of VXLAN packets dropped for coming from a non-node
/// (`nft list counter inet podnet_agent foreign_vxlan`).
pub const FOREIGN_VXLAN: &str = "foreign_vxlan";
const NODES: &str = "nodes";
const NONAT: &str = "nonat";
const VXLAN_GUARD: &str = "vxlan_guard";
/// After routing and conntrack, before the plugin's nat postrouting (`srcnat`).
const NONAT_PRIORITY: Priority = Priority::Named(StdPriority::Srcnat, -10);

fn nodes_set(nodes: &BTreeSet<Ipv4Addr>) -> Set {
    let elements = nodes
        .iter()
        .map(|n| Element::key(vec![Value::Ipv4(*n)]))
        .collect();
    Set::new(NODES, &[KeyType::Ipv4Addr], Elements::Exactly(elements))
}

fn nonat_chain() -> Chain {
    let base = BaseChain {
        kind: ChainType::Filter,
        hook: Hook::Postrouting,
        priority: NONAT_PRIORITY,
        policy: Policy::Accept,
    };
    let mark = Rule::new([
        Expr::in_set(&[Field::IpDaddr], NODES),
        Expr::MarkSetBits(NONAT_MARK),
    ]);
    Chain::base(NONAT, base, vec![mark])
}

fn vxlan_guard_chain(port: u16) -> Chain {
    let base = BaseChain {
        kind: ChainType::Filter,
        hook: Hook::Prerouting,
        priority: Priority::Named(StdPriority::Raw, 0),
        policy: Policy::Accept,
    };
    let drop = Rule::new([
        Expr::eq(Field::UdpDport, Value::Port(port)),
        Expr::not_in_set(&[Field::IpSaddr], NODES),
        Expr::NamedCounter(FOREIGN_VXLAN.into()),
        Verdict::Drop.into(),
    ]);
    Chain::base(VXLAN_GUARD, base, vec![drop])
}

/// The whole table: the node set, the `nonat` chain, and with `vxlan_port` the VXLAN guard.
pub fn table(nodes: &BTreeSet<Ipv4Addr>, vxlan_port: Option<u16>) -> Table {
    let mut t = Table::new(Family::Inet, TABLE);
    t.sets = vec![nodes_set(nodes)];
    if let Some(port) = vxlan_port {
        t.counters = vec![FOREIGN_VXLAN.into()];
        t.chains.push(vxlan_guard_chain(port));
    }
    t.chains.push(nonat_chain());
    t
}

/// The agent's whole table as one transaction: the node set, the `nonat` chain and, for a
/// backend with a guarded port, the VXLAN guard.
pub fn agent_table_script(nodes: &BTreeSet<Ipv4Addr>, vxlan_port: Option<u16>) -> String {
    Transaction::new()
        .install(&table(nodes, vxlan_port))
        .render()
}

/// The node addresses pods reach without masquerade: the set and the `nonat` chain that marks
/// packets to them.
pub fn nonat_script(nodes: &BTreeSet<Ipv4Addr>) -> String {
    Transaction::new().install(&table(nodes, None)).render()
}

/// The VXLAN guard and the node set it admits, as one transaction. Sent after
/// [`nonat_script`] in the same `nft -f` it declares the table and fills the set once more,
/// which changes nothing.
pub fn vxlan_guard_script(port: u16, nodes: &BTreeSet<Ipv4Addr>) -> String {
    let mut t = table(nodes, Some(port));
    t.chains.retain(|c| c.name == VXLAN_GUARD);
    Transaction::new().install(&t).render()
}

#[cfg(test)]
mod tests;
