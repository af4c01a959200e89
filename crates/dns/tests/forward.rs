//! Forwarding and the cache: the Forward a foreign name becomes, what is accepted back from an
//! upstream, the client's reply, and how long the cache keeps positive and negative answers.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use podnet_dns::{handle, Action, Answer, Cache, CacheConfig, Forward, Transport, UpstreamError};

fn forward_of(name: &str, qtype: RecordType) -> Forward {
    match handle(
        &snapshot(&[], &[], &[]),
        &query_bytes(name, qtype, true),
        Transport::Udp,
    ) {
        Action::Forward(forward) => forward,
        other => panic!("{name} is not forwarded: {other:?}"),
    }
}

/// An upstream's reply to `query` (bytes it was sent), built by `edit`.
fn upstream_reply(query: &[u8], edit: impl FnOnce(&mut Message)) -> Vec<u8> {
    let query = Message::from_vec(query).expect("upstream query decodes");
    let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    reply.queries = query.queries.clone();
    edit(&mut reply);
    reply.to_vec().expect("encodes")
}

fn a(name: &str, ttl: u32, ip: [u8; 4]) -> Record {
    Record::from_rdata(
        Name::from_ascii(name).expect("name"),
        ttl,
        RData::A(A(Ipv4Addr::from(ip))),
    )
}

fn soa(ttl: u32, minimum: u32) -> Record {
    let name = Name::from_ascii("example.com.").expect("name");
    let data = SOA::new(name.clone(), name.clone(), 1, 7200, 900, 86400, minimum);
    Record::from_rdata(name, ttl, RData::SOA(data))
}

fn answer(forward: &Forward, edit: impl FnOnce(&mut Message)) -> Answer {
    let query = forward.upstream_query(99);
    forward
        .accept(99, &upstream_reply(&query, edit))
        .expect("accepted")
}

#[test]
fn names_outside_the_cluster_are_forwarded_with_a_fresh_id_and_rd() {
    let forward = forward_of("WWW.Example.COM.", RecordType::A);
    assert_eq!(forward.question().name(), "www.example.com.");
    assert_eq!(forward.question().qtype(), 1);
    assert_eq!(forward.id(), 0x1234);
    assert_eq!(
        forward.reply_limit(),
        1232,
        "the client sent EDNS 4096; podnet caps at 1232"
    );
    let query = Message::from_vec(&forward.upstream_query(0xbeef)).expect("decodes");
    assert_eq!(query.metadata.id, 0xbeef);
    assert!(query.metadata.recursion_desired);
    assert_eq!(query.queries[0].name().to_ascii(), "WWW.Example.COM.");
    assert!(query.edns.is_some());
}

#[test]
fn upstream_replies_are_checked() {
    let forward = forward_of("www.example.com.", RecordType::A);
    let query = forward.upstream_query(5);
    let good = upstream_reply(&query, |_| {});
    assert!(forward.accept(5, &good).is_ok());
    assert!(matches!(
        forward.accept(6, &good),
        Err(UpstreamError::IdMismatch {
            expected: 6,
            got: 5
        })
    ));
    assert!(matches!(
        forward.accept(5, &query),
        Err(UpstreamError::NotAResponse { id: 5 })
    ));
    let other = upstream_reply(
        &forward_of("evil.example.", RecordType::A).upstream_query(5),
        |_| {},
    );
    assert!(matches!(
        forward.accept(5, &other),
        Err(UpstreamError::QuestionMismatch { .. })
    ));
    assert!(matches!(
        forward.accept(5, &good[..good.len() - 3]),
        Err(UpstreamError::Malformed { .. })
    ));
    let upper = upstream_reply(
        &forward_of("WWW.EXAMPLE.COM.", RecordType::A).upstream_query(5),
        |_| {},
    );
    assert!(
        forward.accept(5, &upper).is_ok(),
        "names compare case-insensitively"
    );
}

