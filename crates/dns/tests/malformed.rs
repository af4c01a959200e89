//! Hostile and odd input: every prefix of valid queries, random bytes and bit flips never make
//! `handle` panic, and whatever it replies decodes, is a response, and carries the query's id.

mod common;

use common::*;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use podnet_dns::{handle, Action, DropReason, ReplyKind, Snapshot, Transport};

fn rich() -> Snapshot {
    let mut db = service("data", "db", "None", &[]);
    db.spec.publish_not_ready_addresses = true;
    snapshot(
        &[
            service("default", "web", "10.96.0.10", &[("http", "TCP", 80)]),
            db,
            external("default", "ext", "example.com"),
        ],
        &[slice(
            "data",
            "db",
            &[ep("10.244.1.5")],
            &[("pg", "TCP", 5432)],
        )],
        &[],
    )
}

/// Checks the invariants of one action for `input`.
fn check(snapshot: &Snapshot, input: &[u8]) {
    for transport in [Transport::Udp, Transport::Tcp] {
        match handle(snapshot, input, transport) {
            Action::Reply(reply) => {
                let message = Message::from_vec(&reply.bytes)
                    .unwrap_or_else(|e| panic!("reply to {input:02x?} does not decode: {e}"));
                assert_eq!(message.metadata.message_type, MessageType::Response);
                assert_eq!(message.metadata.id.to_be_bytes(), [input[0], input[1]]);
                if transport == Transport::Udp {
                    assert!(reply.bytes.len() <= 1232);
                }
            }
            Action::Forward(forward) => {
                let query = forward.upstream_query(7);
                assert!(Message::from_vec(&query).is_ok(), "upstream query decodes");
                let servfail = Message::from_vec(&forward.servfail()).expect("servfail decodes");
                assert_eq!(servfail.metadata.response_code, ResponseCode::ServFail);
            }
            Action::Drop(DropReason::TooShort) => assert!(input.len() < 12),
            Action::Drop(DropReason::Response) => assert!(input[2] & 0x80 != 0),
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        query_bytes("web.default.svc.cluster.local.", RecordType::A, true),
        query_bytes(
            "_pg._tcp.db.data.svc.cluster.local.",
            RecordType::SRV,
            false,
        ),
        query_bytes("ext.default.svc.cluster.local.", RecordType::ANY, true),
        query_bytes("example.com.", RecordType::AAAA, false),
        query_bytes("nope.cluster.local.", RecordType::TXT, true),
    ]
}

#[test]
fn every_prefix_of_valid_queries_is_handled() {
    let snapshot = rich();
    for seed in seeds() {
        for len in 0..=seed.len() {
            check(&snapshot, &seed[..len]);
        }
    }
}

#[test]
fn truncated_query_body_is_formerr() {
    let query = query_bytes("web.default.svc.cluster.local.", RecordType::A, false);
    let Action::Reply(reply) = handle(&rich(), &query[..20], Transport::Udp) else {
        panic!("a cut query gets a reply");
    };
    assert_eq!(reply.kind, ReplyKind::FormErr);
    let message = Message::from_vec(&reply.bytes).expect("decodes");
    assert_eq!(message.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(message.metadata.id, 0x1234);
    assert!(message.metadata.recursion_desired, "RD echoed");
}

#[test]
fn random_bytes_and_bit_flips_are_handled() {
    let snapshot = rich();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = (rng.next() % 96) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&snapshot, &bytes);
    }
    for seed in seeds() {
        for _ in 0..4_000 {
            let mut bytes = seed.clone();
            for _ in 0..=(rng.next() % 4) {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] ^= 1 << (rng.next() % 8);
            }
            // Keep QR clear and opcode QUERY half the time so the body gets parsed.
            if rng.next().is_multiple_of(2) {
                bytes[2] &= 0x07;
            }
            check(&snapshot, &bytes);
        }
    }
}

#[test]
fn short_datagrams_and_responses_are_dropped() {
    assert_eq!(
        handle(&rich(), &[0x12], Transport::Udp),
        Action::Drop(DropReason::TooShort)
    );
    let mut response = query_bytes("web.default.svc.cluster.local.", RecordType::A, false);
    response[2] |= 0x80;
    assert_eq!(
        handle(&rich(), &response, Transport::Udp),
        Action::Drop(DropReason::Response)
    );
}

fn message_with(edit: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut message = Message::new(0x4242, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(
        Name::from_ascii("web.default.svc.cluster.local.").expect("name"),
        RecordType::A,
    ));
    edit(&mut message);
    message.to_vec().expect("encodes")
}

fn kind_of(bytes: &[u8]) -> (ReplyKind, Message) {
    match handle(&rich(), bytes, Transport::Udp) {
        Action::Reply(reply) => (
            reply.kind,
            Message::from_vec(&reply.bytes).expect("decodes"),
        ),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn other_opcodes_are_notimp() {
    let (kind, message) = kind_of(&message_with(|m| m.metadata.op_code = OpCode::Status));
    assert_eq!(kind, ReplyKind::NotImp);
    assert_eq!(message.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(message.metadata.op_code, OpCode::Status);
}

#[test]
fn zero_or_two_questions_are_formerr() {
    let (kind, _) = kind_of(&message_with(|m| m.queries.clear()));
    assert_eq!(kind, ReplyKind::FormErr);
    let (kind, _) = kind_of(&message_with(|m| {
        let again = m.queries[0].clone();
        m.add_query(again);
    }));
    assert_eq!(kind, ReplyKind::FormErr);
}

#[test]
fn edns_is_answered_with_edns_and_unknown_versions_with_badvers() {
    let (kind, message) = kind_of(&message_with(|m| {
        m.set_edns(Edns::new());
    }));
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(message.edns.as_ref().map(Edns::max_payload), Some(1232));
    let (kind, message) = kind_of(&message_with(|m| {
        let mut edns = Edns::new();
        edns.set_version(1);
        m.set_edns(edns);
    }));
    assert_eq!(kind, ReplyKind::BadVers);
    // BADVERS and BADSIG share code 16 (RFC 6891, RFC 8945); hickory decodes 16 as BADSIG.
    assert_eq!(u16::from(message.metadata.response_code), 16);
}

#[test]
fn zone_transfers_and_other_classes_are_refused() {
    let (kind, _) = kind_of(&message_with(|m| {
        m.queries[0].set_query_type(RecordType::AXFR);
    }));
    assert_eq!(kind, ReplyKind::Refused);
    let (kind, _) = kind_of(&message_with(|m| {
        m.queries[0].set_query_class(DNSClass::CH);
    }));
    assert_eq!(kind, ReplyKind::Refused);
}

#[test]
fn large_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let endpoints: Vec<String> = (0..200)
        .map(|i| format!("10.244.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let eps: Vec<Ep<'_>> = endpoints.iter().map(|ip| ep(ip)).collect();
    let snapshot = snapshot(
        &[service("data", "big", "None", &[])],
        &[slice("data", "big", &eps, &[])],
        &[],
    );
    let query = query_bytes("big.data.svc.cluster.local.", RecordType::A, false);
    let Action::Reply(udp) = handle(&snapshot, &query, Transport::Udp) else {
        panic!("reply expected");
    };
    assert!(udp.bytes.len() <= 512);
    let udp = Message::from_vec(&udp.bytes).expect("decodes");
    assert!(udp.metadata.truncation && udp.answers.is_empty());
    let Action::Reply(tcp) = handle(&snapshot, &query, Transport::Tcp) else {
        panic!("reply expected");
    };
    let tcp = Message::from_vec(&tcp.bytes).expect("decodes");
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 200);
}
