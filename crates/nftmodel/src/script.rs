//! The one renderer: a [`Transaction`] — operations over [`Table`]s — to the text of an `nft -f`
//! script. Every nft command podnet sends is written here and nowhere else; the kernel applies
//! the whole script as one transaction, so a failing script changes nothing.
//!
//! The operations:
//!
//! | operation | nft commands |
//! |---|---|
//! | [`Op::Declare`] | `add table`, `add set`/`map`/`counter`/`chain` for each object — idempotent, keeps rules, elements and counts |
//! | [`Op::ReplaceRules`] | `flush chain` + `add rule` each: the chain's rules replaced atomically |
//! | [`Op::ReplaceElements`] | `flush set`/`flush map` + `add element`: the contents replaced atomically |
//! | [`Op::AddElements`], [`Op::DeleteElements`] | `add element`, `delete element` |
//! | [`Op::AddChain`], [`Op::DeleteChain`] | `add chain` + `flush chain` + `add rule` each; `delete chain` |
//! | [`Op::AddSet`], [`Op::DeleteSet`] | `add set`; `delete set` |
//! | [`Op::DeleteTable`] | `add table` + `delete table` (gone whether or not it existed) |
//!
//! Pure: no I/O; [`crate::Nft::apply`] sends the text.

use std::collections::BTreeSet;
use std::fmt::{self, Display, Formatter, Write};

use crate::rule::{
    AddrType, Cmp, CtStatus, EtherType, Expr, Field, Match, Reject, Rhs, Rule, Verdict,
};
use crate::ruleset::{
    BaseChain, Chain, ChainType, Data, Element, Elements, Family, Hook, KeyType, Map, MapValue,
    Policy, Priority, Set, SetFlag, StdPriority, Table, TableId, Value,
};

/// Whether a named container is a set or a map (nft flushes them with different commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    Set,
    Map,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Every object of the table, without rules or elements.
    Declare(Table),
    ReplaceRules {
        table: TableId,
        chain: String,
        rules: Vec<Rule>,
    },
    ReplaceElements {
        table: TableId,
        kind: SetKind,
        set: String,
        elements: Vec<Element>,
    },
    AddElements {
        table: TableId,
        set: String,
        elements: Vec<Element>,
    },
    DeleteElements {
        table: TableId,
        set: String,
        elements: Vec<Element>,
    },
    /// A chain with exactly these rules: `add chain` + `flush chain` + `add rule` each.
    AddChain { table: TableId, chain: Chain },
    /// `delete chain` (nothing may refer to it any more).
    DeleteChain { table: TableId, chain: String },
    /// `add set` (its elements are the kernel's, e.g. a dynamic set).
    AddSet { table: TableId, set: Set },
    /// `delete set` (no rule may refer to it any more).
    DeleteSet { table: TableId, set: String },
    /// `add table` + `delete table`: the table and everything in it gone, whether or not it
    /// existed (a later operation of the same transaction may build it again).
    DeleteTable(TableId),
}

impl Op {
    pub fn table(&self) -> TableId {
        match self {
            Op::Declare(t) => t.id(),
            Op::ReplaceRules { table, .. }
            | Op::ReplaceElements { table, .. }
            | Op::AddElements { table, .. }
            | Op::DeleteElements { table, .. }
            | Op::AddChain { table, .. }
            | Op::DeleteChain { table, .. }
            | Op::AddSet { table, .. }
            | Op::DeleteSet { table, .. } => table.clone(),
            Op::DeleteTable(t) => t.clone(),
        }
    }
}

/// A list of operations applied as one nft transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    ops: Vec<Op>,
}

