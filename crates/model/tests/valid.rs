//! Objects that must pass validation, as written and after the defaults: the NetworkPolicy
//! truth-table cluster, and edge cases just inside each rule.

use podnet_model::{
    apply_defaults, parse_manifests, validate, Kind, LabelSelector, Object, PolicyType,
};

const TRUTH_TABLE: &str = include_str!("data/truth-table.yaml");

fn assert_valid(objects: Vec<Object>) {
    for mut object in objects {
        if let Err(e) = validate(&object) {
            panic!("{} as written: {e}", object.display_name());
        }
        apply_defaults(&mut object, &mut || "uid".to_owned());
        if let Err(e) = validate(&object) {
            panic!("{} after defaults: {e}", object.display_name());
        }
    }
}

#[test]
fn the_truth_table_cluster_is_valid() {
    let objects = parse_manifests(TRUTH_TABLE).unwrap();
    let count = |kind| objects.iter().filter(|o| o.kind() == kind).count();
    assert_eq!(count(Kind::Namespace), 3);
    assert_eq!(count(Kind::Pod), 9);
    assert_eq!(count(Kind::Service), 9);
    assert!(count(Kind::NetworkPolicy) >= 7);
    assert_valid(objects);
}

#[test]
fn truth_table_pods_have_the_four_named_ports() {
    let objects = parse_manifests(TRUTH_TABLE).unwrap();
    for object in &objects {
        let Object::Pod(pod) = object else { continue };
        let name = &pod.metadata.name;
        assert_eq!(pod.metadata.labels.get("pod"), Some(name));
        for (port_name, number) in [
            ("serve-80-tcp", 80),
            ("serve-80-udp", 80),
            ("serve-81-tcp", 81),
            ("serve-81-udp", 81),
        ] {
            let (port, protocol) = pod.named_port(port_name).unwrap();
            assert_eq!(port, number);
            assert_eq!(protocol.as_str(), port_name[9..].to_ascii_uppercase());
        }
    }
}

#[test]
fn truth_table_selectors_select_what_the_suite_expects() {
    let objects = parse_manifests(TRUTH_TABLE).unwrap();
    let namespaces: Vec<_> = objects
        .iter()
        .filter(|o| o.kind() == Kind::Namespace)
        .map(|o| o.meta().labels.clone())
        .collect();
    let policy = objects
        .iter()
        .find_map(|o| match o {
            Object::NetworkPolicy(p) if p.metadata.name == "allow-ns-y-z-match-expressions" => {
                Some(p)
            }
            _ => None,
        })
        .unwrap();
    let from = &policy.spec.ingress[0].from[0];
    let ns_selector: &LabelSelector = from.namespace_selector.as_ref().unwrap();
    let selected: Vec<bool> = namespaces.iter().map(|l| ns_selector.matches(l)).collect();
    assert_eq!(selected, [false, true, true]);
    assert_eq!(policy.spec.effective_policy_types(), [PolicyType::Ingress]);
    let deny_all = objects
        .iter()
        .find_map(|o| match o {
            Object::NetworkPolicy(p) if p.metadata.name == "deny-all" => Some(p),
            _ => None,
        })
        .unwrap();
    assert!(deny_all.spec.affects_ingress() && deny_all.spec.affects_egress());
    assert!(deny_all.spec.pod_selector.is_empty());
}

#[test]
fn edge_cases_just_inside_the_rules() {
    // An empty label key is not fine: a control, it must fail.
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: \"123\", labels: {\"\": x}}\n";
    let objects = parse_manifests(text).unwrap();
    assert!(validate(&objects[0]).is_err());

    let long_label = "a".repeat(63);
    let svc_name = format!("s{}", "a".repeat(62));
    let text = format!(
        r#"
apiVersion: v1
kind: Namespace
metadata:
  name: "123"
  labels: {{example.com/{long_label}: "", app: {long_label}, A.b_c-D: x}}
  annotations: {{Example.com/Some-Key: "any text at all: yes"}}
---
apiVersion: v1
kind: Service
metadata: {{name: {svc_name}, namespace: x}}
spec:
  clusterIP: None
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: x}}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  sessionAffinity: ClientIP
  sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 86400}}}}
  publishNotReadyAddresses: true
  ports:
  - {{name: low, port: 1, nodePort: 30000, targetPort: 0}}
  - {{name: high, port: 65535, nodePort: 32767, targetPort: serve-80-tcp}}
  - {{name: udp, port: 1, protocol: UDP, nodePort: 30000, targetPort: 65535}}
---
apiVersion: v1
kind: Service
metadata: {{name: alias, namespace: x}}
spec: {{type: ExternalName, externalName: db.example.com}}
---
apiVersion: v1
kind: Pod
metadata: {{name: node-agent.x, namespace: kube-system}}
spec:
  hostNetwork: true
  nodeName: node-1.lab
  containers:
  - name: a
    ports: [{{containerPort: 9100}}, {{containerPort: 9101, hostPort: 9101, name: metrics}}]
  - name: b
    ports: [{{containerPort: 9100, protocol: UDP, name: metrics-udp}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-abc12, namespace: x, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  conditions: {{ready: true, serving: true, terminating: false}}
  nodeName: node-1
  hostname: web-0
  targetRef: {{kind: Pod, namespace: x, name: web-0}}
ports:
- {{port: 8080}}
- {{name: dns, port: 53, protocol: UDP}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: db-v6, namespace: x}}
addressType: IPv6
endpoints: [{{addresses: ["fd00:10:244::5"]}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: ext, namespace: x}}
addressType: FQDN
endpoints: [{{addresses: [db.example.com]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: edges, namespace: x}}
spec:
  podSelector: {{}}
  policyTypes: [Egress, Ingress]
  ingress:
  - from:
    - ipBlock: {{cidr: 10.0.0.1/24, except: [10.0.0.128/25, 10.0.0.7/32]}}
    - ipBlock: {{cidr: "fd00::/48", except: ["fd00::/64"]}}
    ports:
    - {{port: 80, endPort: 80}}
    - {{port: 1, endPort: 65535, protocol: SCTP}}
    - {{protocol: UDP}}
  egress:
  - {{}}
"#,
    );
    let objects = parse_manifests(&text).unwrap();
    assert_eq!(objects.len(), 9);
    assert_valid(objects);
}
