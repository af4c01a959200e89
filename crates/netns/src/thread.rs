//! Switching threads into a namespace with `setns(2)`, which moves only the calling thread (and
//! what it starts later). [`in_netns`] does it on a thread of its own, so a probe or a datastore
//! client can run inside a namespace without a process of its own and without moving the
//! caller; [`enter`] moves the calling thread itself, for a command that lives in the namespace
//! it built (the CNI benchmark).

use std::any::Any;
use std::fs::File;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use crate::NetnsError;

/// Moves the calling thread (and the threads and processes it starts later) into the network
/// namespace at `path`.
pub fn enter(path: &Path) -> Result<(), NetnsError> {
    let f = File::open(path).map_err(|source| NetnsError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Enter {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `f` on a new thread that has entered the network namespace at `path` and returns its
/// value; the calling thread, and every other one, stays where it is. The thread ends with
/// `f`, so the switch never leaks into a pool. Sockets `f` opens belong to `path`'s namespace
/// for as long as they live. A panic in `f` is returned as [`NetnsError::Panicked`].
pub fn in_netns<T: Send>(path: &Path, f: impl FnOnce() -> T + Send) -> Result<T, NetnsError> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("in-netns".into())
            .spawn_scoped(s, || -> Result<T, NetnsError> {
                enter(path)?;
                Ok(f())
            })
            .map_err(|source| NetnsError::Spawn {
                what: format!("start a thread for {}", path.display()),
                source,
            })?;
        handle.join().map_err(|panic| NetnsError::Panicked {
            path: path.to_path_buf(),
            message: panic_message(panic.as_ref()),
        })?
    })
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_namespace_is_an_open_error_naming_it() {
        let path = Path::new("/run/netns/pnx-never-created-here");
        match in_netns(path, || 1) {
            Err(NetnsError::Open { path: p, .. }) => assert_eq!(p, path),
            other => panic!("expected an open error, got {other:?}"),
        }
    }

    #[test]
    fn a_file_that_is_no_namespace_is_refused_by_setns() {
        // Opening works (the test binary itself); setns(CLONE_NEWNET) refuses it (EINVAL).
        let exe = std::env::current_exe().expect("the test binary");
        let r = in_netns(&exe, || 1);
        assert!(matches!(r, Err(NetnsError::Enter { .. })), "{r:?}");
    }

    #[test]
    fn panic_payloads_become_messages() {
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("bang")), "bang");
        assert_eq!(panic_message(&7u8), "a non-string panic");
    }

    #[test]
    fn own_namespace_runs_the_closure_and_returns_its_value() {
        // Entering the namespace this thread is already in needs CAP_SYS_ADMIN; unprivileged,
        // setns fails with EPERM and the error says so instead of running `f`.
        let here = Path::new("/proc/self/ns/net");
        match in_netns(here, || 41 + 1) {
            Ok(v) => assert_eq!(v, 42),
            Err(NetnsError::Enter { source, .. }) => assert_eq!(source, nix::Error::EPERM),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}