impl Transaction {
    pub fn new() -> Transaction {
        Transaction::default()
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Every table the transaction touches: its owner's, and only its owner's.
    pub fn tables(&self) -> BTreeSet<TableId> {
        self.ops.iter().map(Op::table).collect()
    }

    pub fn push(mut self, op: Op) -> Transaction {
        self.ops.push(op);
        self
    }

    pub fn declare(self, table: &Table) -> Transaction {
        self.push(Op::Declare(table.clone()))
    }

    /// The table as modelled: declared, every chain's rules replaced, and the contents of every
    /// set and map with [`Elements::Exactly`] replaced ([`Elements::Kept`] ones keep theirs).
    /// Re-sending it repairs drift and changes nothing else.
    pub fn install(self, table: &Table) -> Transaction {
        let id = table.id();
        let mut tx = self.declare(table);
        for chain in &table.chains {
            tx = tx.replace_rules(&id, chain);
        }
        let sets = table
            .sets
            .iter()
            .map(|s| (SetKind::Set, &s.name, &s.elements));
        let maps = table
            .maps
            .iter()
            .map(|m| (SetKind::Map, &m.name, &m.elements));
        for (kind, name, elements) in sets.chain(maps) {
            if let Elements::Exactly(e) = elements {
                tx = tx.push(Op::ReplaceElements {
                    table: id.clone(),
                    kind,
                    set: name.clone(),
                    elements: e.clone(),
                });
            }
        }
        tx
    }

    pub fn replace_rules(self, table: &TableId, chain: &Chain) -> Transaction {
        self.push(Op::ReplaceRules {
            table: table.clone(),
            chain: chain.name.clone(),
            rules: chain.rules.clone(),
        })
    }

    pub fn add_elements(self, table: &TableId, set: &str, elements: Vec<Element>) -> Transaction {
        self.push(Op::AddElements {
            table: table.clone(),
            set: set.into(),
            elements,
        })
    }

    pub fn delete_elements(
        self,
        table: &TableId,
        set: &str,
        elements: Vec<Element>,
    ) -> Transaction {
        self.push(Op::DeleteElements {
            table: table.clone(),
            set: set.into(),
            elements,
        })
    }

    /// The `nft -f` script, one command per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            render_op(&mut out, op);
        }
        out
    }
}

fn render_op(out: &mut String, op: &Op) {
    match op {
        Op::Declare(t) => declare(out, t),
        Op::ReplaceRules {
            table,
            chain,
            rules,
        } => {
            let _ = writeln!(out, "flush chain {table} {chain}");
            for r in rules {
                let _ = writeln!(out, "add rule {table} {chain} {r}");
            }
        }
        Op::ReplaceElements {
            table,
            kind,
            set,
            elements,
        } => {
            let what = match kind {
                SetKind::Set => "set",
                SetKind::Map => "map",
            };
            let _ = writeln!(out, "flush {what} {table} {set}");
            elements_line(out, "add", table, set, elements);
        }
        Op::AddElements {
            table,
            set,
            elements,
        } => elements_line(out, "add", table, set, elements),
        Op::DeleteElements {
            table,
            set,
            elements,
        } => elements_line(out, "delete", table, set, elements),
        Op::AddChain { table, chain } => {
            let _ = match &chain.base {
                Some(b) => writeln!(out, "add chain {table} {} {{ {b} }}", chain.name),
                None => writeln!(out, "add chain {table} {}", chain.name),
            };
            let _ = writeln!(out, "flush chain {table} {}", chain.name);
            for r in &chain.rules {
                let _ = writeln!(out, "add rule {table} {} {r}", chain.name);
            }
        }
        Op::DeleteChain { table, chain } => {
            let _ = writeln!(out, "delete chain {table} {chain}");
        }
        Op::AddSet { table, set } => {
            let _ = writeln!(out, "add set {table} {}", SetDecl(set));
        }
        Op::DeleteSet { table, set } => {
            let _ = writeln!(out, "delete set {table} {set}");
        }
        Op::DeleteTable(t) => {
            let _ = writeln!(out, "add table {t}");
            let _ = writeln!(out, "delete table {t}");
        }
    }
}

