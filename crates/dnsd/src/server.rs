//! The server: one UDP socket and one TCP listener on the same address, the shared state they
//! answer from (the snapshot behind a `watch` channel, the cache, the in-flight cap, the
//! counters), and the [`Handle`] the agent keeps to swap snapshots and read counters.
//!
//! Every query goes through [`respond`]: the core's `handle`, then for a forward the cache or
//! the upstreams. The loops here only move bytes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use podnet_dns::{
    handle, Action, Cache, CacheConfig, Config, DropReason, ReplyKind, Snapshot, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::counters::{bump, Counters, Live};
use crate::error::ServerError;
use crate::resolve::resolve;

/// The largest datagram read (a query, or an upstream's EDNS reply).
pub(crate) const MAX_DATAGRAM: usize = 65_535;
/// Tries at finding a port free for both UDP and TCP when binding port 0.
const BIND_ATTEMPTS: usize = 16;

/// Server limits and timers.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a forwarded query may wait for the upstreams, all attempts together.
    pub timeout: Duration,
    /// Forwards in flight at once; beyond it a query gets SERVFAIL at once, so a flood of
    /// uncached names cannot pile up tasks and sockets.
    pub max_in_flight: usize,
    /// TCP connections served at once; more wait in the listen backlog.
    pub max_tcp_connections: usize,
    /// A TCP connection idle this long is closed (RFC 7766 §6.2.3 suggests seconds).
    pub tcp_idle_timeout: Duration,
    /// The forward cache's limits.
    pub cache: CacheConfig,
    /// The snapshot served until the first [`Handle::set_snapshot`].
    pub snapshot: Snapshot,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(2),
            max_in_flight: 512,
            max_tcp_connections: 128,
            tcp_idle_timeout: Duration::from_secs(10),
            cache: CacheConfig::default(),
            snapshot: default_snapshot(),
        }
    }
}

fn default_snapshot() -> Snapshot {
    // The default domain is valid, so this cannot fail; an empty domain error would still give
    // a usable (if pointless) fallback rather than a panic.
    Snapshot::empty(&Config::default()).unwrap_or_else(|_| {
        Snapshot::empty(&Config {
            domain: "local".to_owned(),
            ..Config::default()
        })
        .unwrap_or_else(|e| unreachable!("a one-label domain is valid: {e}"))
    })
}

/// The state the loops share.
pub(crate) struct Shared {
    pub(crate) snapshot: watch::Sender<Arc<Snapshot>>,
    pub(crate) cache: Mutex<Cache>,
    pub(crate) in_flight: Semaphore,
    pub(crate) upstreams: Vec<SocketAddr>,
    pub(crate) counters: Live,
    pub(crate) options: Options,
}

/// What the agent keeps: swap the snapshot, read the counters. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Serves `snapshot` from now on; queries in progress finish on the one they started with.
    pub fn set_snapshot(&self, snapshot: Snapshot) {
        self.shared.snapshot.send_replace(Arc::new(snapshot));
    }

    /// The snapshot being served.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.borrow().clone()
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        self.shared.counters.read()
    }
}

/// A running server; dropping it stops its loops.
pub struct Server {
    addr: SocketAddr,
    handle: Handle,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds UDP and TCP on `addr` (port 0: one ephemeral port free for both) with the default
    /// [`Options`], forwarding to `upstreams` in order.
    pub async fn bind(addr: SocketAddr, upstreams: Vec<SocketAddr>) -> Result<Server, ServerError> {
        Server::bind_with(addr, upstreams, Options::default()).await
    }

    /// [`Server::bind`] with `options`.
    pub async fn bind_with(
        addr: SocketAddr,
        upstreams: Vec<SocketAddr>,
        options: Options,
    ) -> Result<Server, ServerError> {
        if upstreams.is_empty() {
            return Err(ServerError::NoUpstreams);
        }
        let (udp, tcp) = bind_pair(addr).await?;
        let addr = udp.local_addr().map_err(|source| ServerError::Bind {
            addr,
            transport: "udp",
            source,
        })?;
        let (snapshot, _) = watch::channel(Arc::new(options.snapshot.clone()));
        let shared = Arc::new(Shared {
            snapshot,
            cache: Mutex::new(Cache::new(options.cache)),
            in_flight: Semaphore::new(options.max_in_flight),
            upstreams,
            counters: Live::default(),
            options,
        });
        let tasks = vec![
            tokio::spawn(serve_udp(shared.clone(), Arc::new(udp))),
            tokio::spawn(serve_tcp(shared.clone(), tcp)),
        ];
        Ok(Server {
            addr,
            handle: Handle { shared },
            tasks,
        })
    }

