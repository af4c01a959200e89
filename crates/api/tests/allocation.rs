//! Tier 2: cluster IP and node port allocation on Service writes, against the in-memory store:
//! what is allocated, kept across applies, refused, and released.
#![allow(clippy::unwrap_used)]

use podnet_api::{Api, ApiError, Applied};
use podnet_model::allocation::{
    node_port_key, service_ip_key, NODE_PORTS_PREFIX, SERVICE_IPS_PREFIX,
};
use podnet_model::{parse_manifests, Kind, Object, ObjectKey, Service};
use podnet_store::memory::MemoryStore;
use podnet_store::Datastore;

fn svc(name: &str, extra: &str) -> Object {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  selector: {{app: {name}}}\n  ports:\n  - {{name: http, port: 80}}\n  - {{name: dns, port: 53, protocol: UDP}}\n{extra}"
    );
    parse_manifests(&text).unwrap().remove(0)
}

fn spec(o: &Object) -> &Service {
    match o {
        Object::Service(s) => s,
        other => panic!("not a Service: {other:?}"),
    }
}

fn ip(o: &Object) -> String {
    spec(o).spec.cluster_ip.clone().unwrap()
}

fn node_ports(o: &Object) -> Vec<i32> {
    spec(o)
        .spec
        .ports
        .iter()
        .map(|p| p.node_port.unwrap_or(0))
        .collect()
}

async fn claims(store: &MemoryStore, prefix: &str) -> Vec<(String, String)> {
    let (kvs, _) = store.list(prefix).await.unwrap();
    let mut out: Vec<_> = kvs.into_iter().map(|kv| (kv.key, kv.value)).collect();
    out.sort();
    out
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(Kind::Service, Some("default"), name).unwrap()
}

#[tokio::test]
async fn a_service_without_a_cluster_ip_gets_one_of_the_cidr_and_keeps_it() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone()).with_service_cidr("10.96.0.0/24".parse().unwrap());
    let a = api.create(svc("a", "")).await.unwrap();
    let b = api.create(svc("b", "")).await.unwrap();
    let (ia, ib): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        (ip(&a).parse().unwrap(), ip(&b).parse().unwrap());
    assert_ne!(ia, ib);
    for addr in [ia, ib] {
        assert!(
            api.service_cidr().contains(&addr),
            "{addr} outside the CIDR"
        );
        assert!(u32::from(addr) & 0xff >= 2, "{addr}: network or .1");
    }
    assert_eq!(spec(&a).spec.cluster_ips, vec![ip(&a)]);
    assert_eq!(claims(&store, SERVICE_IPS_PREFIX).await, {
        let mut v = vec![
            (service_ip_key(ia), "default/a".to_string()),
            (service_ip_key(ib), "default/b".to_string()),
        ];
        v.sort();
        v
    });
    // Re-applying the manifest (which names no clusterIP) keeps the address and writes nothing.
    let rev = store.revision();
    let (applied, again) = api.apply(svc("a", "")).await.unwrap();
    assert_eq!(applied, Applied::Unchanged);
    assert_eq!(ip(&again), ip(&a));
    assert_eq!(store.revision(), rev);
    // A changed spec keeps it too.
    let (applied, changed) = api
        .apply(svc("a", "  sessionAffinity: ClientIP\n"))
        .await
        .unwrap();
    assert_eq!(applied, Applied::Configured);
    assert_eq!(ip(&changed), ip(&a));
}

