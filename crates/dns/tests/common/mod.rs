//! Helpers shared by the integration tests: model objects in a few words, queries built and
//! answers parsed with hickory-proto (so the tests check the wire, not the core's own types).
#![allow(dead_code)]

use std::collections::BTreeMap;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use podnet_dns::{handle, Action, Config, ReplyKind, Snapshot, Transport};
use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::{
    AddressType, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, ObjectMeta, Pod, PodIp,
    PodStatus, Protocol, Service, ServicePort, ServiceSpec, ServiceType,
};

/// A ClusterIP Service `ns/name` with `cluster_ip` and named ports `(name, protocol, port)`.
pub fn service(ns: &str, name: &str, cluster_ip: &str, ports: &[(&str, &str, i32)]) -> Service {
    Service {
        metadata: ObjectMeta::namespaced(ns, name),
        spec: ServiceSpec {
            cluster_ip: Some(cluster_ip.to_owned()),
            ports: ports
                .iter()
                .map(|(port_name, protocol, port)| ServicePort {
                    name: Some((*port_name).to_owned()),
                    protocol: Some(Protocol::from(*protocol)),
                    port: *port,
                    ..ServicePort::default()
                })
                .collect(),
            ..ServiceSpec::default()
        },
    }
}

/// An ExternalName Service aliasing `target`.
pub fn external(ns: &str, name: &str, target: &str) -> Service {
    Service {
        metadata: ObjectMeta::namespaced(ns, name),
        spec: ServiceSpec {
            type_: Some(ServiceType::ExternalName),
            external_name: Some(target.to_owned()),
            ..ServiceSpec::default()
        },
    }
}

/// One endpoint of a slice: its address, readiness and hostname.
pub struct Ep<'a> {
    pub ip: &'a str,
    pub ready: bool,
    pub hostname: Option<&'a str>,
}

/// A ready endpoint without a hostname.
pub fn ep(ip: &str) -> Ep<'_> {
    Ep {
        ip,
        ready: true,
        hostname: None,
    }
}

/// An IPv4 EndpointSlice of Service `ns/service`.
pub fn slice(
    ns: &str,
    service: &str,
    endpoints: &[Ep<'_>],
    ports: &[(&str, &str, i32)],
) -> EndpointSlice {
    let mut metadata = ObjectMeta::namespaced(ns, &format!("{service}-abcde"));
    metadata.labels = BTreeMap::from([(SERVICE_NAME_LABEL.to_owned(), service.to_owned())]);
    EndpointSlice {
        metadata,
        address_type: Some(AddressType::Ipv4),
        endpoints: endpoints
            .iter()
            .map(|e| Endpoint {
                addresses: vec![e.ip.to_owned()],
                conditions: EndpointConditions {
                    ready: Some(e.ready),
                    ..EndpointConditions::default()
                },
                hostname: e.hostname.map(str::to_owned),
                ..Endpoint::default()
            })
            .collect(),
        ports: ports
            .iter()
            .map(|(name, protocol, port)| EndpointPort {
                name: Some((*name).to_owned()),
                protocol: Some(Protocol::from(*protocol)),
                port: Some(*port),
            })
            .collect(),
    }
}

/// A pod `ns/name` with `ip`.
pub fn pod(ns: &str, name: &str, ip: &str) -> Pod {
    Pod {
        metadata: ObjectMeta::namespaced(ns, name),
        status: Some(PodStatus {
            pod_ips: vec![PodIp { ip: ip.to_owned() }],
            ..PodStatus::default()
        }),
        ..Pod::default()
    }
}

/// A snapshot for `cluster.local` with the default config.
pub fn snapshot(services: &[Service], slices: &[EndpointSlice], pods: &[Pod]) -> Snapshot {
    Snapshot::build(&Config::default(), services, slices, pods).expect("default config builds")
}

/// The bytes of a standard query for `name`/`qtype` with id 0x1234, RD set, with or without
/// an EDNS OPT.
pub fn query_bytes(name: &str, qtype: RecordType, edns: bool) -> Vec<u8> {
    let mut message = Message::new(0x1234, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(
        Name::from_ascii(name).expect("test name"),
        qtype,
    ));
    if edns {
        let mut opt = Edns::new();
        opt.set_max_payload(4096);
        message.set_edns(opt);
    }
    message.to_vec().expect("test query encodes")
}

/// Handles `name`/`qtype` over UDP and returns the reply's kind and parsed message; panics if
/// the core did not reply.
pub fn ask(snapshot: &Snapshot, name: &str, qtype: RecordType) -> (ReplyKind, Message) {
    match handle(snapshot, &query_bytes(name, qtype, false), Transport::Udp) {
        Action::Reply(reply) => (
            reply.kind,
            Message::from_vec(&reply.bytes).expect("reply decodes"),
        ),
        other => panic!("{name} {qtype}: expected a reply, got {other:?}"),
    }
}

/// The answer section as `(owner, type, rdata text)`, for compact assertions.
pub fn records(section: &[hickory_proto::rr::Record]) -> Vec<(String, RecordType, String)> {
    section
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type(), r.data.to_string()))
        .collect()
}
