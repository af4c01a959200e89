//! Answering a forwarded question: the cache, else the upstreams in order over UDP (TCP when
//! the UDP answer is truncated) within one overall timeout, else SERVFAIL. At most
//! `max_in_flight` of these wait on the network at once.
//!
//! Each attempt uses a fresh connected UDP socket (a kernel-chosen source port, and only the
//! upstream's own datagrams are read) and an unpredictable query id, so an off-path spoofer
//! has to guess both.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use podnet_dns::{Answer, Forward};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

use crate::counters::bump;
use crate::server::{Shared, MAX_DATAGRAM};

/// Why one upstream attempt failed (logged and counted, never returned to the client).
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptError {
    #[error("upstream {upstream} i/o: {source}")]
    Io {
        upstream: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("upstream {upstream} timed out")]
    Timeout { upstream: SocketAddr },
    #[error("upstream {upstream}: {source}")]
    Reply {
        upstream: SocketAddr,
        #[source]
        source: podnet_dns::UpstreamError,
    },
}

/// The client's reply to `forward`.
pub(crate) async fn resolve(shared: &Arc<Shared>, forward: &Forward) -> Vec<u8> {
    let counters = &shared.counters;
    let now = Instant::now().into_std();
    let cached = lock_cache(shared).get(forward.question(), now);
    if let Some(answer) = cached {
        bump(&counters.cache_hits);
        return reply(shared, forward, &answer);
    }
    let Ok(_permit) = shared.in_flight.try_acquire() else {
        bump(&counters.overloaded);
        bump(&counters.servfail);
        return forward.servfail();
    };
    let deadline = Instant::now() + shared.options.timeout;
    let count = shared.upstreams.len();
    for (index, upstream) in shared.upstreams.iter().enumerate() {
        // The time left is shared among the upstreams not yet tried, so one black-holed
        // upstream cannot eat the whole budget.
        let left = deadline.saturating_duration_since(Instant::now());
        let slots = u32::try_from(count - index).unwrap_or(u32::MAX);
        let attempt_deadline = Instant::now() + left / slots;
        match exchange(forward, *upstream, attempt_deadline).await {
            Ok(answer) => {
                let now = Instant::now().into_std();
                lock_cache(shared).insert(forward.question().clone(), &answer, now);
                return reply(shared, forward, &answer);
            }
            Err(e) => {
                bump(&counters.upstream_errors);
                tracing::debug!(question = %forward.question(), error = %e, "dns: upstream attempt failed");
            }
        }
    }
    bump(&counters.servfail);
    forward.servfail()
}

fn reply(shared: &Shared, forward: &Forward, answer: &Answer) -> Vec<u8> {
    if answer.is_nxdomain() {
        bump(&shared.counters.nxdomain);
    }
    if answer.is_servfail() {
        bump(&shared.counters.servfail);
    }
    forward.reply(answer)
}

fn lock_cache(shared: &Shared) -> std::sync::MutexGuard<'_, podnet_dns::Cache> {
    // A panic while holding the lock leaves a cache that is still consistent enough to use.
    shared
        .cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One upstream: UDP, then TCP if the UDP answer came back truncated.
async fn exchange(
    forward: &Forward,
    upstream: SocketAddr,
    deadline: Instant,
) -> Result<Answer, AttemptError> {
    let timed_out = || AttemptError::Timeout { upstream };
    let answer = timeout_at(deadline, exchange_udp(forward, upstream))
        .await
        .map_err(|_| timed_out())??;
    if !answer.is_truncated() {
        return Ok(answer);
    }
    timeout_at(deadline, exchange_tcp(forward, upstream))
        .await
        .map_err(|_| timed_out())?
}

async fn exchange_udp(forward: &Forward, upstream: SocketAddr) -> Result<Answer, AttemptError> {
    let io = |source| AttemptError::Io { upstream, source };
    let local: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(upstream).await.map_err(io)?;
    let id = query_id();
    socket.send(&forward.upstream_query(id)).await.map_err(io)?;
    let mut buf = vec![0; MAX_DATAGRAM];
    loop {
        let len = socket.recv(&mut buf).await.map_err(io)?;
        match forward.accept(id, &buf[..len]) {
            Ok(answer) => return Ok(answer),
            // A late reply to an earlier query, or a forgery: keep waiting for the real one.
            Err(podnet_dns::UpstreamError::IdMismatch { .. }) => continue,
            Err(source) => return Err(AttemptError::Reply { upstream, source }),
        }
    }
}

async fn exchange_tcp(forward: &Forward, upstream: SocketAddr) -> Result<Answer, AttemptError> {
    let io = |source| AttemptError::Io { upstream, source };
    let mut stream = TcpStream::connect(upstream).await.map_err(io)?;
    let id = query_id();
    let query = forward.upstream_query(id);
    let len = u16::try_from(query.len()).unwrap_or(u16::MAX);
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&query);
    stream.write_all(&framed).await.map_err(io)?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await.map_err(io)?;
    let mut reply = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut reply).await.map_err(io)?;
    forward
        .accept(id, &reply)
        .map_err(|source| AttemptError::Reply { upstream, source })
}

/// An unpredictable 16-bit query id: a counter hashed with a per-process random SipHash key
/// (std's `RandomState` is seeded from the OS), so no random-number crate is needed.
fn query_id() -> u16 {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hash = KEY.get_or_init(RandomState::new).hash_one(n);
    (hash & u64::from(u16::MAX)) as u16
}
