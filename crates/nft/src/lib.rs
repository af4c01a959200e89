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
mod kernel;
mod model;
mod render;
pub mod wire;

pub use apply::{elements_script, Nft, NftCli, NftError, RecordingNft};
pub use kernel::NftKernel;
pub use model::{HostPort, PodEntry, L4};
pub use render::{masq_chain, render_add, render_base, render_delete, render_elements, TABLE};
pub use wire::Change;
