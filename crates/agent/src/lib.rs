//! The node agent: leases the node's pod subnet from the shared datastore (flannel's semantics),
//! keeps the lease alive, publishes the node's network facts for the CNI plugin, and converges
//! the backend (routes, VXLAN FDB and neighbours) to the peers' leases by diff.
//!
//! What a lease is (keys, records, which subnet to claim, validating other nodes' leases) is
//! pure and lives in [`podnet_model::lease`]; [`leaser`] performs the claim and renewal against
//! any [`podnet_store::Datastore`]. The backends' plan vocabulary (routes, neighbours, FDB
//! entries, the set diff) is [`podnet_netspec`]'s.

pub mod backend;
pub mod backends;
pub mod conntrack;
pub mod endpoints_ctl;
pub mod error;
pub mod firewall;
pub mod informer;
pub mod kernel;
pub mod leaser;
pub mod objects;
pub mod proxy_ctl;
pub mod reconcile;
pub mod run;
pub mod services;
#[doc(hidden)]
pub mod testing;
pub mod udp_relay;

pub use error::AgentError;
pub use leaser::{acquire, Lease};
