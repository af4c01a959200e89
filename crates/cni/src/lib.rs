//! CNI 1.1 vocabulary for podnet: what a runtime hands a plugin (environment variables and a JSON
//! network configuration on stdin) and what the plugin answers (a result or an error object).
//!
//! Everything here is pure: it parses and validates values it is given and renders values back to
//! JSON. It never reads the environment, files or the network itself; the plugin runner does that
//! and passes the raw values in. Validation follows the CNI SPEC and the rules in
//! `shared/RELIABILITY.md`: every error carries the spec's numeric code and names the bad field.
#![forbid(unsafe_code)]

pub mod addr;
pub mod args;
pub mod config;
pub mod env;
pub mod error;
pub mod names;
pub mod result;
pub mod version;

pub use config::{NetConf, PodPath, PortMapping, Protocol};
pub use env::{Command, Env};
pub use error::{CniError, ErrorCode};
pub use result::{CniResult, Interface, IpConfig, Route};
pub use version::CniVersion;
