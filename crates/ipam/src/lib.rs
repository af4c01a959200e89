//! Node-local address management for pods.
//!
//! [`allocator`] is pure: given a subnet, the gateway, the addresses in use and where the last
//! allocation ended, it picks the next free address (never the network, broadcast or gateway
//! address). [`store`] keeps allocations in SQLite (WAL, one `BEGIN IMMEDIATE` transaction per
//! operation) so that any number of concurrent plugin processes see one consistent table and a
//! process killed at any instant leaves either a complete, owned record or nothing.
#![forbid(unsafe_code)]

pub mod allocator;
pub mod store;

pub use allocator::{next_free, Exhausted};
pub use store::{Allocation, Store, StoreError};
