//! The server end to end on 127.0.0.1 (ephemeral ports only): cluster names, NXDOMAIN,
//! forwarding through a fake upstream and the cache, TCP, truncation, failing upstreams and
//! the in-flight cap. Where time matters the clock is tokio's, paused.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use podnet_dns::{Config, Snapshot};
use podnet_dnsd::{Options, Server};
use podnet_model::{ObjectMeta, Service, ServiceSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::{timeout, Instant};

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
/// How long a test waits for a reply before failing (virtual time under the paused clock).
const CLIENT_WAIT: Duration = Duration::from_secs(10);
/// The address the fake upstream answers with.
const UPSTREAM_IP: Ipv4Addr = Ipv4Addr::new(93, 184, 216, 34);

fn cluster() -> Snapshot {
    let web = Service {
        metadata: ObjectMeta::namespaced("default", "web"),
        spec: ServiceSpec {
            cluster_ip: Some("10.96.0.10".to_owned()),
            ..ServiceSpec::default()
        },
    };
    Snapshot::build(&Config::default(), &[web], &[], &[]).expect("builds")
}

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(
        Name::from_ascii(name).expect("name"),
        RecordType::A,
    ));
    message.to_vec().expect("encodes")
}

/// The fake upstream's reply to `query`: one A record, TTL 60, or an empty truncated reply.
fn upstream_answer(query: &[u8], truncated: bool) -> Vec<u8> {
    let query = Message::from_vec(query).expect("the server sent a valid query");
    let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_available = true;
    reply.queries = query.queries.clone();
    if truncated {
        reply.metadata.truncation = true;
    } else {
        let name = query.queries[0].name().clone();
        reply
            .answers
            .push(Record::from_rdata(name, 60, RData::A(A(UPSTREAM_IP))));
    }
    reply.to_vec().expect("encodes")
}

/// A UDP upstream answering every query (truncated if `truncate`), counting them; with
/// `truncate`, a TCP listener on the same port gives the full answer.
struct FakeUpstream {
    addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
}

async fn fake_upstream(truncate: bool) -> FakeUpstream {
    let socket = UdpSocket::bind(LOOPBACK).await.expect("bind upstream");
    let addr = socket.local_addr().expect("addr");
    let udp_queries = Arc::new(AtomicUsize::new(0));
    let tcp_queries = Arc::new(AtomicUsize::new(0));
    let seen = udp_queries.clone();
    tokio::spawn(async move {
        let mut buf = vec![0; 65_535];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = socket
                .send_to(&upstream_answer(&buf[..len], truncate), peer)
                .await;
        }
    });
    if truncate {
        let listener = TcpListener::bind(addr).await.expect("bind upstream tcp");
        let seen = tcp_queries.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let query = read_framed(&mut stream).await;
                write_framed(&mut stream, &upstream_answer(&query, false)).await;
            }
        });
    }
    FakeUpstream {
        addr,
        udp_queries,
        tcp_queries,
    }
}

async fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await.expect("length");
    let mut body = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut body).await.expect("body");
    body
}

async fn write_framed(stream: &mut TcpStream, bytes: &[u8]) {
    let mut framed = u16::try_from(bytes.len())
        .expect("fits")
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.expect("write");
}

async fn server(upstreams: Vec<SocketAddr>, options: Options) -> Server {
    let server = Server::bind_with(LOOPBACK, upstreams, options)
        .await
        .expect("bind");
    server.handle().set_snapshot(cluster());
    server
}

/// One UDP client socket.
async fn client(server: &Server) -> UdpSocket {
    let socket = UdpSocket::bind(LOOPBACK).await.expect("bind client");
    socket.connect(server.local_addr()).await.expect("connect");
    socket
}

async fn recv(socket: &UdpSocket) -> Message {
    let mut buf = vec![0; 65_535];
    let len = timeout(CLIENT_WAIT, socket.recv(&mut buf))
        .await
        .expect("a reply in time")
        .expect("recv");
    Message::from_vec(&buf[..len]).expect("reply decodes")
}

async fn ask_udp(server: &Server, id: u16, name: &str) -> Message {
    let socket = client(server).await;
    socket.send(&query(id, name)).await.expect("send");
    let reply = recv(&socket).await;
    assert_eq!(reply.metadata.id, id);
    reply
}

fn a_records(reply: &Message) -> Vec<Ipv4Addr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match r.data {
            RData::A(A(ip)) => Some(ip),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn cluster_names_are_answered_and_missing_ones_are_nxdomain() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let reply = ask_udp(&server, 1, "web.default.svc.cluster.local.").await;
    assert_eq!(a_records(&reply), [Ipv4Addr::new(10, 96, 0, 10)]);
    assert!(reply.metadata.authoritative);
    let reply = ask_udp(&server, 2, "nope.default.svc.cluster.local.").await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    let counters = server.handle().counters();
    assert_eq!(counters.queries, 2);
    assert_eq!(counters.answered_locally, 2);
    assert_eq!(counters.nxdomain, 1);
    assert_eq!(counters.forwarded, 0);
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_new_snapshot_is_served_at_once() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let empty = Snapshot::empty(&Config::default()).expect("empty");
    server.handle().set_snapshot(empty);
    let reply = ask_udp(&server, 1, "web.default.svc.cluster.local.").await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(server.handle().snapshot().is_empty());
}

