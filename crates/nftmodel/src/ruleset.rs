//! The typed nftables model: a [`Table`] with its chains, sets, maps and named counters, as data.
//! Pure: nothing here renders text (that is [`crate::script`], the one renderer) or touches the
//! kernel (that is [`crate::Nft`]).
//!
//! A table has exactly one owner in podnet — the plugin owns `bridge podnet` and `ip podnet`
//! (`crate::plugin`), the agent owns `inet podnet_agent` — and only its owner builds it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::model::L4;
use crate::rule::{AddrType, CtStatus, EtherType, Reference, Rule, Verdict};

/// nftables address family of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

/// A table's identity: what every command on one of its objects names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub family: Family,
    pub name: String,
}

/// One table and everything in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: Family,
    pub name: String,
    pub sets: Vec<Set>,
    pub maps: Vec<Map>,
    /// Named counter objects (`add counter`); re-declaring one keeps its value.
    pub counters: Vec<String>,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn new(family: Family, name: &str) -> Table {
        Table {
            family,
            name: name.into(),
            sets: Vec::new(),
            maps: Vec::new(),
            counters: Vec::new(),
            chains: Vec::new(),
        }
    }

    pub fn id(&self) -> TableId {
        TableId {
            family: self.family,
            name: self.name.clone(),
        }
    }

    /// Names of sets, maps, chains and counters the rules and map elements refer to that this
    /// table does not declare: a rule naming a missing object fails the whole transaction, so
    /// every podnet table is tested to return an empty list.
    pub fn undeclared(&self) -> Vec<String> {
        let sets: Vec<&str> = self
            .sets
            .iter()
            .map(|s| s.name.as_str())
            .chain(self.maps.iter().map(|m| m.name.as_str()))
            .collect();
        let chains: Vec<&str> = self.chains.iter().map(|c| c.name.as_str()).collect();
        let counters: Vec<&str> = self.counters.iter().map(String::as_str).collect();
        let mut missing = Vec::new();
        let mut check = |kind: &str, name: &str, known: &[&str]| {
            if !known.contains(&name) {
                missing.push(format!("{kind} {name}"));
            }
        };
        for rule in self.chains.iter().flat_map(|c| &c.rules) {
            for r in rule.references() {
                match r {
                    Reference::Set(n) => check("set", n, &sets),
                    Reference::Chain(n) => check("chain", n, &chains),
                    Reference::Counter(n) => check("counter", n, &counters),
                }
            }
        }
        let map_elements = self.maps.iter().filter_map(|m| match &m.elements {
            Elements::Exactly(e) => Some(e),
            Elements::Kept => None,
        });
        for e in map_elements.flatten() {
            if let Some(Data::Verdict(Verdict::Jump(c) | Verdict::Goto(c))) = &e.data {
                check("chain", c, &chains);
            }
        }
        missing
    }
}

/// A chain: a base chain (attached to a hook) when `base` is set, else a regular chain that
/// rules jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn regular(name: &str, rules: Vec<Rule>) -> Chain {
        Chain {
            name: name.into(),
            base: None,
            rules,
        }
    }

    pub fn base(name: &str, base: BaseChain, rules: Vec<Rule>) -> Chain {
        Chain {
            name: name.into(),
            base: Some(base),
            rules,
        }
    }
}

/// Where a base chain is attached: `{ type T hook H priority P; policy V; }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseChain {
    pub kind: ChainType,
    pub hook: Hook,
    pub priority: Priority,
    pub policy: Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainType {
    Filter,
    Nat,
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

/// A base chain's priority: a standard name plus an offset (`srcnat - 10`), or a number.
/// Chains of all tables on one hook run in priority order, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Named(StdPriority, i32),
    Number(i32),
}

/// nftables' standard priority names of the ip, ip6 and inet families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdPriority {
    /// -300
    Raw,
    /// -150
    Mangle,
    /// -100
    Dstnat,
    /// 0
    Filter,
    /// 50
    Security,
    /// 100
    Srcnat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

/// The type of one field of a set key or map value (`type A . B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ifname,
    EtherAddr,
    Ipv4Addr,
    InetProto,
    InetService,
    Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetFlag {
    /// Elements may be prefixes and ranges.
    Interval,
    /// Elements may expire.
    Timeout,
    /// Rules may add elements (`update @set { … }`).
    Dynamic,
}

/// What a table's installation does with a set's or map's elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elements {
    /// Leaves them: they are added and removed one change at a time (the plugin's per-pod
    /// elements).
    Kept,
    /// Replaces the contents with exactly these (`flush set` + `add element`), e.g. the agent's
    /// node addresses.
    Exactly(Vec<Element>),
}

/// A named set: `type` is the key (several fields: a concatenation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    pub key: Vec<KeyType>,
    pub flags: Vec<SetFlag>,
    /// Default lifetime of an element, in seconds (`timeout 10800s`).
    pub timeout: Option<u32>,
    pub elements: Elements,
}

impl Set {
    pub fn new(name: &str, key: &[KeyType], elements: Elements) -> Set {
        Set {
            name: name.into(),
            key: key.to_vec(),
            flags: Vec::new(),
            timeout: None,
            elements,
        }
    }
}

/// What a map maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapValue {
    Data(Vec<KeyType>),
    /// A verdict map (`vmap`).
    Verdict,
}

/// A named map: `type KEY : VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    pub name: String,
    pub key: Vec<KeyType>,
    pub value: MapValue,
    /// Declared by expressions instead (`typeof KEY : DATA`), for keys no type names (a
    /// `numgen` result): the text after `typeof`.
    pub typeof_: Option<String>,
    pub elements: Elements,
}

impl Map {
    pub fn new(name: &str, key: &[KeyType], value: MapValue, elements: Elements) -> Map {
        Map {
            name: name.into(),
            key: key.to_vec(),
            value,
            typeof_: None,
            elements,
        }
    }
}

/// One value: a field of an element's key or data, or the right side of a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Ipv4(Ipv4Addr),
    Net(Ipv4Net),
    Port(u16),
    /// A plain number (a `numgen` result in a key).
    Int(u32),
    Proto(L4),
    Mark(u32),
    Ifname(String),
    Ether([u8; 6]),
    EtherType(EtherType),
    AddrType(AddrType),
    CtStatus(CtStatus),
}

/// A set element (`data` none) or a map element (`key : data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub key: Vec<Value>,
    pub data: Option<Data>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Values(Vec<Value>),
    Verdict(Verdict),
}

impl Element {
    pub fn key(key: Vec<Value>) -> Element {
        Element { key, data: None }
    }

    pub fn map(key: Vec<Value>, data: Vec<Value>) -> Element {
        Element {
            key,
            data: Some(Data::Values(data)),
        }
    }

    pub fn verdict(key: Vec<Value>, verdict: Verdict) -> Element {
        Element {
            key,
            data: Some(Data::Verdict(verdict)),
        }
    }
}

impl From<Ipv4Addr> for Value {
    fn from(a: Ipv4Addr) -> Value {
        Value::Ipv4(a)
    }
}

impl From<Ipv4Net> for Value {
    fn from(n: Ipv4Net) -> Value {
        Value::Net(n)
    }
}

impl From<EtherType> for Value {
    fn from(t: EtherType) -> Value {
        Value::EtherType(t)
    }
}

impl From<AddrType> for Value {
    fn from(t: AddrType) -> Value {
        Value::AddrType(t)
    }
}

impl From<CtStatus> for Value {
    fn from(s: CtStatus) -> Value {
        Value::CtStatus(s)
    }
}
