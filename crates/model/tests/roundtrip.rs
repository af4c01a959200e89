//! Realistic manifests, as `kubectl get -o yaml` prints them (managedFields, status, resources
//! and other fields podnet does not model): they decode, drop what podnet does not keep, and
//! re-encode to what they decoded from (YAML and JSON both).

use podnet_model::{parse_manifests, validate, Kind, Object};

const KUBECTL: &str = include_str!("data/kubectl-get.yaml");

fn reencoded(objects: &[Object]) -> (String, String) {
    let yaml: Vec<String> = objects
        .iter()
        .map(|o| serde_yaml_ng::to_string(o).expect("encodes as yaml"))
        .collect();
    let json: Vec<String> = objects
        .iter()
        .map(|o| serde_json::to_string_pretty(o).expect("encodes as json"))
        .collect();
    (yaml.join("---\n"), json.join("\n"))
}

#[test]
fn kubectl_output_round_trips() {
    let objects = parse_manifests(KUBECTL).unwrap();
    assert_eq!(
        objects.iter().map(Object::kind).collect::<Vec<_>>(),
        [
            Kind::Namespace,
            Kind::Pod,
            Kind::Service,
            Kind::EndpointSlice,
            Kind::NetworkPolicy
        ]
    );
    for object in &objects {
        validate(object).unwrap_or_else(|e| panic!("{}: {e}", object.display_name()));
    }
    let (yaml, json) = reencoded(&objects);
    assert_eq!(parse_manifests(&yaml).unwrap(), objects);
    assert_eq!(parse_manifests(&json).unwrap(), objects);
    // Stable: encoding what was decoded from an encoding gives the same text.
    assert_eq!(reencoded(&parse_manifests(&yaml).unwrap()).0, yaml);
}

#[test]
fn unknown_fields_are_dropped_and_known_ones_kept() {
    let objects = parse_manifests(KUBECTL).unwrap();
    let pod = serde_json::to_value(&objects[1]).unwrap();
    assert_eq!(
        pod,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web-0",
                "namespace": "shop",
                "labels": {"app": "web", "pod-template-hash": "6b7d8f9c5"},
                "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-01T10:00:00Z"},
                "uid": "0c1a3c9e-27f5-4f7e-9d2b-4b2a1c0e9f11",
                "resourceVersion": "48213",
                "creationTimestamp": "2024-05-01T10:00:01Z",
            },
            "spec": {
                "nodeName": "node-1",
                "containers": [{
                    "name": "web",
                    "image": "nginx:1.25",
                    "ports": [
                        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                    ],
                }],
            },
            "status": {
                "phase": "Running",
                "podIP": "10.244.1.5",
                "podIPs": [{"ip": "10.244.1.5"}],
                "hostIP": "198.18.0.11",
                "conditions": [
                    {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"},
                    {"type": "ContainersReady", "status": "True"},
                    {"type": "PodScheduled", "status": "True"},
                ],
            },
        })
    );
    let Object::Pod(p) = &objects[1] else {
        panic!("not a pod")
    };
    assert!(p.is_ready());
    assert_eq!(p.ips(), ["10.244.1.5"]);
}

#[test]
fn empty_selectors_survive_and_absent_ones_stay_absent() {
    let objects = parse_manifests(KUBECTL).unwrap();
    let Object::NetworkPolicy(policy) = &objects[4] else {
        panic!("not a policy")
    };
    let peers = &policy.spec.ingress[0].from;
    assert_eq!(
        peers[0].namespace_selector.as_ref().map(|s| s.is_empty()),
        Some(true)
    );
    assert!(peers[0].pod_selector.is_some());
    assert!(peers[1].namespace_selector.is_none());
    let json = serde_json::to_value(&objects[4]).unwrap();
    assert_eq!(
        json["spec"]["ingress"][0]["from"][0]["namespaceSelector"],
        serde_json::json!({})
    );
    assert_eq!(
        json["spec"]["podSelector"],
        serde_json::json!({"matchLabels": {"app": "web"}})
    );
}

#[test]
fn services_and_slices_keep_their_fields() {
    let objects = parse_manifests(KUBECTL).unwrap();
    let svc = serde_json::to_value(&objects[2]).unwrap();
    assert_eq!(
        svc["spec"],
        serde_json::json!({
            "type": "NodePort",
            "clusterIP": "10.96.12.34",
            "clusterIPs": ["10.96.12.34"],
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": 9090, "nodePort": 31090},
            ],
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Cluster",
        })
    );
    let slice = serde_json::to_value(&objects[3]).unwrap();
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(
        slice["endpoints"][1],
        serde_json::json!({
            "addresses": ["10.244.2.7"],
            "conditions": {"ready": false, "serving": true, "terminating": true},
            "nodeName": "node-2",
            "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "5f0d9a51-7b0e-4c0f-8d43-2f9d3c1b7a22"},
        })
    );
    let Object::EndpointSlice(s) = &objects[3] else {
        panic!("not a slice")
    };
    assert!(s.endpoints[0].conditions.is_ready());
    assert!(!s.endpoints[1].conditions.is_ready());
    assert!(s.endpoints[1].conditions.is_serving());
    assert!(s.endpoints[1].conditions.is_terminating());
}

#[test]
fn a_kubectl_list_decodes_like_its_items() {
    let items: Vec<serde_json::Value> = parse_manifests(KUBECTL)
        .unwrap()
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    assert_eq!(
        parse_manifests(&list.to_string()).unwrap(),
        parse_manifests(KUBECTL).unwrap()
    );
}

#[test]
fn objects_decode_through_serde_too() {
    for object in parse_manifests(KUBECTL).unwrap() {
        let bytes = serde_json::to_vec(&object).unwrap();
        let back: Object = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, object);
        assert_eq!(Object::from_value(object.to_value()).unwrap(), object);
    }
    let err = serde_json::from_str::<Object>(r#"{"apiVersion":"apps/v1","kind":"Deployment"}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown kind \"Deployment\""),
        "{err}"
    );
}