fn declare(out: &mut String, t: &Table) {
    let id = t.id();
    let _ = writeln!(out, "add table {id}");
    for s in &t.sets {
        let _ = writeln!(out, "add set {id} {}", SetDecl(s));
    }
    for m in &t.maps {
        let _ = writeln!(out, "add map {id} {}", MapDecl(m));
    }
    for c in &t.counters {
        let _ = writeln!(out, "add counter {id} {c}");
    }
    for c in &t.chains {
        let _ = match &c.base {
            Some(b) => writeln!(out, "add chain {id} {} {{ {b} }}", c.name),
            None => writeln!(out, "add chain {id} {}", c.name),
        };
    }
}

/// `{ e1, e2 }` — nothing for an empty list (nft rejects `{ }`).
fn elements_line(out: &mut String, verb: &str, table: &TableId, set: &str, elements: &[Element]) {
    if elements.is_empty() {
        return;
    }
    let list: Vec<String> = elements.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "{verb} element {table} {set} {{ {} }}",
        list.join(", ")
    );
}

/// Writes `items` joined by ` . ` (a concatenation).
fn concat<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" . ")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

struct SetDecl<'a>(&'a Set);

impl Display for SetDecl<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(f, "{} {{ type ", s.name)?;
        concat(f, &s.key)?;
        f.write_str(";")?;
        if !s.flags.is_empty() {
            let flags: Vec<&str> = s
                .flags
                .iter()
                .map(|fl| match fl {
                    SetFlag::Interval => "interval",
                    SetFlag::Timeout => "timeout",
                    SetFlag::Dynamic => "dynamic",
                })
                .collect();
            write!(f, " flags {};", flags.join(", "))?;
        }
        if let Some(t) = s.timeout {
            write!(f, " timeout {t}s;")?;
        }
        f.write_str(" }")
    }
}

struct MapDecl<'a>(&'a Map);

impl Display for MapDecl<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let m = self.0;
        if let Some(t) = &m.typeof_ {
            return write!(f, "{} {{ typeof {t}; }}", m.name);
        }
        write!(f, "{} {{ type ", m.name)?;
        concat(f, &m.key)?;
        f.write_str(" : ")?;
        match &m.value {
            MapValue::Data(d) => concat(f, d)?,
            MapValue::Verdict => f.write_str("verdict")?,
        }
        f.write_str("; }")
    }
}

impl Display for TableId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.family, self.name)
    }
}

impl Display for Family {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Arp => "arp",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        })
    }
}

impl Display for BaseChain {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        };
        let hook = match self.hook {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        };
        let policy = match self.policy {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        };
        write!(
            f,
            "type {kind} hook {hook} priority {}; policy {policy};",
            self.priority
        )
    }
}

impl Display for Priority {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            Priority::Number(n) => write!(f, "{n}"),
            Priority::Named(name, offset) => {
                f.write_str(match name {
                    StdPriority::Raw => "raw",
                    StdPriority::Mangle => "mangle",
                    StdPriority::Dstnat => "dstnat",
                    StdPriority::Filter => "filter",
                    StdPriority::Security => "security",
                    StdPriority::Srcnat => "srcnat",
                })?;
                match offset {
                    0 => Ok(()),
                    o if o > 0 => write!(f, " + {o}"),
                    o => write!(f, " - {}", o.unsigned_abs()),
                }
            }
        }
    }
}

impl Display for KeyType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Ifname => "ifname",
            KeyType::EtherAddr => "ether_addr",
            KeyType::Ipv4Addr => "ipv4_addr",
            KeyType::InetProto => "inet_proto",
            KeyType::InetService => "inet_service",
            KeyType::Mark => "mark",
        })
    }
}

