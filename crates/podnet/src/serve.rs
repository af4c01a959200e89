//! `podnet serve`: a tiny server run inside pods and nodes so checks need no extra tools.
//!
//! Every TCP port (`--tcp`, repeatable) answers a request (HTTP or anything else) with one line
//! naming the server (`--identity NS/NAME`, a lab pod's namespace and name) and the address it
//! saw the client come from; every UDP port (`--udp`) answers each datagram with the same line.
//! That address is how checks prove that no NAT happened. `--port P` is `--tcp P --udp P`, and
//! without any port flag the server listens on 8080 both ways, as it always has.
//! `--stream-port` echoes bytes back for `podnet stream`, the long-lived connection the restart
//! tests keep open.
//!
//! Every socket is bound before anything is served: a port that cannot be bound ends the server
//! with an error naming it, and `--ready-file` is written only once all of them listen (the
//! lab's kubelet waits for it before it calls a pod Ready).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

/// The port `podnet serve` listens on (TCP and UDP) when no port is given.
pub const DEFAULT_PORT: u16 = 8080;
/// How long a TCP client gets to send its request before it is answered anyway.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a request or datagram that is read (the answer does not depend on it).
const READ_BUF: usize = 2048;
/// The echo port's read size.
const ECHO_BUF: usize = 4096;

/// What one `podnet serve` listens on and how it names itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeConfig {
    pub tcp: Vec<u16>,
    pub udp: Vec<u16>,
    /// The echo port for `podnet stream`.
    pub stream: Option<u16>,
    /// Named in every answer (`NS/NAME` of a lab pod).
    pub identity: Option<String>,
    /// Written once every socket listens.
    pub ready_file: Option<PathBuf>,
}

impl ServeConfig {
    /// The configuration of the command line: `--port` adds TCP and UDP, no port flag at all
    /// means [`DEFAULT_PORT`]; duplicates are dropped, the order kept.
    pub fn from_flags(port: Option<u16>, tcp: &[u16], udp: &[u16]) -> ServeConfig {
        let mut cfg = ServeConfig::default();
        let port = match port {
            None if tcp.is_empty() && udp.is_empty() => Some(DEFAULT_PORT),
            p => p,
        };
        for p in port.iter().chain(tcp) {
            if !cfg.tcp.contains(p) {
                cfg.tcp.push(*p);
            }
        }
        for p in port.iter().chain(udp) {
            if !cfg.udp.contains(p) {
                cfg.udp.push(*p);
            }
        }
        cfg
    }
}

/// The line every port answers with: `podnet serve NS/NAME: hello CLIENT\n` (`podnet serve:
/// hello CLIENT\n` without an identity). Checks read the client address after `hello `.
pub fn answer(identity: Option<&str>, client: &SocketAddr) -> String {
    match identity {
        Some(id) => format!("podnet serve {id}: hello {client}\n"),
        None => format!("podnet serve: hello {client}\n"),
    }
}

