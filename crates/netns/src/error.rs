//! [`NetnsError`]: what went wrong creating a namespace, running something inside one or
//! switching a thread into one, naming the namespace, the command and what it said.

use std::path::PathBuf;

/// A failed namespace operation.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// A program (or a thread) could not be started, fed its stdin or waited for; `what` says
    /// which step (`run ip netns add pnx-a`).
    #[error("{what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    /// `ip netns add NAME` ran and failed.
    #[error("ip netns add {name} failed: {stderr}")]
    Add { name: String, stderr: String },
    /// A command run inside a namespace exited unsuccessfully.
    #[error("{argv} (in {ns}) failed: {stderr}")]
    Failed {
        argv: String,
        ns: String,
        stderr: String,
    },
    /// The namespace file could not be opened.
    #[error("open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `setns(2)` refused the namespace.
    #[error("setns {path}: {source}")]
    Enter { path: PathBuf, source: nix::Error },
    /// The closure given to [`crate::in_netns`] panicked.
    #[error("the thread in {path} panicked: {message}")]
    Panicked { path: PathBuf, message: String },
}
