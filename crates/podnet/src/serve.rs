//! `podnet serve`: a tiny server run inside pods and nodes so checks need no extra tools.
//! HTTP (or any request) on TCP `--port`, and any datagram on UDP `--port`, is answered with the
//! address the server saw the client come from — how checks prove that no NAT happened. `--stream-port` echoes bytes back for
//! `podnet stream`, the long-lived connection the restart tests keep open.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};

use anyhow::{Context, Result};

/// Serves forever.
pub fn run(port: u16, stream_port: Option<u16>) -> Result<()> {
    if let Some(sp) = stream_port {
        let l =
            TcpListener::bind(("0.0.0.0", sp)).with_context(|| format!("listen on port {sp}"))?;
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                std::thread::spawn(move || echo(conn));
            }
        });
    }
    let udp =
        UdpSocket::bind(("0.0.0.0", port)).with_context(|| format!("listen on UDP port {port}"))?;
    std::thread::spawn(move || udp_echo(udp));
    let l =
        TcpListener::bind(("0.0.0.0", port)).with_context(|| format!("listen on port {port}"))?;
    for conn in l.incoming() {
        let Ok(conn) = conn else { continue };
        std::thread::spawn(move || handle(conn));
    }
    Ok(())
}

fn handle(mut c: TcpStream) {
    let peer = c.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut buf = [0u8; 2048];
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let _ = c.read(&mut buf);
    let body = format!("podnet serve: hello {peer}\n");
    let _ = write!(
        c,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn echo(mut c: TcpStream) {
    let _ = c.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if c.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn udp_echo(sock: UdpSocket) {
    let mut buf = [0u8; 2048];
    while let Ok((_, peer)) = sock.recv_from(&mut buf) {
        let _ = sock.send_to(format!("podnet serve: hello {peer}\n").as_bytes(), peer);
    }
}

/// `podnet udp-probe`: one datagram to a `podnet serve` UDP port; prints the answer.
pub fn udp_probe(to: std::net::SocketAddr, timeout_ms: u64) -> Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", 0)).context("bind a UDP socket")?;
    sock.set_read_timeout(Some(std::time::Duration::from_millis(timeout_ms)))?;
    sock.send_to(b"probe", to)
        .with_context(|| format!("send to {to}"))?;
    let mut buf = [0u8; 2048];
    let (n, _) = sock
        .recv_from(&mut buf)
        .with_context(|| format!("no UDP answer from {to} within {timeout_ms} ms"))?;
    print!("{}", String::from_utf8_lossy(&buf[..n]));
    Ok(())
}
