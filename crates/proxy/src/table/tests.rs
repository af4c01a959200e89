//! Golden tests of the compiled table for each Service shape, and of the incremental
//! transaction between two plans.
#![allow(clippy::unwrap_used)]

use podnet_model::{parse_manifests, EndpointSlice, Object, Service};
use podnet_nft_model::diff::update;
use podnet_nft_model::Transaction;

use crate::{plan, table};

fn objects(text: &str) -> (Vec<Service>, Vec<EndpointSlice>) {
    let (mut svcs, mut slices) = (Vec::new(), Vec::new());
    for o in parse_manifests(text).unwrap() {
        match o {
            Object::Service(s) => svcs.push(s),
            Object::EndpointSlice(s) => slices.push(s),
            _ => {}
        }
    }
    (svcs, slices)
}

const WEB: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports: [{name: http, port: 80}]\n";

fn slice(eps: &[(&str, &str, bool)]) -> String {
    let eps: Vec<String> = eps
        .iter()
        .map(|(ip, node, ready)| {
            format!("  - {{addresses: [{ip}], nodeName: {node}, conditions: {{ready: {ready}}}}}")
        })
        .collect();
    format!(
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: web-0, namespace: x, labels: {{kubernetes.io/service-name: web}}}}\naddressType: IPv4\nports: [{{name: http, port: 8080, protocol: TCP}}]\nendpoints:\n{}\n",
        eps.join("\n")
    )
}

fn rendered(text: &str, node: &str) -> String {
    let (s, e) = objects(text);
    let t = table(&plan(&s, &e, node));
    assert!(t.undeclared().is_empty(), "{:?}", t.undeclared());
    Transaction::new().install(&t).render()
}

