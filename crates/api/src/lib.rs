//! podnet's API server: what the Kubernetes API server does with objects, over any
//! [`podnet_store::Datastore`] (embedded, etcd, in-memory).
//!
//! [`Api`] takes requests — [`Api::create`], [`Api::apply`] (kubectl's, simplified),
//! [`Api::update`] (with resourceVersion conflicts), [`Api::update_status`] (for controllers),
//! [`Api::get`], [`Api::list`] and [`Api::delete`] (a Namespace takes its objects along) — and
//! answers with objects or an [`ApiError`] worded as the API server words it.
//!
//! The rules every request follows:
//!
//! - A write runs the API server's defaults ([`podnet_model::apply_defaults`]) and validation
//!   ([`podnet_model::validate()`]); an invalid object is refused with every field path, and
//!   nothing is stored.
//! - An object's `metadata.resourceVersion` is its key's mod revision. It is set on every
//!   object this crate returns and never stored inside the value.
//! - A namespaced object is created only in an existing Namespace that is not being deleted;
//!   `default` is created on first use.
//! - Stored values are untrusted input: one that does not decode, sits at the wrong key or
//!   fails validation is skipped by `list` (and reported in [`ObjectList::invalid`]) and is an
//!   [`ApiError::Corrupt`] for `get`, never a panic.
//!
//! - A Service gets its cluster IP and node ports here, claimed in the datastore so no two
//!   Services share one (see [`alloc`]); deleting it releases them.
//!
//! The datastore layout is [`podnet_model::keys`]; docs/objects.md describes all of it.
#![forbid(unsafe_code)]

mod alloc;
pub mod api;
pub mod delete;
pub mod error;
pub mod merge;
pub mod stored;
pub mod time;
pub mod uid;
pub mod write;

pub use api::{Api, InvalidEntry, ObjectList};
pub use delete::{Deleted, Deletion};
pub use error::{ApiError, GroupKind, Resource};
pub use write::Applied;
