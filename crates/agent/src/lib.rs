//! The node agent: leases the node's pod subnet from the shared datastore (flannel's semantics),
//! keeps the lease alive, publishes the node's network facts for the CNI plugin, and converges
//! the backend (routes, VXLAN FDB and neighbours) to the peers' leases by diff.
//!
//! [`lease`] is pure (keys, records, which subnet to claim); [`leaser`] performs the claim and
//! renewal against any [`podnet_store::Datastore`].

pub mod backend;
pub mod error;
pub mod firewall;
pub mod informer;
pub mod kernel;
pub mod lease;
pub mod leaser;
pub mod reconcile;
pub mod run;
#[doc(hidden)]
pub mod testing;
pub mod udp_relay;

pub use error::AgentError;
pub use lease::{LeaseRecord, SubnetConfig};
pub use leaser::{acquire, Lease};
