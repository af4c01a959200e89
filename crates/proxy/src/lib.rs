//! podnet's Service proxy, pure. Two computations, both values in and values out:
//!
//! - [`endpoints`]: the endpoints controller's — Services and Pods to the EndpointSlices that
//!   should exist (the agent holding the endpoints lease writes the difference);
//! - [`plan`] and [`table`]: the proxy's — Services, EndpointSlices and this node's name to
//!   the nftables table `ip podnet_proxy` (verdict maps: one lookup per packet whatever the
//!   number of Services), and the small transaction from one such table to the next
//!   ([`podnet_nft_model::diff::update`]).
//!
//! No tokio, no netlink, no datastore, no processes (crates/model/tests/purity.rs checks).
//! docs/services.md shows the whole table with its `nft` equivalent.
#![forbid(unsafe_code)]

pub mod endpoints;
pub mod plan;
pub mod stale;
pub mod table;

pub use plan::{plan, NodePort, Plan, PortId, PortPlan, Target};
pub use stale::{stale_flows, Flows};
pub use table::{table, TABLE};
