//! Any bytes as a client query to `handle` (over UDP and TCP), and the same bytes as an
//! upstream's reply to a forwarded question, through `accept`, the cache and the client reply.
//! Nothing may panic; replies to clients must fit the transport and start with the query's id.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use podnet_dns::{handle, Action, Cache, CacheConfig, Config, Snapshot, Transport};
use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::{
    Endpoint, EndpointPort, EndpointSlice, ObjectMeta, Service, ServicePort, ServiceSpec,
    ServiceType,
};

fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let web = Service {
            metadata: ObjectMeta::namespaced("default", "web"),
            spec: ServiceSpec {
                cluster_ip: Some("10.96.0.10".into()),
                ports: vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    ..ServicePort::default()
                }],
                ..ServiceSpec::default()
            },
        };
        let db = Service {
            metadata: ObjectMeta::namespaced("data", "db"),
            spec: ServiceSpec {
                cluster_ip: Some("None".into()),
                ..ServiceSpec::default()
            },
        };
        let ext = Service {
            metadata: ObjectMeta::namespaced("default", "ext"),
            spec: ServiceSpec {
                type_: Some(ServiceType::ExternalName),
                external_name: Some("example.com".into()),
                ..ServiceSpec::default()
            },
        };
        let mut meta = ObjectMeta::namespaced("data", "db-x");
        meta.labels.insert(SERVICE_NAME_LABEL.into(), "db".into());
        let slice = EndpointSlice {
            metadata: meta,
            endpoints: (1..40)
                .map(|i| Endpoint {
                    addresses: vec![format!("10.244.1.{i}")],
                    hostname: (i % 2 == 0).then(|| format!("db-{i}")),
                    ..Endpoint::default()
                })
                .collect(),
            ports: vec![EndpointPort {
                name: Some("pg".into()),
                port: Some(5432),
                ..EndpointPort::default()
            }],
            ..EndpointSlice::default()
        };
        Snapshot::build(&Config::default(), &[web, db, ext], &[slice], &[]).expect("builds")
    })
}

/// A query for `www.example.com. A` (id 0x1234, RD), which the core forwards.
const FORWARDED: &[u8] = &[
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm',
    b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
];

fuzz_target!(|data: &[u8]| {
    let snapshot = snapshot();
    for transport in [Transport::Udp, Transport::Tcp] {
        match handle(snapshot, data, transport) {
            Action::Reply(reply) => {
                assert!(reply.bytes.len() >= 12);
                assert_eq!(reply.bytes[..2], data[..2]);
                if transport == Transport::Udp {
                    assert!(reply.bytes.len() <= 1232);
                }
            }
            Action::Forward(forward) => {
                let _ = forward.upstream_query(1);
                let _ = forward.servfail();
            }
            Action::Drop(_) => {}
        }
    }
    let Action::Forward(forward) = handle(snapshot, FORWARDED, Transport::Udp) else {
        panic!("the fixed query is forwarded");
    };
    let id = data
        .get(..2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    if let Ok(answer) = forward.accept(id, data) {
        let mut cache = Cache::new(CacheConfig::default());
        let now = Instant::now();
        cache.insert(forward.question().clone(), &answer, now);
        if let Some(cached) = cache.get(forward.question(), now + Duration::from_secs(1)) {
            let reply = forward.reply(&cached);
            assert!(reply.len() <= forward.reply_limit());
        }
        let reply = forward.reply(&answer);
        assert!(reply.len() <= forward.reply_limit());
        assert_eq!(reply[..2], FORWARDED[..2]);
    }
});
