//! podnet's nftables rules as a typed model — [`Table`]s of chains, sets, maps and counters, and
//! [`Transaction`]s over them — with one renderer to `nft -f` scripts ([`script`]) and the
//! smallest transaction between two tables ([`diff`]). Pure: the planners (the plugin's
//! ruleset, the agent's tables, the Service proxy) build tables here without any I/O;
//! `podnet-nft` applies the scripts to the kernel.
//!
//! Design: a small static ruleset per node (anti-spoofing in `table bridge podnet`, masquerade and
//! hostPort DNAT in `table ip podnet`) whose rules only look things up in sets and maps; each pod
//! only adds and removes *elements*. Lookups cost the same with 10 or 10,000 pods, an ADD never
//! rewrites rules other pods depend on, and the whole change of one pod is one transaction.
//! Every table has exactly one owner: the plugin's two are built in [`plugin`], the agent builds
//! `inet podnet_agent` and the proxy `ip podnet_proxy` on the same model; what must pass between
//! owners travels as a packet mark bit ([`marks`]). See `docs/nftables.md` for the whole ruleset
//! with explanations.
#![forbid(unsafe_code)]

pub mod diff;
pub mod marks;
mod model;
pub mod plugin;
pub mod rule;
pub mod ruleset;
pub mod script;
pub mod wire;

pub use marks::{NONAT_MARK, SERVICE_MASQ_MARK, SERVICE_NAT_MARK};
pub use model::{HostPort, PodEntry, L4};
pub use plugin::{masq_chain, render_add, render_base, render_delete, render_elements, TABLE};
pub use rule::{Expr, Field, Reject, Rule, Verdict};
pub use ruleset::{
    BaseChain, Chain, ChainType, Element, Elements, Family, Hook, KeyType, Map, MapValue, Policy,
    Priority, Set, SetFlag, StdPriority, Table, TableId, Value,
};
pub use script::{Op, Transaction};
pub use wire::Change;