    /// The address served (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle for snapshots and counters.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A UDP socket and a TCP listener on the same address and port.
async fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), ServerError> {
    let bind_error = |transport, source| ServerError::Bind {
        addr,
        transport,
        source,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|e| bind_error("udp", e))?;
        let bound = udp.local_addr().map_err(|e| bind_error("udp", e))?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            // The ephemeral UDP port is taken for TCP: pick another.
            Err(e) if addr.port() == 0 && attempt < BIND_ATTEMPTS => {
                tracing::debug!(port = bound.port(), error = %e, "dns: tcp port taken, retrying");
            }
            Err(e) => return Err(bind_error("tcp", e)),
        }
    }
}

/// What to do with one query once the core has seen it.
pub(crate) enum Step {
    /// Send this reply, or nothing.
    Done(Option<Vec<u8>>),
    /// Answer from the cache or the upstreams ([`resolve`]).
    Forward(podnet_dns::Forward),
}

/// Runs the core on one query and counts the outcome.
pub(crate) fn classify(shared: &Shared, query: &[u8], transport: Transport) -> Step {
    let counters = &shared.counters;
    bump(&counters.queries);
    let snapshot = shared.snapshot.borrow().clone();
    match handle(&snapshot, query, transport) {
        Action::Reply(reply) => {
            match reply.kind {
                ReplyKind::FormErr => bump(&counters.malformed),
                ReplyKind::NxDomain => {
                    bump(&counters.nxdomain);
                    bump(&counters.answered_locally);
                }
                _ => bump(&counters.answered_locally),
            }
            Step::Done(Some(reply.bytes))
        }
        Action::Forward(forward) => {
            bump(&counters.forwarded);
            Step::Forward(forward)
        }
        Action::Drop(DropReason::TooShort) => {
            bump(&counters.malformed);
            Step::Done(None)
        }
        Action::Drop(DropReason::Response) => {
            bump(&counters.dropped);
            Step::Done(None)
        }
    }
}

async fn serve_udp(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let mut buf = vec![0; MAX_DATAGRAM];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            // ICMP errors from earlier sends surface here on some systems; keep serving.
            Err(e) => {
                tracing::debug!(error = %e, "dns: udp receive failed");
                continue;
            }
        };
        match classify(&shared, &buf[..len], Transport::Udp) {
            // Local answers are cheap: sent inline.
            Step::Done(reply) => {
                if let Some(reply) = reply {
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
            // A forward waits on the network: a task each, bounded by the in-flight cap inside
            // `resolve`.
            Step::Forward(forward) => {
                let shared = shared.clone();
                let socket = socket.clone();
                tokio::spawn(async move {
                    let reply = resolve(&shared, &forward).await;
                    let _ = socket.send_to(&reply, peer).await;
                });
            }
        }
    }
}

async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let connections = Arc::new(Semaphore::new(shared.options.max_tcp_connections));
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "dns: tcp accept failed");
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            serve_connection(&shared, stream).await;
            drop(permit);
        });
    }
}

/// Length-prefixed queries on one connection (RFC 7766 §8), answered in order, until the peer
/// closes, errs or idles past the timeout.
async fn serve_connection(shared: &Arc<Shared>, mut stream: TcpStream) {
    let idle = shared.options.tcp_idle_timeout;
    loop {
        let mut prefix = [0u8; 2];
        match tokio::time::timeout(idle, stream.read_exact(&mut prefix)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut query = vec![0; usize::from(u16::from_be_bytes(prefix))];
        match tokio::time::timeout(idle, stream.read_exact(&mut query)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let reply = match classify(shared, &query, Transport::Tcp) {
            Step::Done(Some(reply)) => reply,
            Step::Done(None) => continue,
            Step::Forward(forward) => resolve(shared, &forward).await,
        };
        let Ok(len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
