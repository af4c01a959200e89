//! Ctrl-C, SIGTERM and SIGHUP during the commands that build things (`podnet lab up`, `podnet
//! bench …`, `podnet demo`): the first signal is only noted, and the command stops at its next
//! [`check`] with an error, so its ordinary failure path removes every namespace and process it
//! made — a killed build would leave them behind (the lab's agents run in their own process
//! group, so the terminal's Ctrl-C does not reach them). A second signal exits at once (status
//! 130), for a command stuck where it never checks.
//!
//! It lives with the namespace helpers because every command that checks it is one that builds
//! namespaces; the binary calls [`install`], the builders (lab, benchmarks, demo) call [`check`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Whether a signal came, and which one (0 while none).
static RECEIVED: OnceLock<(Arc<AtomicBool>, Arc<AtomicUsize>)> = OnceLock::new();

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP. Blocking system calls are restarted:
/// the command notices the signal at its next [`check`], not in a random `EINTR`.
pub fn install() {
    let (any, which) = RECEIVED.get_or_init(Default::default);
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // Actions run in the order registered: the exit sees the flag as it was before.
        let r = signal_hook::flag::register_conditional_shutdown(sig, 130, any.clone())
            .and_then(|_| signal_hook::flag::register(sig, any.clone()))
            .and_then(|_| signal_hook::flag::register_usize(sig, which.clone(), sig as usize));
        if let Err(e) = r {
            tracing::warn!(
                "cannot catch signal {sig}: {e}; interrupting will leave namespaces behind"
            );
        }
    }
}

/// The signal received so far (its name), if any.
pub fn received() -> Option<&'static str> {
    let n = RECEIVED.get()?.1.load(Ordering::SeqCst);
    (n != 0).then(|| match i32::try_from(n).unwrap_or(0) {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    })
}

/// A signal arrived: the command stops here and removes what it built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {signal}; removing what was built (a second signal exits at once)")]
pub struct Interrupted {
    /// The signal's name (`SIGINT`, ...).
    pub signal: &'static str,
}

/// An error once a signal has arrived: call it between steps that take a while.
pub fn check() -> Result<(), Interrupted> {
    match received() {
        Some(signal) => Err(Interrupted { signal }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_signal_no_error() {
        // No handler is installed in the test binary and nothing was received.
        assert_eq!(received(), None);
        assert_eq!(check(), Ok(()));
    }

    #[test]
    fn the_error_names_the_signal() {
        let e = Interrupted { signal: "SIGTERM" };
        assert!(e.to_string().starts_with("interrupted by SIGTERM; "), "{e}");
    }
}