#[test]
fn the_clients_reply_carries_its_id_and_question() {
    let forward = forward_of("Www.Example.Com.", RecordType::A);
    let answer = answer(&forward, |m| {
        m.answers
            .push(a("www.example.com.", 60, [93, 184, 216, 34]))
    });
    let reply = Message::from_vec(&forward.reply(&answer)).expect("decodes");
    assert_eq!(reply.metadata.id, 0x1234);
    assert!(reply.metadata.recursion_available);
    assert!(!reply.metadata.authoritative);
    assert_eq!(reply.queries[0].name().to_ascii(), "Www.Example.Com.");
    assert_eq!(records(&reply.answers)[0].2, "93.184.216.34");
    let servfail = Message::from_vec(&forward.servfail()).expect("decodes");
    assert_eq!(servfail.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(servfail.metadata.id, 0x1234);
}

#[test]
fn positive_answers_are_cached_for_their_min_ttl_with_ttls_aged() {
    let forward = forward_of("www.example.com.", RecordType::A);
    let answer = answer(&forward, |m| {
        m.answers.push(a("www.example.com.", 60, [1, 1, 1, 1]));
        m.answers.push(a("www.example.com.", 30, [1, 1, 1, 2]));
    });
    let mut cache = Cache::new(CacheConfig::default());
    let t0 = Instant::now();
    let question = forward.question().clone();
    assert_eq!(
        cache.insert(question.clone(), &answer, t0),
        Some(Duration::from_secs(30))
    );
    let aged = cache
        .get(&question, t0 + Duration::from_millis(10_500))
        .expect("alive");
    let reply = Message::from_vec(&forward.reply(&aged)).expect("decodes");
    let ttls: Vec<u32> = reply.answers.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, [50, 20]);
    assert!(
        cache.get(&question, t0 + Duration::from_secs(30)).is_none(),
        "expired"
    );
    assert!(cache.is_empty(), "the expired entry is dropped");
}

#[test]
fn the_positive_ttl_is_capped() {
    let forward = forward_of("www.example.com.", RecordType::A);
    let answer = answer(&forward, |m| {
        m.answers.push(a("www.example.com.", 86_400, [1, 1, 1, 1]))
    });
    let mut cache = Cache::new(CacheConfig {
        max_ttl: Duration::from_secs(300),
        ..CacheConfig::default()
    });
    let ttl = cache.insert(forward.question().clone(), &answer, Instant::now());
    assert_eq!(ttl, Some(Duration::from_secs(300)));
}

#[test]
fn negative_answers_are_cached_for_the_soa_minimum_and_not_without_an_soa() {
    let mut cache = Cache::new(CacheConfig {
        max_negative_ttl: Duration::from_secs(120),
        ..CacheConfig::default()
    });
    let now = Instant::now();
    let nx = forward_of("nope.example.com.", RecordType::A);
    let nxdomain = answer(&nx, |m| {
        m.metadata.response_code = ResponseCode::NXDomain;
        m.authorities.push(soa(300, 60));
    });
    assert!(nxdomain.is_nxdomain());
    assert_eq!(
        cache.insert(nx.question().clone(), &nxdomain, now),
        Some(Duration::from_secs(60))
    );
    let nodata = forward_of("www.example.com.", RecordType::AAAA);
    let capped = answer(&nodata, |m| m.authorities.push(soa(3600, 3600)));
    assert_eq!(
        cache.insert(nodata.question().clone(), &capped, now),
        Some(Duration::from_secs(120))
    );
    let bare = answer(&nodata, |m| {
        m.metadata.response_code = ResponseCode::NXDomain
    });
    assert_eq!(
        cache.insert(nodata.question().clone(), &bare, now),
        None,
        "no SOA: not cached"
    );
}

#[test]
fn failures_and_truncated_answers_are_not_cached() {
    let mut cache = Cache::new(CacheConfig::default());
    let forward = forward_of("www.example.com.", RecordType::A);
    let servfail = answer(&forward, |m| {
        m.metadata.response_code = ResponseCode::ServFail
    });
    assert!(servfail.is_servfail());
    assert_eq!(
        cache.insert(forward.question().clone(), &servfail, Instant::now()),
        None
    );
    let truncated = answer(&forward, |m| {
        m.metadata.truncation = true;
        m.answers.push(a("www.example.com.", 60, [1, 1, 1, 1]));
    });
    assert!(truncated.is_truncated());
    assert_eq!(
        cache.insert(forward.question().clone(), &truncated, Instant::now()),
        None
    );
    let zero = answer(&forward, |m| {
        m.answers.push(a("www.example.com.", 0, [1, 1, 1, 1]))
    });
    assert_eq!(
        cache.insert(forward.question().clone(), &zero, Instant::now()),
        None
    );
    assert!(cache.is_empty());
}

#[test]
fn a_full_cache_evicts_the_entry_expiring_soonest() {
    let mut cache = Cache::new(CacheConfig {
        capacity: 2,
        ..CacheConfig::default()
    });
    let now = Instant::now();
    let mut questions = Vec::new();
    for (name, ttl) in [("a.example.", 100), ("b.example.", 10), ("c.example.", 50)] {
        let forward = forward_of(name, RecordType::A);
        let answer = answer(&forward, |m| m.answers.push(a(name, ttl, [1, 1, 1, 1])));
        cache.insert(forward.question().clone(), &answer, now);
        questions.push(forward.question().clone());
    }
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&questions[0], now).is_some());
    assert!(cache.get(&questions[1], now).is_none(), "b expired soonest");
    assert!(cache.get(&questions[2], now).is_some());
}
