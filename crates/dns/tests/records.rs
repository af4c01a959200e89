//! Every record shape the snapshot serves, asked over the wire and checked in the parsed reply.

mod common;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use podnet_dns::{handle, Action, Config, PodRecords, ReplyKind, Snapshot, Transport, CLUSTER_TTL};

fn web() -> Snapshot {
    snapshot(
        &[service(
            "default",
            "web",
            "10.96.0.10",
            &[("http", "TCP", 80), ("dns", "UDP", 53)],
        )],
        &[],
        &[],
    )
}

fn row(owner: &str, rtype: RecordType, data: &str) -> (String, RecordType, String) {
    (owner.to_owned(), rtype, data.to_owned())
}

#[test]
fn cluster_ip_service_answers_its_a_record_authoritatively() {
    let (kind, reply) = ask(&web(), "web.default.svc.cluster.local.", RecordType::A);
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative);
    assert!(reply.metadata.recursion_desired && reply.metadata.recursion_available);
    assert_eq!(reply.metadata.id, 0x1234);
    assert_eq!(
        records(&reply.answers),
        [row(
            "web.default.svc.cluster.local.",
            RecordType::A,
            "10.96.0.10"
        )]
    );
    assert_eq!(reply.answers[0].ttl, CLUSTER_TTL);
    assert!(reply.authorities.is_empty());
}

#[test]
fn names_match_case_insensitively_and_keep_the_askers_case() {
    let (kind, reply) = ask(&web(), "Web.DEFAULT.svc.Cluster.Local.", RecordType::A);
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(
        reply.answers[0].name.to_ascii(),
        "Web.DEFAULT.svc.Cluster.Local."
    );
    assert_eq!(
        reply.queries[0].name().to_ascii(),
        "Web.DEFAULT.svc.Cluster.Local."
    );
}

#[test]
fn other_type_of_an_existing_name_is_nodata_with_the_soa() {
    let (kind, reply) = ask(&web(), "web.default.svc.cluster.local.", RecordType::AAAA);
    assert_eq!(kind, ReplyKind::NoData);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    assert_eq!(reply.authorities.len(), 1);
    let RData::SOA(soa) = &reply.authorities[0].data else {
        panic!("authority is not an SOA: {:?}", reply.authorities);
    };
    assert_eq!(reply.authorities[0].name.to_ascii(), "cluster.local.");
    assert_eq!(soa.minimum, CLUSTER_TTL);
    assert_eq!(soa.mname.to_ascii(), "ns.dns.cluster.local.");
}

#[test]
fn missing_cluster_names_are_nxdomain_with_the_soa() {
    for name in [
        "nope.default.svc.cluster.local.",
        "web.other.svc.cluster.local.",
        "foo.cluster.local.",
        "www.example.com.default.svc.cluster.local.",
        "x.web.default.svc.cluster.local.",
    ] {
        let (kind, reply) = ask(&web(), name, RecordType::A);
        assert_eq!(kind, ReplyKind::NxDomain, "{name}");
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
        assert!(reply.metadata.authoritative, "{name}");
        assert!(matches!(reply.authorities[0].data, RData::SOA(_)), "{name}");
    }
}

#[test]
fn empty_non_terminals_are_nodata() {
    for name in [
        "default.svc.cluster.local.",
        "svc.cluster.local.",
        "pod.cluster.local.",
        "_tcp.web.default.svc.cluster.local.",
        "cluster.local.",
    ] {
        let (kind, _) = ask(&web(), name, RecordType::A);
        assert_eq!(kind, ReplyKind::NoData, "{name}");
    }
}

#[test]
fn the_apex_answers_its_soa() {
    let (kind, reply) = ask(&web(), "cluster.local.", RecordType::SOA);
    assert_eq!(kind, ReplyKind::Answer);
    assert!(matches!(reply.answers[0].data, RData::SOA(_)));
}

