//! `podnet rr`: TCP request/response against `podnet serve --stream-port` — the latency of one
//! small exchange on an open connection (like netperf's TCP_RR), or with `--connect` a whole
//! connection per exchange (connect, request, response, close: TCP_CRR, the connection rate).
//! Every echo is compared with what was sent (fresh pseudo-random bytes each time), so large
//! `--size` runs double as a data-integrity check of a path. Prints one JSON object;
//! `podnet bench backends` runs it inside the lab's namespaces.
//!
//! With `--connect` the client closes with a reset (`SO_LINGER` 0) so a few seconds at tens of
//! thousands of connections per second do not exhaust the ephemeral ports with TIME_WAIT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(clap::Args, Debug, Clone)]
pub struct RrArgs {
    /// The echo server, e.g. 10.244.2.2:9000.
    #[arg(long)]
    pub to: SocketAddr,
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// A new connection for every exchange (connection rate).
    #[arg(long)]
    pub connect: bool,
    /// Bytes per request (and response).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RrResult {
    pub transactions: u64,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

const TIMEOUT: Duration = Duration::from_secs(3);

fn exchange(c: &mut TcpStream, msg: &[u8], buf: &mut [u8]) -> Result<()> {
    c.write_all(msg).context("send")?;
    c.read_exact(buf).context("receive the echo")?;
    if buf != msg {
        bail!("the echo differs from what was sent (data corrupted on the way)");
    }
    Ok(())
}

fn open(to: &SocketAddr) -> Result<TcpStream> {
    let c = TcpStream::connect_timeout(to, TIMEOUT).with_context(|| format!("connect to {to}"))?;
    c.set_nodelay(true)?;
    c.set_read_timeout(Some(TIMEOUT))?;
    Ok(c)
}

fn reset_on_close(c: &TcpStream) -> Result<()> {
    use nix::sys::socket::{setsockopt, sockopt::Linger};
    let l = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(c, Linger, &l).context("SO_LINGER")?;
    Ok(())
}

/// Runs the exchanges for `a.seconds`.
pub fn measure(a: &RrArgs) -> Result<RrResult> {
    let size = a.size.clamp(1, 65_536);
    let mut msg = vec![0u8; size];
    let mut buf = vec![0u8; size];
    let mut lat_us: Vec<u32> = Vec::new();
    let mut conn = if a.connect { None } else { Some(open(&a.to)?) };
    let (start, limit) = (Instant::now(), Duration::from_secs(a.seconds.max(1)));
    let mut x = 0x9e37_79b9_u32;
    while start.elapsed() < limit {
        // Different bytes every exchange (xorshift), so a misplaced segment cannot go unseen.
        for b in msg.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let t = Instant::now();
        match conn.as_mut() {
            Some(c) => exchange(c, &msg, &mut buf)?,
            None => {
                let mut c = open(&a.to)?;
                exchange(&mut c, &msg, &mut buf)?;
                reset_on_close(&c)?;
            }
        }
        lat_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let secs = start.elapsed().as_secs_f64();
    lat_us.sort_unstable();
    let pct = |p: f64| {
        lat_us
            .get(((lat_us.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |v| f64::from(*v))
    };
    Ok(RrResult {
        transactions: lat_us.len() as u64,
        per_second: lat_us.len() as f64 / secs,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    })
}

/// `podnet rr`: prints the result as JSON.
pub fn run(a: &RrArgs) -> Result<()> {
    println!("{}", serde_json::to_string(&measure(a)?)?);
    Ok(())
}