fn lines_with(script: &str, needle: &str) -> Vec<String> {
    script
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[test]
fn cluster_ip_with_two_endpoints_is_elements_and_one_shared_chain() {
    let s = rendered(
        &format!(
            "{WEB}{}",
            slice(&[("10.244.1.2", "n1", true), ("10.244.2.2", "n2", true)])
        ),
        "n1",
    );
    assert!(
        s.contains(
            "add element ip podnet_proxy service_ips { 10.96.0.10 . tcp . 80 : goto dnat-tcp-2 }"
        ),
        "{s}"
    );
    assert!(s.contains("add element ip podnet_proxy endpoints_tcp { 10.96.0.10 . 80 . 0 : 10.244.1.2 . 8080, 10.96.0.10 . 80 . 1 : 10.244.2.2 . 8080 }"), "{s}");
    assert_eq!(
        lines_with(&s, "add rule ip podnet_proxy dnat-tcp-2"),
        ["add rule ip podnet_proxy dnat-tcp-2 meta l4proto tcp meta mark set meta mark | 0x00000800 dnat ip to ip daddr . tcp dport . numgen random mod 2 map @endpoints_tcp"]
    );
    assert!(s.contains("add map ip podnet_proxy endpoints_tcp { typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport; }"), "{s}");
    assert!(!s.contains("svc-x/web"), "no chain of its own: {s}");
    assert!(s.contains("add element ip podnet_proxy hairpin { 10.244.1.2 . 10.244.1.2, 10.244.2.2 . 10.244.2.2 }"), "{s}");
    assert!(s.contains("add rule ip podnet_proxy nat_prerouting ip daddr . meta l4proto . th dport vmap @service_ips"), "{s}");
    assert!(s.contains("add rule ip podnet_proxy nat_postrouting ct status dnat ip saddr . ip daddr @hairpin masquerade"), "{s}");
}

#[test]
fn a_service_without_ready_endpoints_is_rejected_and_terminating_ones_are_a_fallback() {
    let s = rendered(
        &format!("{WEB}{}", slice(&[("10.244.1.2", "n1", false)])),
        "n1",
    );
    assert!(
        s.contains(
            "add element ip podnet_proxy no_endpoint_ips { 10.96.0.10 . tcp . 80 : goto reject-chain }"
        ),
        "{s}"
    );
    assert!(!s.contains("svc-x/web"), "{s}");
    assert!(
        s.contains("add rule ip podnet_proxy reject-chain meta l4proto tcp reject with tcp reset"),
        "{s}"
    );
    let term = slice(&[("10.244.1.2", "n1", false)]).replace(
        "{ready: false}",
        "{ready: false, serving: true, terminating: true}",
    );
    let s = rendered(&format!("{WEB}{term}"), "n1");
    assert!(
        s.contains("endpoints_tcp { 10.96.0.10 . 80 . 0 : 10.244.1.2 . 8080 }"),
        "{s}"
    );
}

#[test]
fn session_affinity_uses_a_timed_set_per_endpoint() {
    let web = WEB.replace("  selector:", "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n  selector:");
    let s = rendered(
        &format!(
            "{web}{}",
            slice(&[("10.244.1.2", "n1", true), ("10.244.2.2", "n2", true)])
        ),
        "n1",
    );
    let ep = "ep-x/web/tcp/80/10.244.1.2/8080";
    assert!(s.contains("add set ip podnet_proxy aff-x/web/tcp/80/10.244.1.2/8080 { type ipv4_addr; flags dynamic, timeout; timeout 60s; }"), "{s}");
    assert!(s.contains(&format!("add rule ip podnet_proxy svc-x/web/tcp/80 ip saddr @aff-x/web/tcp/80/10.244.1.2/8080 goto {ep}")), "{s}");
    assert!(s.contains(&format!("add rule ip podnet_proxy {ep} update @aff-x/web/tcp/80/10.244.1.2/8080 {{ ip saddr }} meta l4proto tcp meta mark set meta mark | 0x00000800 dnat ip to 10.244.1.2:8080")), "{s}");
    assert!(s.contains(&format!("numgen random mod 2 vmap {{ 0 : goto {ep}, 1 : goto ep-x/web/tcp/80/10.244.2.2/8080 }}")), "{s}");
}

#[test]
fn node_ports_cluster_masquerade_and_local_answer_only_where_an_endpoint_runs() {
    let np = WEB.replace(
        "ports: [{name: http, port: 80}]",
        "type: NodePort\n  ports: [{name: http, port: 80, nodePort: 30080}]",
    );
    let eps = slice(&[("10.244.2.2", "n2", true)]);
    let s = rendered(&format!("{np}{eps}"), "n1");
    assert!(
        s.contains(
            "add element ip podnet_proxy service_nodeports { tcp . 30080 : goto ext-masq-tcp-1 }"
        ),
        "{s}"
    );
    assert!(
        s.contains(
            "add element ip podnet_proxy nodeport_endpoints_tcp { 30080 . 0 : 10.244.2.2 . 8080 }"
        ),
        "{s}"
    );
    assert_eq!(
        lines_with(&s, "add rule ip podnet_proxy ext-masq-tcp-1"),
        [
            "add rule ip podnet_proxy ext-masq-tcp-1 jump mark_masq",
            "add rule ip podnet_proxy ext-masq-tcp-1 meta l4proto tcp meta mark set meta mark | 0x00000800 dnat ip to tcp dport . numgen random mod 1 map @nodeport_endpoints_tcp",
        ]
    );
    let local = np.replace("  selector:", "  externalTrafficPolicy: Local\n  selector:");
    let s = rendered(&format!("{local}{eps}"), "n1");
    assert!(
        s.contains("add element ip podnet_proxy service_nodeports { tcp . 30080 : drop }"),
        "{s}"
    );
    let s = rendered(&format!("{local}{eps}"), "n2");
    assert!(
        s.contains("service_nodeports { tcp . 30080 : goto ext-tcp-1 }"),
        "{s}"
    );
    assert_eq!(
        lines_with(&s, "add rule ip podnet_proxy ext-tcp-1"),
        ["add rule ip podnet_proxy ext-tcp-1 meta l4proto tcp meta mark set meta mark | 0x00000800 dnat ip to tcp dport . numgen random mod 1 map @nodeport_endpoints_tcp"]
    );
    let s = rendered(&np, "n1");
    assert!(
        s.contains(
            "add element ip podnet_proxy no_endpoint_nodeports { tcp . 30080 : goto reject-chain }"
        ),
        "{s}"
    );
}

#[test]
fn internal_traffic_policy_local_keeps_cluster_traffic_on_the_node() {
    let web = WEB.replace("  selector:", "  internalTrafficPolicy: Local\n  selector:");
    let eps = slice(&[("10.244.1.2", "n1", true), ("10.244.2.2", "n2", true)]);
    let s = rendered(&format!("{web}{eps}"), "n1");
    assert!(
        s.contains("endpoints_tcp { 10.96.0.10 . 80 . 0 : 10.244.1.2 . 8080 }"),
        "{s}"
    );
    assert!(
        s.contains("service_ips { 10.96.0.10 . tcp . 80 : goto dnat-tcp-1 }"),
        "{s}"
    );
    let s = rendered(&format!("{web}{eps}"), "n3");
    assert!(
        s.contains("service_ips { 10.96.0.10 . tcp . 80 : drop }"),
        "{s}"
    );
}

#[test]
fn headless_external_name_and_bad_slice_entries_make_nothing() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: h, namespace: x}\nspec: {clusterIP: None, selector: {a: b}, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: e, namespace: x}\nspec: {type: ExternalName, externalName: example.org}\n";
    let (s, e) = objects(text);
    assert!(plan(&s, &e, "n1").ports.is_empty());
    let bad = slice(&[("not-an-ip", "n1", true), ("10.244.1.2", "n1", true)]);
    let (s, e) = objects(&format!("{WEB}{bad}"));
    let p = plan(&s, &e, "n1");
    assert_eq!(p.skipped, 1);
    assert_eq!(p.ports.values().next().unwrap().internal.len(), 1);
}

#[test]
fn one_endpoint_change_is_one_small_transaction() {
    let before = format!("{WEB}{}", slice(&[("10.244.1.2", "n1", true)]));
    let after = format!(
        "{WEB}{}",
        slice(&[("10.244.1.2", "n1", true), ("10.244.2.2", "n2", true)])
    );
    let (s0, e0) = objects(&before);
    let (s1, e1) = objects(&after);
    let tx = update(&table(&plan(&s0, &e0, "n1")), &table(&plan(&s1, &e1, "n1"))).render();
    assert_eq!(
        tx,
        "add chain ip podnet_proxy dnat-tcp-2\n\
         flush chain ip podnet_proxy dnat-tcp-2\n\
         flush chain ip podnet_proxy dnat-tcp-2\n\
         add rule ip podnet_proxy dnat-tcp-2 meta l4proto tcp meta mark set meta mark | 0x00000800 dnat ip to ip daddr . tcp dport . numgen random mod 2 map @endpoints_tcp\n\
         delete element ip podnet_proxy service_ips { 10.96.0.10 . tcp . 80 : goto dnat-tcp-1 }\n\
         add element ip podnet_proxy hairpin { 10.244.2.2 . 10.244.2.2 }\n\
         add element ip podnet_proxy service_ips { 10.96.0.10 . tcp . 80 : goto dnat-tcp-2 }\n\
         add element ip podnet_proxy endpoints_tcp { 10.96.0.10 . 80 . 1 : 10.244.2.2 . 8080 }\n\
         flush chain ip podnet_proxy dnat-tcp-1\n\
         delete chain ip podnet_proxy dnat-tcp-1\n"
    );
}
