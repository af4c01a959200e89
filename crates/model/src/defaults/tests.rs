use super::*;
use crate::decode::parse_manifests;

fn one(yaml: &str) -> Object {
    let mut objects = parse_manifests(yaml).unwrap();
    assert_eq!(objects.len(), 1);
    objects.remove(0)
}

fn defaulted(yaml: &str) -> Object {
    let mut object = one(yaml);
    let mut n = 0;
    apply_defaults(&mut object, &mut || {
        n += 1;
        format!("uid-{n}")
    });
    object
}

fn json(object: &Object) -> serde_json::Value {
    serde_json::to_value(object).unwrap()
}

#[test]
fn namespace_and_uid() {
    let pod = defaulted("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
    assert_eq!(pod.namespace(), Some("default"));
    assert_eq!(pod.meta().uid.as_deref(), Some("uid-1"));
    let pod =
        defaulted("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, uid: keep}\n");
    assert_eq!(pod.namespace(), Some("x"));
    assert_eq!(pod.meta().uid.as_deref(), Some("keep"));
    let pod = defaulted("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: \"\"}\n");
    assert_eq!(pod.namespace(), Some("default"));
}

#[test]
fn namespaces_get_their_name_label() {
    let ns = defaulted("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {ns: x, kubernetes.io/metadata.name: wrong}\n");
    assert_eq!(ns.namespace(), None);
    assert_eq!(
        json(&ns)["metadata"]["labels"],
        serde_json::json!({"kubernetes.io/metadata.name": "x", "ns": "x"})
    );
}

#[test]
fn service_defaults() {
    let svc = defaulted(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80}\n  - {name: dns, port: 53, protocol: UDP, targetPort: dns}\n  - {name: zero, port: 81, targetPort: 0}\n",
    );
    assert_eq!(
        json(&svc)["spec"],
        serde_json::json!({
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80},
                {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": "dns"},
                {"name": "zero", "protocol": "TCP", "port": 81, "targetPort": 81},
            ],
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
        })
    );
}

#[test]
fn node_port_and_affinity_defaults() {
    let svc = defaulted(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  sessionAffinity: ClientIP\n  ports: [{port: 80}]\n",
    );
    let spec = &json(&svc)["spec"];
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(
        spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
    let svc = defaulted(
        "apiVersion: v1\nkind: Service\nmetadata: {name: alias}\nspec: {type: ExternalName, externalName: db.example.com}\n",
    );
    let spec = &json(&svc)["spec"];
    assert!(spec.get("internalTrafficPolicy").is_none());
    assert!(spec.get("externalTrafficPolicy").is_none());
}

#[test]
fn pod_and_slice_port_protocols() {
    let pod = defaulted(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 80}, {containerPort: 81, protocol: UDP}]\n",
    );
    assert_eq!(
        json(&pod)["spec"]["containers"][0]["ports"],
        serde_json::json!([
            {"containerPort": 80, "protocol": "TCP"},
            {"containerPort": 81, "protocol": "UDP"},
        ])
    );
    let pod = defaulted(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: true\n  containers:\n  - name: c\n    ports: [{containerPort: 8080}]\n",
    );
    assert_eq!(
        json(&pod)["spec"]["containers"][0]["ports"][0]["hostPort"],
        8080
    );
    let slice = defaulted(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1}\naddressType: IPv4\nendpoints: []\nports: [{name: http, port: 8080}]\n",
    );
    assert_eq!(json(&slice)["ports"][0]["protocol"], "TCP");
}

#[test]
fn policy_types_follow_the_rules() {
    let cases = [
        ("{podSelector: {}}", serde_json::json!(["Ingress"])),
        (
            "{podSelector: {}, ingress: [{}]}",
            serde_json::json!(["Ingress"]),
        ),
        (
            "{podSelector: {}, egress: [{}]}",
            serde_json::json!(["Ingress", "Egress"]),
        ),
        (
            "{podSelector: {}, policyTypes: [Egress]}",
            serde_json::json!(["Egress"]),
        ),
    ];
    for (spec, expected) in cases {
        let policy = defaulted(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p}}\nspec: {spec}\n"
        ));
        assert_eq!(json(&policy)["spec"]["policyTypes"], expected, "{spec}");
    }
    let policy = defaulted(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 80}]}]\n  egress: [{ports: [{port: 53, protocol: UDP}, {port: dns}]}]\n",
    );
    let spec = &json(&policy)["spec"];
    assert_eq!(spec["ingress"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["egress"][0]["ports"][0]["protocol"], "UDP");
    assert_eq!(spec["egress"][0]["ports"][1]["protocol"], "TCP");
}

#[test]
fn defaulting_twice_changes_nothing() {
    let text = include_str!("../../tests/data/truth-table.yaml");
    for mut object in parse_manifests(text).unwrap() {
        apply_defaults(&mut object, &mut || "u".to_owned());
        let once = object.clone();
        apply_defaults(&mut object, &mut || unreachable!("uid already set"));
        assert_eq!(object, once);
    }
}