/// Binds every port, writes the ready file, and serves forever.
pub fn run(cfg: &ServeConfig) -> Result<()> {
    let any = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));
    let mut tcp = Vec::new();
    for &p in &cfg.tcp {
        tcp.push(TcpListener::bind(any(p)).with_context(|| format!("listen on TCP port {p}"))?);
    }
    let mut udp = Vec::new();
    for &p in &cfg.udp {
        udp.push(UdpSocket::bind(any(p)).with_context(|| format!("listen on UDP port {p}"))?);
    }
    let stream = match cfg.stream {
        Some(p) => {
            Some(TcpListener::bind(any(p)).with_context(|| format!("listen on stream port {p}"))?)
        }
        None => None,
    };
    if let Some(path) = &cfg.ready_file {
        std::fs::write(path, b"ready\n").with_context(|| format!("write {}", path.display()))?;
    }
    let mut threads = Vec::new();
    if let Some(l) = stream {
        threads.push(std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                std::thread::spawn(move || echo(conn));
            }
        }));
    }
    for sock in udp {
        let id = cfg.identity.clone();
        threads.push(std::thread::spawn(move || udp_answer(&sock, id.as_deref())));
    }
    for l in tcp {
        let id = cfg.identity.clone();
        threads.push(std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let id = id.clone();
                std::thread::spawn(move || handle(conn, id.as_deref()));
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn handle(mut c: TcpStream, identity: Option<&str>) {
    let Ok(peer) = c.peer_addr() else { return };
    let _ = c.set_read_timeout(Some(REQUEST_TIMEOUT));
    read_request_head(&mut c);
    let body = answer(identity, &peer);
    let _ = write!(
        c,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

/// Reads until the request's head has ended (an empty line), the client stops sending or
/// [`READ_BUF`] bytes have come; the answer does not depend on what was read. One read was not
/// enough: a request split over several segments was answered after its first, and the rest
/// then reset the connection.
fn read_request_head(c: &mut TcpStream) {
    let mut buf = [0u8; READ_BUF];
    let mut len = 0;
    while len < buf.len() {
        match c.read(&mut buf[len..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
        let head = &buf[..len];
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return;
        }
    }
}

fn echo(mut c: TcpStream) {
    let _ = c.set_nodelay(true);
    let mut buf = [0u8; ECHO_BUF];
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

fn udp_answer(sock: &UdpSocket, identity: Option<&str>) {
    let mut buf = [0u8; READ_BUF];
    while let Ok((_, peer)) = sock.recv_from(&mut buf) {
        let _ = sock.send_to(answer(identity, &peer).as_bytes(), peer);
    }
}

/// `podnet udp-probe`: one datagram to a `podnet serve` UDP port; prints the answer.
pub fn udp_probe(to: SocketAddr, timeout_ms: u64) -> Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", 0)).context("bind a UDP socket")?;
    sock.set_read_timeout(Some(Duration::from_millis(timeout_ms)))?;
    sock.send_to(b"probe", to)
        .with_context(|| format!("send to {to}"))?;
    let mut buf = [0u8; READ_BUF];
    let (n, _) = sock
        .recv_from(&mut buf)
        .with_context(|| format!("no UDP answer from {to} within {timeout_ms} ms"))?;
    print!("{}", String::from_utf8_lossy(&buf[..n]));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_the_old_default() {
        let bare = ServeConfig::from_flags(None, &[], &[]);
        assert_eq!((bare.tcp, bare.udp), (vec![8080], vec![8080]));
        let port = ServeConfig::from_flags(Some(8082), &[], &[]);
        assert_eq!((port.tcp, port.udp), (vec![8082], vec![8082]));
        let mixed = ServeConfig::from_flags(Some(8080), &[80, 8080, 81], &[80]);
        assert_eq!(mixed.tcp, vec![8080, 80, 81]);
        assert_eq!(mixed.udp, vec![8080, 80]);
        let only_udp = ServeConfig::from_flags(None, &[], &[53]);
        assert_eq!((only_udp.tcp, only_udp.udp), (vec![], vec![53]));
    }

    #[test]
    fn answers_name_the_server_and_the_client() {
        let client: SocketAddr = "10.244.1.5:40000".parse().unwrap();
        assert_eq!(
            answer(Some("x/a"), &client),
            "podnet serve x/a: hello 10.244.1.5:40000\n"
        );
        assert_eq!(
            answer(None, &client),
            "podnet serve: hello 10.244.1.5:40000\n"
        );
    }

    /// Every port answers on loopback (TCP and UDP), and the ready file exists only after
    /// every socket is bound; a port already taken is an error naming it.
    #[test]
    fn serves_every_port_then_says_ready() {
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (t, u) = (free(), free());
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let cfg = ServeConfig {
            tcp: vec![t],
            udp: vec![u],
            identity: Some("y/b".into()),
            ready_file: Some(ready.clone()),
            ..ServeConfig::default()
        };
        std::thread::spawn(move || run(&cfg));
        for _ in 0..200 {
            if ready.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(ready.exists());
        let mut c = TcpStream::connect(("127.0.0.1", t)).unwrap();
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        assert!(
            text.contains("podnet serve y/b: hello 127.0.0.1:"),
            "{text}"
        );
        // A request split over several writes (segments) is answered once, after its head:
        // answered after the first read, the rest reset the connection.
        let mut c = TcpStream::connect(("127.0.0.1", t)).unwrap();
        c.set_nodelay(true).unwrap();
        for part in ["GET / HTTP/1.0\r\n", "Host: 127.0.0.1\r\n", "\r\n"] {
            c.write_all(part.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        assert!(
            text.contains("podnet serve y/b: hello 127.0.0.1:"),
            "{text}"
        );
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.send_to(b"x", ("127.0.0.1", u)).unwrap();
        let mut buf = [0u8; 256];
        let n = s.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]);
        assert!(
            line.starts_with("podnet serve y/b: hello 127.0.0.1:"),
            "{line}"
        );

        let taken = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = run(&ServeConfig::from_flags(None, &[port], &[])).unwrap_err();
        assert_eq!(err.to_string(), format!("listen on TCP port {port}"));
    }
}
