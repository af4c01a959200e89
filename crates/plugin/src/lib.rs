//! The podnet CNI plugin.
//!
//! The flow of every command is visible in the types: the runner turns the environment and stdin
//! into a validated [`podnet_cni::Env`] and [`podnet_cni::NetConf`]; [`plan`] computes, without
//! I/O, every name, address and rule of the attachment; the command modules apply that plan
//! through the narrow traits bundled in [`Effects`] (netlink, nftables, the IPAM store, a delegated
//! IPAM plugin) and collect a result. Swapping the real effects for recording ones gives tier-2
//! tests and a dry run.
//!
//! The plugin never needs the node agent: the agent writes the node facts file
//! ([`podnet_model::facts`]) that the plugin reads when the config names no subnet.

pub mod add;
pub mod check;
pub mod del;
pub mod delegate;
pub mod effects;
pub mod error;
pub mod gc;
pub mod naming;
pub mod plan;
pub mod record;
pub mod runner;
pub mod status;

pub use effects::Effects;
pub use error::PluginError;
pub use runner::{run, Outcome};
