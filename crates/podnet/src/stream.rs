//! `podnet stream`: one TCP connection kept busy for a while — a message every `--interval-ms`,
//! each echoed back by `podnet serve --stream-port` — failing (exit 1) if the connection breaks
//! or any echo takes longer than `--max-stall-ms`. Restart and outage tests run it across nodes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    /// The echo server, e.g. 10.244.2.2:9000.
    #[arg(long)]
    pub to: SocketAddr,
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    #[arg(long, default_value_t = 10)]
    pub interval_ms: u64,
    /// The longest an echo may take before the stream counts as broken.
    #[arg(long, default_value_t = 2000)]
    pub max_stall_ms: u64,
}

/// Runs the stream; errors when it broke.
pub fn run(a: &StreamArgs) -> Result<()> {
    const MSG: usize = 64;
    let stall = Duration::from_millis(a.max_stall_ms);
    let mut c = TcpStream::connect_timeout(&a.to, Duration::from_secs(3))
        .with_context(|| format!("connect to {}", a.to))?;
    c.set_read_timeout(Some(stall))?;
    c.set_nodelay(true)?;
    let start = Instant::now();
    let (mut n, mut worst) = (0u64, Duration::ZERO);
    let mut buf = [0u8; MSG];
    while start.elapsed() < Duration::from_secs(a.seconds) {
        let mut msg = [0u8; MSG];
        msg[..8].copy_from_slice(&n.to_be_bytes());
        let t = Instant::now();
        c.write_all(&msg)
            .with_context(|| format!("write {n} after {:?}", start.elapsed()))?;
        c.read_exact(&mut buf).with_context(|| {
            format!(
                "echo {n} lost after {:?} (stall > {stall:?})",
                start.elapsed()
            )
        })?;
        if buf != msg {
            bail!("echo {n} came back corrupted");
        }
        worst = worst.max(t.elapsed());
        n += 1;
        std::thread::sleep(Duration::from_millis(a.interval_ms));
    }
    println!(
        "stream ok: {n} round trips in {:?}, slowest {:?}",
        start.elapsed(),
        worst
    );
    Ok(())
}
