//! Rules as typed expressions: matches on packet fields and the statements podnet uses (verdicts,
//! counters, masquerade, map-driven DNAT, verdict maps, mark bits). Not nftables' whole
//! expression algebra — only what podnet's tables need, plus [`Expr::Raw`] for the rare form that
//! is not worth a type (none of podnet's tables uses it today). Pure data; [`crate::script`]
//! renders it.

use crate::ruleset::Value;

/// One rule: its expressions in order (matches first, then statements, as nft evaluates them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule(pub Vec<Expr>);

impl Rule {
    pub fn new(exprs: impl IntoIterator<Item = Expr>) -> Rule {
        Rule(exprs.into_iter().collect())
    }

    /// The sets/maps, chains and named counters this rule refers to.
    pub fn references(&self) -> Vec<Reference<'_>> {
        let mut out = Vec::new();
        for e in &self.0 {
            match e {
                Expr::Match(Match {
                    right: Rhs::Set(s), ..
                })
                | Expr::DnatMap { map: s, .. }
                | Expr::Vmap { map: s, .. }
                | Expr::UpdateSet { set: s, .. } => out.push(Reference::Set(s)),
                Expr::NumgenVmap(targets) => {
                    for v in targets {
                        if let Verdict::Jump(c) | Verdict::Goto(c) = v {
                            out.push(Reference::Chain(c));
                        }
                    }
                }
                Expr::NamedCounter(c) => out.push(Reference::Counter(c)),
                Expr::Verdict(Verdict::Jump(c) | Verdict::Goto(c)) => out.push(Reference::Chain(c)),
                _ => {}
            }
        }
        out
    }
}

/// An object a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference<'a> {
    /// A set or map (`@name`).
    Set(&'a str),
    Chain(&'a str),
    Counter(&'a str),
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Match(Match),
    /// An anonymous counter: `counter`.
    Counter,
    /// A named counter object: `counter name N`.
    NamedCounter(String),
    /// Sets mark bits, keeping the others: `meta mark set meta mark | BITS`.
    MarkSetBits(u32),
    Masquerade,
    /// DNAT to the address and port a map gives for the key: `dnat ip to KEY map @MAP`.
    DnatMap {
        key: Vec<Field>,
        map: String,
    },
    /// The verdict a verdict map gives for the key: `KEY vmap @MAP`.
    Vmap {
        key: Vec<Field>,
        map: String,
    },
    /// DNAT to one address and port: `dnat ip to A:P` (after a transport protocol match).
    DnatTo {
        addr: std::net::Ipv4Addr,
        port: u16,
    },
    /// DNAT to one of several addresses and ports, chosen at random per connection:
    /// `dnat ip to numgen random mod N map { 0 : A . P, … }` (after a transport protocol match).
    DnatRandom(Vec<(std::net::Ipv4Addr, u16)>),
    /// One of several verdicts at random: `numgen random mod N vmap { 0 : goto C, … }`.
    NumgenVmap(Vec<Verdict>),
    /// Adds the key to a dynamic set, refreshing its timeout: `update @SET { KEY }`.
    UpdateSet {
        set: String,
        key: Vec<Field>,
    },
    /// `reject with tcp reset` or `reject` (ICMP port unreachable).
    Reject(Reject),
    Verdict(Verdict),
    /// nft syntax the model has no type for, copied verbatim. Keep it rare.
    Raw(String),
}

impl Expr {
    /// `FIELD VALUE`
    pub fn eq(field: Field, value: impl Into<Value>) -> Expr {
        Expr::Match(Match {
            left: vec![field],
            mask: None,
            op: Cmp::Eq,
            right: Rhs::Value(value.into()),
        })
    }

    /// `FIELD != VALUE`
    pub fn ne(field: Field, value: impl Into<Value>) -> Expr {
        Expr::Match(Match {
            left: vec![field],
            mask: None,
            op: Cmp::Ne,
            right: Rhs::Value(value.into()),
        })
    }

    /// `KEY @SET` (a concatenation when the key has several fields).
    pub fn in_set(key: &[Field], set: &str) -> Expr {
        Expr::Match(Match {
            left: key.to_vec(),
            mask: None,
            op: Cmp::Eq,
            right: Rhs::Set(set.into()),
        })
    }

    /// `KEY != @SET`
    pub fn not_in_set(key: &[Field], set: &str) -> Expr {
        Expr::Match(Match {
            left: key.to_vec(),
            mask: None,
            op: Cmp::Ne,
            right: Rhs::Set(set.into()),
        })
    }

    /// None of `bits` is set in the packet mark: `meta mark & BITS == 0`.
    pub fn mark_lacks(bits: u32) -> Expr {
        Expr::Match(Match {
            left: vec![Field::MetaMark],
            mask: Some(bits),
            op: Cmp::Eq,
            right: Rhs::Value(Value::Mark(0)),
        })
    }

    /// All of `bits` are set in the packet mark: `meta mark & BITS == BITS`.
    pub fn mark_has(bits: u32) -> Expr {
        Expr::Match(Match {
            left: vec![Field::MetaMark],
            mask: Some(bits),
            op: Cmp::Eq,
            right: Rhs::Value(Value::Mark(bits)),
        })
    }
}

impl From<Verdict> for Expr {
    fn from(v: Verdict) -> Expr {
        Expr::Verdict(v)
    }
}

/// `LEFT [& MASK] [!=] RIGHT`: a comparison of packet fields with a value or a set lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// One field, or a concatenation (`a . b . c`) looked up in a set.
    pub left: Vec<Field>,
    /// Bitwise and applied to the field before comparing.
    pub mask: Option<u32>,
    pub op: Cmp,
    pub right: Rhs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    Value(Value),
    /// A named set (`@name`).
    Set(String),
}

/// The packet fields podnet's rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Iifname,
    Oifname,
    EtherType,
    EtherSaddr,
    IpSaddr,
    IpDaddr,
    /// ARP sender protocol (IPv4) address.
    ArpSaddrIp,
    /// ARP sender hardware address.
    ArpSaddrEther,
    MetaL4proto,
    MetaMark,
    /// Transport-header destination port, whatever the protocol.
    ThDport,
    UdpDport,
    TcpDport,
    SctpDport,
    /// The route type of the destination address (`fib daddr type`).
    FibDaddrType,
    CtStatus,
    /// `numgen random mod N`: a random number below N, per packet.
    NumgenRandom(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Return,
    Jump(String),
    Goto(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtherType {
    Ip,
    Arp,
}

/// How a `reject` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// A TCP reset (only after a TCP match).
    TcpReset,
    /// ICMP port unreachable.
    Icmp,
}

/// A route type of `fib … type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrType {
    Local,
}

/// A conntrack status bit of `ct status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtStatus {
    Dnat,
}
