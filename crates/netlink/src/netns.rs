//! Network namespace handles: opening one by path (checked to really be a network namespace)
//! and switching the calling thread into it for the duration of a closure.
//!
//! Switching uses `setns(2)`, which affects only the calling thread; the guard switches back
//! even when the closure fails. Sockets keep the namespace they were created in, which is how
//! [`crate::KernelNetOps`] talks to a pod's namespace from the node's.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC, PROC_SUPER_MAGIC};

/// Problems with a namespace path.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {path} does not exist")]
    NotFound { path: PathBuf },
    #[error("{path} is not a network namespace")]
    NotNetns { path: PathBuf },
    #[error("cannot open network namespace {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot switch into network namespace {path}: {source}")]
    Enter { path: PathBuf, source: nix::Error },
}

/// An open network namespace.
#[derive(Debug)]
pub struct Netns {
    file: File,
    path: PathBuf,
}

impl Netns {
    /// Opens `path` and checks that it is a network namespace (an nsfs file of type net).
    /// `ip netns identify` does the same kind of check.
    pub fn open(path: &Path) -> Result<Netns, NetnsError> {
        let file = File::open(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => NetnsError::NotFound {
                path: path.to_path_buf(),
            },
            _ => NetnsError::Open {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let fs = fstatfs(file.as_fd()).map_err(|_| NetnsError::NotNetns {
            path: path.to_path_buf(),
        })?;
        // /proc/PID/ns/net is on procfs when not bind-mounted; both are namespace handles.
        if fs.filesystem_type() != NSFS_MAGIC && fs.filesystem_type() != PROC_SUPER_MAGIC {
            return Err(NetnsError::NotNetns {
                path: path.to_path_buf(),
            });
        }
        let ns = Netns {
            file,
            path: path.to_path_buf(),
        };
        // Entering and leaving proves the type (setns refuses a mount or pid namespace).
        ns.run(|| ())?;
        Ok(ns)
    }

    /// The namespace of the calling thread.
    pub fn current() -> Result<Netns, NetnsError> {
        let path = PathBuf::from("/proc/thread-self/ns/net");
        let file = File::open(&path).map_err(|source| NetnsError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Netns { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Runs `f` with the calling thread inside this namespace, then switches back.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, NetnsError> {
        let home = Netns::current()?;
        setns(self.file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| match source {
            nix::Error::EINVAL => NetnsError::NotNetns {
                path: self.path.clone(),
            },
            source => NetnsError::Enter {
                path: self.path.clone(),
                source,
            },
        })?;
        let out = f();
        setns(home.file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Enter {
            path: home.path.clone(),
            source,
        })?;
        Ok(out)
    }
}
