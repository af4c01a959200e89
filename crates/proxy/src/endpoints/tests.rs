#![allow(clippy::unwrap_used)]

use podnet_model::{parse_manifests, Object, Pod, Service};

use super::*;

fn svc(extra: &str) -> Service {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: x}}\nspec:\n  selector: {{app: web}}\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n  - {{name: dns, port: 53, protocol: UDP, targetPort: 5353}}\n{extra}"
    );
    match parse_manifests(&text).unwrap().remove(0) {
        Object::Service(s) => s,
        _ => unreachable!(),
    }
}

fn pod(ns: &str, name: &str, app: &str, ip: Option<&str>, http: i32, ready: bool) -> Pod {
    let status = match ip {
        Some(ip) => format!(
            "status: {{phase: Running, podIP: {ip}, conditions: [{{type: Ready, status: \"{}\"}}]}}\n",
            if ready { "True" } else { "False" }
        ),
        None => String::new(),
    };
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {app}}}}}\nspec: {{nodeName: n1, containers: [{{name: c, ports: [{{name: http, containerPort: {http}}}]}}]}}\n{status}"
    );
    match parse_manifests(&text).unwrap().remove(0) {
        Object::Pod(p) => p,
        _ => unreachable!(),
    }
}

#[test]
fn selected_pods_with_addresses_become_endpoints_with_resolved_ports() {
    let pods = [
        pod("x", "a", "web", Some("10.244.1.2"), 8080, true),
        pod("x", "b", "web", Some("10.244.1.3"), 8080, false),
        pod("x", "c", "web", None, 8080, true),
        pod("x", "d", "db", Some("10.244.1.4"), 8080, true),
        pod("y", "e", "web", Some("10.244.1.5"), 8080, true),
    ];
    let slices = slices_for(&svc(""), &pods);
    assert_eq!(slices.len(), 1);
    let s = &slices[0];
    assert_eq!(s.metadata.name, "web-0");
    assert_eq!(s.metadata.namespace.as_deref(), Some("x"));
    assert_eq!(
        s.metadata
            .labels
            .get(SERVICE_NAME_LABEL)
            .map(String::as_str),
        Some("web")
    );
    let addrs: Vec<_> = s
        .endpoints
        .iter()
        .map(|e| e.addresses[0].as_str())
        .collect();
    assert_eq!(addrs, ["10.244.1.2", "10.244.1.3"]);
    assert_eq!(s.endpoints[0].conditions.ready, Some(true));
    assert_eq!(s.endpoints[1].conditions.ready, Some(false));
    assert_eq!(s.endpoints[0].node_name.as_deref(), Some("n1"));
    let ports: Vec<_> = s
        .ports
        .iter()
        .map(|p| (p.name.clone().unwrap(), p.port))
        .collect();
    assert_eq!(
        ports,
        [
            ("http".to_string(), Some(8080)),
            ("dns".to_string(), Some(5353))
        ]
    );
}

#[test]
fn pods_that_resolve_a_named_port_differently_get_separate_slices() {
    let pods = [
        pod("x", "a", "web", Some("10.244.1.2"), 8080, true),
        pod("x", "b", "web", Some("10.244.1.3"), 9090, true),
    ];
    let slices = slices_for(&svc(""), &pods);
    assert_eq!(slices.len(), 2);
    let http: Vec<_> = slices.iter().map(|s| s.ports[0].port).collect();
    assert!(
        http.contains(&Some(8080)) && http.contains(&Some(9090)),
        "{http:?}"
    );
}

#[test]
fn a_terminating_pod_is_serving_but_not_ready() {
    let mut p = pod("x", "a", "web", Some("10.244.1.2"), 8080, true);
    p.metadata.deletion_timestamp = Some("2026-12-02T00:00:00Z".into());
    let slices = slices_for(&svc(""), &[p]);
    let c = &slices[0].endpoints[0].conditions;
    assert_eq!(
        (c.ready, c.serving, c.terminating),
        (Some(false), Some(true), Some(true))
    );
}

#[test]
fn no_selector_no_slices_and_many_pods_are_split() {
    let mut s = svc("");
    s.spec.selector.clear();
    assert!(slices_for(&s, &[pod("x", "a", "web", Some("10.244.1.2"), 80, true)]).is_empty());
    let pods: Vec<Pod> = (0..250)
        .map(|i| {
            pod(
                "x",
                &format!("p{i:03}"),
                "web",
                Some(&format!("10.244.{}.{}", i / 200, i % 200 + 2)),
                80,
                true,
            )
        })
        .collect();
    let slices = slices_for(&svc(""), &pods);
    let sizes: Vec<usize> = slices.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
}
