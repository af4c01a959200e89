//! `podnet serve`: a tiny echo server run inside pods so checks need no extra tools. Answers an
//! HTTP GET (or any line) with the address it saw the client come from, which is how checks
//! prove that no NAT happened between pods.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use anyhow::{Context, Result};

/// Serves forever on 0.0.0.0:`port`.
pub fn run(port: u16) -> Result<()> {
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
