//! podnet's nftables rules, as a model rendered to `nft -f` scripts, and the [`Nft`] trait that
//! applies a script as one atomic transaction.
//!
//! Design: a small static ruleset per node (anti-spoofing in `table bridge podnet`, masquerade and
//! hostPort DNAT in `table ip podnet`) whose rules only look things up in sets and maps; each pod
//! only adds and removes *elements*. Lookups cost the same with 10 or 10,000 pods, an ADD never
//! rewrites rules other pods depend on, and the whole change of one pod is one transaction.
//! See `docs/nftables.md` for the ruleset with explanations.
#![forbid(unsafe_code)]

mod apply;
mod model;
mod render;

pub use apply::{Nft, NftCli, NftError, RecordingNft};
pub use model::{HostPort, PodEntry, L4};
pub use render::{masq_chain, render_add, render_base, render_delete, render_elements, TABLE};
