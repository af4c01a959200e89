//! `podnet serve`: a tiny server run inside pods and nodes so checks need no extra tools.
//! HTTP (or any request) on `--port` is answered with the address the server saw the client come
//! from — how checks prove that no NAT happened. `--stream-port` echoes bytes back for
//! `podnet stream`, the long-lived connection the restart tests keep open.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

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