impl Display for Element {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        concat(f, &self.key)?;
        match &self.data {
            None => Ok(()),
            Some(Data::Values(v)) => {
                f.write_str(" : ")?;
                concat(f, v)
            }
            Some(Data::Verdict(v)) => write!(f, " : {v}"),
        }
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Ipv4(a) => write!(f, "{a}"),
            Value::Net(n) => write!(f, "{n}"),
            Value::Port(p) => write!(f, "{p}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Proto(p) => f.write_str(p.as_str()),
            Value::Mark(m) => write!(f, "{m:#010x}"),
            Value::Ifname(n) => write!(f, "\"{n}\""),
            Value::Ether(m) => {
                for (i, b) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            Value::EtherType(EtherType::Ip) => f.write_str("ip"),
            Value::EtherType(EtherType::Arp) => f.write_str("arp"),
            Value::AddrType(AddrType::Local) => f.write_str("local"),
            Value::CtStatus(CtStatus::Dnat) => f.write_str("dnat"),
        }
    }
}

impl Display for Verdict {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Return => f.write_str("return"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
        }
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::NumgenRandom(n) => return write!(f, "numgen random mod {n}"),
            Field::Iifname => "iifname",
            Field::Oifname => "oifname",
            Field::EtherType => "ether type",
            Field::EtherSaddr => "ether saddr",
            Field::IpSaddr => "ip saddr",
            Field::IpDaddr => "ip daddr",
            Field::ArpSaddrIp => "arp saddr ip",
            Field::ArpSaddrEther => "arp saddr ether",
            Field::MetaL4proto => "meta l4proto",
            Field::MetaMark => "meta mark",
            Field::ThDport => "th dport",
            Field::UdpDport => "udp dport",
            Field::TcpDport => "tcp dport",
            Field::SctpDport => "sctp dport",
            Field::FibDaddrType => "fib daddr type",
            Field::CtStatus => "ct status",
        })
    }
}

impl Display for Match {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        concat(f, &self.left)?;
        if let Some(mask) = self.mask {
            write!(f, " & {mask:#010x}")?;
        }
        // Equality is implicit, as nft lists it, except after a mask (`meta mark & M == V`).
        f.write_str(match (self.op, self.mask) {
            (Cmp::Eq, None) => " ",
            (Cmp::Eq, Some(_)) => " == ",
            (Cmp::Ne, _) => " != ",
        })?;
        match &self.right {
            Rhs::Value(v) => write!(f, "{v}"),
            Rhs::Set(s) => write!(f, "@{s}"),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Match(m) => write!(f, "{m}"),
            Expr::Counter => f.write_str("counter"),
            Expr::NamedCounter(c) => write!(f, "counter name {c}"),
            Expr::MarkSetBits(bits) => write!(f, "meta mark set meta mark | {bits:#010x}"),
            Expr::Masquerade => f.write_str("masquerade"),
            Expr::DnatMap { key, map } => {
                f.write_str("dnat ip to ")?;
                concat(f, key)?;
                write!(f, " map @{map}")
            }
            Expr::Vmap { key, map } => {
                concat(f, key)?;
                write!(f, " vmap @{map}")
            }
            Expr::DnatTo { addr, port } => write!(f, "dnat ip to {addr}:{port}"),
            Expr::DnatRandom(targets) => {
                write!(f, "dnat ip to numgen random mod {} map {{ ", targets.len())?;
                for (i, (a, p)) in targets.iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    write!(f, "{sep}{i} : {a} . {p}")?;
                }
                f.write_str(" }")
            }
            Expr::NumgenVmap(verdicts) => {
                write!(f, "numgen random mod {} vmap {{ ", verdicts.len())?;
                for (i, v) in verdicts.iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    write!(f, "{sep}{i} : {v}")?;
                }
                f.write_str(" }")
            }
            Expr::UpdateSet { set, key } => {
                write!(f, "update @{set} {{ ")?;
                concat(f, key)?;
                f.write_str(" }")
            }
            Expr::Reject(Reject::TcpReset) => f.write_str("reject with tcp reset"),
            Expr::Reject(Reject::Icmp) => f.write_str("reject"),
            Expr::Verdict(v) => write!(f, "{v}"),
            Expr::Raw(text) => f.write_str(text),
        }
    }
}

impl Display for Rule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