#[tokio::test]
async fn forwarded_names_are_answered_then_served_from_the_cache() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let first = ask_udp(&server, 7, "www.example.com.").await;
    assert_eq!(a_records(&first), [UPSTREAM_IP]);
    assert!(!first.metadata.authoritative);
    let second = ask_udp(&server, 8, "WWW.example.com.").await;
    assert_eq!(a_records(&second), [UPSTREAM_IP]);
    assert_eq!(second.queries[0].name().to_ascii(), "WWW.example.com.");
    assert_eq!(
        upstream.udp_queries.load(Ordering::SeqCst),
        1,
        "the second came from the cache"
    );
    let counters = server.handle().counters();
    assert_eq!((counters.forwarded, counters.cache_hits), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn cached_answers_expire_with_their_ttl() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    ask_udp(&server, 1, "www.example.com.").await;
    tokio::time::advance(Duration::from_secs(30)).await;
    let aged = ask_udp(&server, 2, "www.example.com.").await;
    assert_eq!(aged.answers[0].ttl, 30, "60 s TTL, 30 s in the cache");
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(31)).await;
    ask_udp(&server, 3, "www.example.com.").await;
    assert_eq!(
        upstream.udp_queries.load(Ordering::SeqCst),
        2,
        "expired: asked again"
    );
}

#[tokio::test]
async fn tcp_queries_are_answered() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let mut stream = TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    for (id, name, want) in [
        (
            1,
            "web.default.svc.cluster.local.",
            Ipv4Addr::new(10, 96, 0, 10),
        ),
        (2, "www.example.com.", UPSTREAM_IP),
    ] {
        write_framed(&mut stream, &query(id, name)).await;
        let reply = timeout(CLIENT_WAIT, read_framed(&mut stream))
            .await
            .expect("a reply in time");
        let reply = Message::from_vec(&reply).expect("decodes");
        assert_eq!(reply.metadata.id, id);
        assert_eq!(a_records(&reply), [want], "{name}");
    }
}

#[tokio::test]
async fn a_truncated_upstream_answer_is_retried_over_tcp() {
    let upstream = fake_upstream(true).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let reply = ask_udp(&server, 1, "www.example.com.").await;
    assert_eq!(a_records(&reply), [UPSTREAM_IP]);
    assert!(!reply.metadata.truncation);
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), 1);
    assert_eq!(upstream.tcp_queries.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_silent_upstream_gives_servfail_within_the_timeout() {
    // Bound and never read: queries to it vanish.
    let black_hole = UdpSocket::bind(LOOPBACK).await.expect("bind");
    let server = server(
        vec![black_hole.local_addr().expect("addr")],
        Options::default(),
    )
    .await;
    let started = Instant::now();
    let reply = ask_udp(&server, 1, "www.example.com.").await;
    let waited = started.elapsed();
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_millis(2100),
        "waited {waited:?}"
    );
    let counters = server.handle().counters();
    assert_eq!((counters.servfail, counters.upstream_errors), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_dead_upstream_is_skipped_for_the_next() {
    // A port with nothing bound: the kernel answers port unreachable, the attempt fails fast.
    let dead = UdpSocket::bind(LOOPBACK).await.expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let upstream = fake_upstream(false).await;
    let server = server(vec![dead_addr, upstream.addr], Options::default()).await;
    let started = Instant::now();
    let reply = ask_udp(&server, 1, "www.example.com.").await;
    assert_eq!(a_records(&reply), [UPSTREAM_IP]);
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "the dead one had half the budget"
    );
    assert_eq!(server.handle().counters().upstream_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn forwards_beyond_the_in_flight_cap_get_servfail_at_once() {
    let black_hole = UdpSocket::bind(LOOPBACK).await.expect("bind");
    let options = Options {
        max_in_flight: 1,
        ..Options::default()
    };
    let server = server(vec![black_hole.local_addr().expect("addr")], options).await;
    let socket = client(&server).await;
    socket.send(&query(1, "one.example.")).await.expect("send");
    socket.send(&query(2, "two.example.")).await.expect("send");
    let started = Instant::now();
    let first = recv(&socket).await;
    assert_eq!(
        (first.metadata.id, first.metadata.response_code),
        (2, ResponseCode::ServFail)
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "refused without waiting"
    );
    let second = recv(&socket).await;
    assert_eq!(
        (second.metadata.id, second.metadata.response_code),
        (1, ResponseCode::ServFail)
    );
    let counters = server.handle().counters();
    assert_eq!((counters.overloaded, counters.servfail), (1, 2));
}

#[tokio::test]
async fn malformed_queries_are_counted() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    let socket = client(&server).await;
    socket.send(&[1, 2, 3]).await.expect("send");
    let mut cut = query(9, "web.default.svc.cluster.local.");
    cut.truncate(20);
    socket.send(&cut).await.expect("send");
    let reply = recv(&socket).await;
    assert_eq!(
        (reply.metadata.id, reply.metadata.response_code),
        (9, ResponseCode::FormErr)
    );
    assert_eq!(
        server.handle().counters().malformed,
        2,
        "the 3 bytes got no reply"
    );
}

#[tokio::test]
async fn counters_serialize_in_camel_case() {
    let upstream = fake_upstream(false).await;
    let server = server(vec![upstream.addr], Options::default()).await;
    ask_udp(&server, 1, "web.default.svc.cluster.local.").await;
    let json = serde_json::to_value(server.handle().counters()).expect("serializes");
    assert_eq!(json["queries"], 1);
    assert_eq!(json["answeredLocally"], 1);
    assert_eq!(json["cacheHits"], 0);
}

#[tokio::test]
async fn binding_needs_an_upstream() {
    assert!(matches!(
        Server::bind(LOOPBACK, Vec::new()).await,
        Err(podnet_dnsd::ServerError::NoUpstreams)
    ));
}