#[tokio::test]
async fn a_requested_ip_is_given_once_and_a_taken_or_foreign_one_is_invalid() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone());
    let a = api
        .create(svc("a", "  clusterIP: 10.96.0.10\n"))
        .await
        .unwrap();
    assert_eq!(ip(&a), "10.96.0.10");
    let rev = store.revision();
    let err = api
        .create(svc("b", "  clusterIP: 10.96.0.10\n"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Invalid { .. }), "{err}");
    assert!(
        err.to_string().contains("provided IP is already allocated"),
        "{err}"
    );
    assert!(err.to_string().contains("spec.clusterIPs"), "{err}");
    let err = api
        .create(svc("c", "  clusterIP: 192.168.0.10\n"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in the valid range"), "{err}");
    assert_eq!(
        store.revision(),
        rev,
        "refused creates store nothing, claim nothing"
    );
    // Immutable once set.
    let err = api
        .apply(svc("a", "  clusterIP: 10.96.0.11\n"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("field is immutable"), "{err}");
    assert_eq!(
        store
            .get(&service_ip_key("10.96.0.11".parse().unwrap()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn headless_and_external_name_services_take_no_address() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone());
    let h = api.create(svc("h", "  clusterIP: None\n")).await.unwrap();
    assert_eq!(ip(&h), "None");
    assert_eq!(spec(&h).spec.cluster_ips, vec!["None".to_string()]);
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec: {type: ExternalName, externalName: example.org}\n";
    let e = api
        .create(parse_manifests(text).unwrap().remove(0))
        .await
        .unwrap();
    assert_eq!(spec(&e).spec.cluster_ip, None);
    assert!(claims(&store, SERVICE_IPS_PREFIX).await.is_empty());
}

#[tokio::test]
async fn node_ports_are_allocated_kept_refused_when_taken_and_released() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone());
    let a = api.create(svc("a", "  type: NodePort\n")).await.unwrap();
    let ports = node_ports(&a);
    assert!(
        ports.iter().all(|p| (30_000..=32_767).contains(p)),
        "{ports:?}"
    );
    assert_ne!(ports[0], ports[1]);
    let (applied, again) = api.apply(svc("a", "  type: NodePort\n")).await.unwrap();
    assert_eq!(applied, Applied::Unchanged);
    assert_eq!(node_ports(&again), ports);
    // Asking for a port another Service holds.
    let taken = "  type: NodePort\n  clusterIP: 10.96.0.20\n";
    let mut b = svc("b", taken);
    if let Object::Service(s) = &mut b {
        s.spec.ports[0].node_port = Some(ports[0]);
    }
    let err = api.create(b).await.unwrap_err();
    assert!(err.to_string().contains("spec.ports[0].nodePort"), "{err}");
    assert!(
        err.to_string()
            .contains("provided port is already allocated"),
        "{err}"
    );
    assert_eq!(
        store
            .get(&service_ip_key("10.96.0.20".parse().unwrap()))
            .await
            .unwrap(),
        None,
        "the refused create released the cluster IP it had claimed"
    );
    // Back to ClusterIP gives the node ports up; deleting gives the address up.
    let (_, c) = api.apply(svc("a", "")).await.unwrap();
    assert_eq!(node_ports(&c), vec![0, 0]);
    assert!(claims(&store, NODE_PORTS_PREFIX).await.is_empty());
    let held = ip(&c);
    api.delete(&key("a")).await.unwrap();
    assert!(
        claims(&store, SERVICE_IPS_PREFIX).await.is_empty(),
        "{held} still claimed"
    );
    assert_eq!(store.get(&node_port_key(ports[0])).await.unwrap(), None);
}

#[tokio::test]
async fn a_namespace_cascade_releases_its_services_addresses() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone());
    let ns = parse_manifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        .unwrap()
        .remove(0);
    api.create(ns).await.unwrap();
    let mut s = svc("a", "  type: NodePort\n");
    s.meta_mut().namespace = Some("x".into());
    api.create(s).await.unwrap();
    assert_eq!(claims(&store, SERVICE_IPS_PREFIX).await.len(), 1);
    api.delete(&ObjectKey::new(Kind::Namespace, None, "x").unwrap())
        .await
        .unwrap();
    assert!(claims(&store, SERVICE_IPS_PREFIX).await.is_empty());
    assert!(claims(&store, NODE_PORTS_PREFIX).await.is_empty());
}

#[tokio::test]
async fn concurrent_creates_never_share_an_address() {
    let store = MemoryStore::new();
    let api = Api::new(store.clone()).with_service_cidr("10.96.0.0/26".parse().unwrap());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move { api.create(svc(&format!("s{i}"), "")).await })
        })
        .collect();
    let mut ips = std::collections::BTreeSet::new();
    for t in tasks {
        let o = t.await.unwrap().unwrap();
        assert!(ips.insert(ip(&o)), "{} given twice", ip(&o));
    }
    assert_eq!(ips.len(), 40);
}