#[test]
fn srv_of_a_cluster_ip_service_targets_the_service_with_its_a_record_additional() {
    let snapshot = web();
    let (kind, reply) = ask(
        &snapshot,
        "_http._tcp.web.default.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(
        records(&reply.answers),
        [row(
            "_http._tcp.web.default.svc.cluster.local.",
            RecordType::SRV,
            "0 100 80 web.default.svc.cluster.local."
        )]
    );
    assert_eq!(
        records(&reply.additionals),
        [row(
            "web.default.svc.cluster.local.",
            RecordType::A,
            "10.96.0.10"
        )]
    );
    let (_, udp) = ask(
        &snapshot,
        "_dns._udp.web.default.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(
        records(&udp.answers)[0].2,
        "0 100 53 web.default.svc.cluster.local."
    );
    let (kind, _) = ask(
        &snapshot,
        "_dns._tcp.web.default.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(kind, ReplyKind::NxDomain, "dns is a UDP port");
}

fn headless(publish_not_ready: bool) -> Snapshot {
    let mut db = service("data", "db", "None", &[("pg", "TCP", 5432)]);
    db.spec.publish_not_ready_addresses = publish_not_ready;
    let endpoints = [
        Ep {
            ip: "10.244.1.5",
            ready: true,
            hostname: Some("db-0"),
        },
        ep("10.244.2.7"),
        Ep {
            ip: "10.244.3.9",
            ready: false,
            hostname: Some("db-2"),
        },
    ];
    let other = slice("data", "cache", &[ep("10.244.9.9")], &[]);
    snapshot(
        &[db],
        &[
            slice("data", "db", &endpoints, &[("pg", "TCP", 15432)]),
            other,
        ],
        &[],
    )
}

#[test]
fn headless_service_answers_its_ready_endpoints() {
    let (kind, reply) = ask(
        &headless(false),
        "db.data.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(
        records(&reply.answers),
        [
            row("db.data.svc.cluster.local.", RecordType::A, "10.244.1.5"),
            row("db.data.svc.cluster.local.", RecordType::A, "10.244.2.7"),
        ]
    );
}

#[test]
fn publish_not_ready_addresses_answers_every_endpoint() {
    let (_, reply) = ask(&headless(true), "db.data.svc.cluster.local.", RecordType::A);
    assert_eq!(reply.answers.len(), 3);
    let (kind, _) = ask(
        &headless(true),
        "db-2.db.data.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::Answer);
}

#[test]
fn headless_endpoints_have_hostname_or_dashed_ip_names() {
    let snapshot = headless(false);
    let (_, reply) = ask(&snapshot, "db-0.db.data.svc.cluster.local.", RecordType::A);
    assert_eq!(records(&reply.answers)[0].2, "10.244.1.5");
    let (_, reply) = ask(
        &snapshot,
        "10-244-2-7.db.data.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(records(&reply.answers)[0].2, "10.244.2.7");
    let (kind, _) = ask(&snapshot, "db-2.db.data.svc.cluster.local.", RecordType::A);
    assert_eq!(
        kind,
        ReplyKind::NxDomain,
        "a not-ready endpoint has no name"
    );
}

#[test]
fn headless_srv_has_one_record_per_endpoint_with_the_endpoint_port() {
    let (kind, reply) = ask(
        &headless(false),
        "_pg._tcp.db.data.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(kind, ReplyKind::Answer);
    let owner = "_pg._tcp.db.data.svc.cluster.local.";
    assert_eq!(
        records(&reply.answers),
        [
            row(
                owner,
                RecordType::SRV,
                "0 50 15432 10-244-2-7.db.data.svc.cluster.local."
            ),
            row(
                owner,
                RecordType::SRV,
                "0 50 15432 db-0.db.data.svc.cluster.local."
            ),
        ]
    );
    assert_eq!(
        records(&reply.additionals),
        [
            row(
                "10-244-2-7.db.data.svc.cluster.local.",
                RecordType::A,
                "10.244.2.7"
            ),
            row(
                "db-0.db.data.svc.cluster.local.",
                RecordType::A,
                "10.244.1.5"
            ),
        ]
    );
}

#[test]
fn headless_service_without_ready_endpoints_is_nodata() {
    let snapshot = snapshot(&[service("data", "db", "None", &[])], &[], &[]);
    let (kind, _) = ask(&snapshot, "db.data.svc.cluster.local.", RecordType::A);
    assert_eq!(kind, ReplyKind::NoData);
}

#[test]
fn endpoints_of_several_slices_merge() {
    let db = service("data", "db", "None", &[]);
    let mut second = slice("data", "db", &[ep("10.244.5.5"), ep("10.244.1.5")], &[]);
    second.metadata.name = "db-fghij".to_owned();
    let slices = [slice("data", "db", &[ep("10.244.1.5")], &[]), second];
    let (_, reply) = ask(
        &snapshot(&[db], &slices, &[]),
        "db.data.svc.cluster.local.",
        RecordType::A,
    );
    let ips: Vec<String> = records(&reply.answers).into_iter().map(|r| r.2).collect();
    assert_eq!(
        ips,
        ["10.244.1.5", "10.244.5.5"],
        "sorted, the duplicate once"
    );
}

#[test]
fn external_name_is_a_cname_for_every_type() {
    let snapshot = snapshot(
        &[external("default", "search", "www.example.com")],
        &[],
        &[],
    );
    for qtype in [RecordType::A, RecordType::AAAA, RecordType::CNAME] {
        let (kind, reply) = ask(&snapshot, "search.default.svc.cluster.local.", qtype);
        assert_eq!(kind, ReplyKind::Answer, "{qtype}");
        assert_eq!(
            records(&reply.answers),
            [row(
                "search.default.svc.cluster.local.",
                RecordType::CNAME,
                "www.example.com."
            )],
            "{qtype}"
        );
    }
}

#[test]
fn dual_stack_service_answers_aaaa() {
    let mut svc = service("default", "web", "10.96.0.10", &[]);
    svc.spec.cluster_ips = vec!["10.96.0.10".to_owned(), "fd00:96::10".to_owned()];
    let (_, reply) = ask(
        &snapshot(&[svc], &[], &[]),
        "web.default.svc.cluster.local.",
        RecordType::AAAA,
    );
    assert_eq!(records(&reply.answers)[0].2, "fd00:96::10");
}

#[test]
fn pod_names_insecure_answer_any_dashed_ip() {
    let snapshot = snapshot(&[], &[], &[]);
    let (kind, reply) = ask(
        &snapshot,
        "10-244-1-5.default.pod.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::Answer);
    assert_eq!(
        records(&reply.answers),
        [row(
            "10-244-1-5.default.pod.cluster.local.",
            RecordType::A,
            "10.244.1.5"
        )]
    );
    let (kind, _) = ask(
        &snapshot,
        "10-244-1-5.default.pod.cluster.local.",
        RecordType::AAAA,
    );
    assert_eq!(kind, ReplyKind::NoData);
    for name in [
        "10-244-1.default.pod.cluster.local.",
        "web.default.pod.cluster.local.",
        "10-244-1-5.pod.cluster.local.",
        "a.10-244-1-5.default.pod.cluster.local.",
    ] {
        let (kind, _) = ask(&snapshot, name, RecordType::A);
        assert_eq!(kind, ReplyKind::NxDomain, "{name}");
    }
}

#[test]
fn pod_names_verified_answer_only_known_pods_in_their_namespace() {
    let config = Config {
        pods: PodRecords::Verified,
        ..Config::default()
    };
    let pods = [pod("default", "client", "10.244.1.5")];
    let snapshot = Snapshot::build(&config, &[], &[], &pods).expect("builds");
    let (kind, _) = ask(
        &snapshot,
        "10-244-1-5.default.pod.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::Answer);
    let (kind, _) = ask(
        &snapshot,
        "10-244-1-5.other.pod.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::NxDomain);
    let (kind, _) = ask(
        &snapshot,
        "10-244-1-6.default.pod.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::NxDomain);
}

#[test]
fn pod_names_disabled_are_nxdomain() {
    let config = Config {
        pods: PodRecords::Disabled,
        ..Config::default()
    };
    let snapshot = Snapshot::build(&config, &[], &[], &[]).expect("builds");
    let (kind, _) = ask(
        &snapshot,
        "10-244-1-5.default.pod.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::NxDomain);
}

#[test]
fn another_cluster_domain_is_honoured() {
    let config = Config {
        domain: "Corp.Example.".to_owned(),
        ..Config::default()
    };
    let snapshot = Snapshot::build(
        &config,
        &[service("default", "web", "10.96.0.10", &[])],
        &[],
        &[],
    )
    .expect("builds");
    assert_eq!(snapshot.domain(), "corp.example.");
    let (kind, _) = ask(&snapshot, "web.default.svc.corp.example.", RecordType::A);
    assert_eq!(kind, ReplyKind::Answer);
    let action = handle(
        &snapshot,
        &query_bytes("web.default.svc.cluster.local.", RecordType::A, false),
        Transport::Udp,
    );
    assert!(
        matches!(action, Action::Forward(_)),
        "cluster.local is not ours here"
    );
    for bad in ["", ".", "bad_domain.local", "a..b"] {
        let config = Config {
            domain: bad.to_owned(),
            ..Config::default()
        };
        assert!(Snapshot::empty(&config).is_err(), "{bad:?}");
    }
}

#[test]
fn invalid_objects_are_left_out() {
    let services = [
        service("default", "Bad_Name", "10.96.0.11", &[]),
        service("default", "web", "not-an-ip", &[("Not A Port", "TCP", 1)]),
    ];
    let snapshot = snapshot(&services, &[], &[]);
    let (kind, _) = ask(&snapshot, "web.default.svc.cluster.local.", RecordType::A);
    assert_eq!(
        kind,
        ReplyKind::NoData,
        "the Service exists without an address"
    );
    let (kind, _) = ask(
        &snapshot,
        "bad_name.default.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(kind, ReplyKind::NxDomain);
}
