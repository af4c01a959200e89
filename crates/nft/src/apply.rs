//! Applying a script: [`NftCli`] pipes it to `nft -f -` (one netlink transaction, all or
//! nothing); [`RecordingNft`] keeps the scripts for tests and dry runs.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::plugin::{render_add, render_delete};
use crate::wire::Change;
use crate::PodEntry;

/// A failed nft transaction; nothing it contained was applied.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("nft transaction failed: {stderr}")]
    Rejected { stderr: String },
    #[error("{op}: {detail}")]
    Netlink {
        op: String,
        errno: i32,
        detail: String,
    },
}

impl NftError {
    /// The transaction referred to a table, set, map or chain that does not exist.
    pub fn is_missing_object(&self) -> bool {
        match self {
            NftError::Rejected { stderr } => stderr.contains("No such file or directory"),
            NftError::Netlink { errno, .. } => crate::kernel::is_enoent(*errno),
            NftError::Spawn { .. } => false,
        }
    }
}

/// Applies nftables scripts atomically.
pub trait Nft {
    /// `nft -f SCRIPT`
    fn apply(&mut self, script: &str) -> Result<(), NftError>;
    /// Adds a pod's elements, or removes them (idempotently), in one transaction.
    /// `nft -f` of [`crate::render_elements`]'s script.
    fn pod_elements(&mut self, change: Change, pod: &PodEntry) -> Result<(), NftError>;
    /// `nft list tables` — proves nftables is usable (STATUS).
    fn probe(&mut self) -> Result<(), NftError>;
}

/// The script equivalent of [`Nft::pod_elements`].
pub fn elements_script(change: Change, pod: &PodEntry) -> String {
    match change {
        Change::Add => render_add(pod, false),
        Change::Remove => render_delete(pod),
    }
}

/// The real implementation: the `nft` binary.
#[derive(Debug, Clone)]
pub struct NftCli {
    pub binary: String,
}

impl Default for NftCli {
    fn default() -> Self {
        NftCli {
            binary: "nft".into(),
        }
    }
}

impl NftCli {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<(), NftError> {
        let spawn = |source| NftError::Spawn {
            binary: self.binary.clone(),
            source,
        };
        let mut child = Command::new(&self.binary)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn)?;
        if let (Some(script), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(script.as_bytes()).map_err(spawn)?;
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NftError::Rejected {
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

impl Nft for NftCli {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        self.run(&["-f", "-"], Some(script))
    }

    fn pod_elements(&mut self, change: Change, pod: &PodEntry) -> Result<(), NftError> {
        self.apply(&elements_script(change, pod))
    }

    fn probe(&mut self) -> Result<(), NftError> {
        self.run(&["list", "tables"], None)
    }
}

/// Records scripts instead of applying them. `fail_next` makes the next apply fail.
#[derive(Debug, Default)]
pub struct RecordingNft {
    pub scripts: Vec<String>,
    pub fail_next: bool,
    /// `probe` fails (nftables unusable).
    pub broken: bool,
    /// Whether the static ruleset has been "applied" (the fast path fails until it is).
    pub base_present: bool,
}

impl Nft for RecordingNft {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        if std::mem::take(&mut self.fail_next) {
            return Err(NftError::Rejected {
                stderr: "injected failure".into(),
            });
        }
        if script.contains("add element") && !script.contains("add table") && !self.base_present {
            return Err(NftError::Rejected {
                stderr: "Error: No such file or directory".into(),
            });
        }
        if script.contains("add rule") {
            self.base_present = true;
        }
        self.scripts.push(script.to_string());
        Ok(())
    }

    fn pod_elements(&mut self, change: Change, pod: &PodEntry) -> Result<(), NftError> {
        self.apply(&elements_script(change, pod))
    }

    fn probe(&mut self) -> Result<(), NftError> {
        match self.broken {
            true => Err(NftError::Rejected {
                stderr: "injected: nftables unusable".into(),
            }),
            false => Ok(()),
        }
    }
}
