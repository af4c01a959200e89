//! The agent's kernel thread. Netlink operations are synchronous (they drive their own small
//! runtime), so they run on one dedicated thread that owns the sockets; the async agent loop
//! sends it jobs and awaits the answers. The thread is created in the agent's namespace, so its
//! sockets act there.
//!
//! [`Kernel::inline`] runs the jobs on the caller's task instead: for the recording kernel in
//! tests on tokio's paused clock, where a wait on a real thread would let paused time jump.

use std::sync::{mpsc, Arc, Mutex};

use podnet_netlink::{BackendOps, NetError};
use podnet_nft::Nft;

use crate::conntrack::Conntrack;
use crate::error::AgentError;

/// What a job gets: the backend operations, nftables and conntrack.
pub struct KernelCtx {
    pub ops: Box<dyn BackendOps + Send>,
    pub nft: Box<dyn Nft + Send>,
    pub conntrack: Box<dyn Conntrack + Send>,
}

type Job = Box<dyn FnOnce(&mut KernelCtx) + Send>;

/// Handle to the kernel thread (or the inline context).
#[derive(Clone)]
pub struct Kernel {
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    Thread(mpsc::Sender<Job>),
    Inline(Arc<Mutex<KernelCtx>>),
}

impl Kernel {
    /// Starts the thread; `make` builds the operations inside it.
    pub fn spawn<F>(make: F) -> Result<Kernel, AgentError>
    where
        F: FnOnce() -> Result<KernelCtx, NetError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("podnet-kernel".into())
            .spawn(move || {
                let mut ctx = match make() {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut ctx);
                }
            })
            .map_err(|e| AgentError::Config(format!("cannot start the kernel thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Kernel {
                mode: Mode::Thread(tx),
            }),
            Ok(Err(e)) => Err(AgentError::Config(format!("cannot open netlink: {e}"))),
            Err(_) => Err(AgentError::Config("kernel thread died at start".into())),
        }
    }

    /// Runs every job at once on the calling task (tests with a recording kernel).
    pub fn inline(ctx: KernelCtx) -> Kernel {
        Kernel {
            mode: Mode::Inline(Arc::new(Mutex::new(ctx))),
        }
    }

    /// Runs `f` on the kernel thread and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut KernelCtx) -> T + Send + 'static,
    ) -> Result<T, AgentError> {
        let jobs = match &self.mode {
            Mode::Thread(jobs) => jobs,
            Mode::Inline(ctx) => {
                let mut ctx = ctx
                    .lock()
                    .map_err(|_| AgentError::Config("kernel context poisoned".into()))?;
                return Ok(f(&mut ctx));
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        jobs.send(Box::new(move |ctx| {
            let _ = tx.send(f(ctx));
        }))
        .map_err(|_| AgentError::Config("kernel thread is gone".into()))?;
        rx.await
            .map_err(|_| AgentError::Config("kernel thread dropped a job".into()))
    }
}
