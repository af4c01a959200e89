//! A table of hand-written invalid objects, each with the field path its error must name and a
//! piece of the message. Every case is checked as written and again after the defaults (the
//! API server validates defaulted objects; podnet's `validate` must agree on both).

use podnet_model::{apply_defaults, parse_manifests, validate, Object};

struct Case {
    yaml: String,
    path: &'static str,
    message: &'static str,
}

fn meta_of(kind: &str, api_version: &str, meta: &str, rest: &str) -> String {
    format!("apiVersion: {api_version}\nkind: {kind}\nmetadata: {meta}\n{rest}")
}

const OK_CONTAINERS: &str = "spec: {containers: [{name: c}]}";

fn pod_meta(meta: &str) -> String {
    meta_of("Pod", "v1", meta, OK_CONTAINERS)
}
fn pod(spec: &str) -> String {
    meta_of(
        "Pod",
        "v1",
        "{name: a, namespace: x}",
        &format!("spec: {spec}"),
    )
}
fn ports(ports: &str) -> String {
    pod(&format!("{{containers: [{{name: c, ports: [{ports}]}}]}}"))
}
fn namespace(meta: &str) -> String {
    meta_of("Namespace", "v1", meta, "")
}
fn svc_meta(meta: &str) -> String {
    meta_of("Service", "v1", meta, "spec: {ports: [{port: 80}]}")
}
fn svc(spec: &str) -> String {
    meta_of(
        "Service",
        "v1",
        "{name: web, namespace: x}",
        &format!("spec: {spec}"),
    )
}
fn slice(body: &str) -> String {
    meta_of(
        "EndpointSlice",
        "discovery.k8s.io/v1",
        "{name: web-1, namespace: x}",
        body,
    )
}
fn ipv4_slice(endpoints: &str) -> String {
    slice(&format!("addressType: IPv4\nendpoints: [{endpoints}]\n"))
}
fn policy(spec: &str) -> String {
    meta_of(
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "{name: p, namespace: x}",
        &format!("spec: {spec}"),
    )
}
fn ingress_from(peers: &str) -> String {
    policy(&format!(
        "{{podSelector: {{}}, ingress: [{{from: [{peers}]}}]}}"
    ))
}
fn ingress_ports(ports: &str) -> String {
    policy(&format!(
        "{{podSelector: {{}}, ingress: [{{ports: [{ports}]}}]}}"
    ))
}
fn pod_selector(selector: &str) -> String {
    policy(&format!("{{podSelector: {selector}}}"))
}

fn case(yaml: String, path: &'static str, message: &'static str) -> Case {
    Case {
        yaml,
        path,
        message,
    }
}

fn cases() -> Vec<Case> {
    let long = |n: usize| "a".repeat(n);
    vec![
        // metadata, every kind
        case(pod_meta("{namespace: x}"), "metadata.name", "Required value"),
        case(pod_meta("{name: Web}"), "metadata.name", "RFC 1123 subdomain"),
        case(pod_meta("{name: a_b}"), "metadata.name", "RFC 1123 subdomain"),
        case(pod_meta("{name: a..b}"), "metadata.name", "RFC 1123 subdomain"),
        case(pod_meta("{name: a/b}"), "metadata.name", "RFC 1123 subdomain"),
        case(pod_meta(&format!("{{name: {}}}", long(254))), "metadata.name", "must be no more than 253 characters"),
        case(namespace("{name: a.b}"), "metadata.name", "RFC 1123 label"),
        case(namespace(&format!("{{name: {}}}", long(64))), "metadata.name", "must be no more than 63 characters"),
        case(namespace("{name: -x}"), "metadata.name", "RFC 1123 label"),
        case(namespace("{name: X}"), "metadata.name", "RFC 1123 label"),
        case(namespace("{name: x, namespace: y}"), "metadata.namespace", "Forbidden: not allowed on this type"),
        case(namespace("{labels: {ns: x}}"), "metadata.name", "Required value"),
        case(svc_meta("{name: 1web}"), "metadata.name", "DNS-1035 label"),
        case(svc_meta("{name: web.x}"), "metadata.name", "DNS-1035 label"),
        case(svc_meta(&format!("{{name: {}}}", long(64))), "metadata.name", "must be no more than 63 characters"),
        case(pod_meta("{name: a, namespace: X}"), "metadata.namespace", "RFC 1123 label"),
        case(pod_meta("{name: a, namespace: a.b}"), "metadata.namespace", "RFC 1123 label"),
        case(pod_meta("{name: a, labels: {\"-app\": x}}"), "metadata.labels[-app]", "name part must consist of alphanumeric characters"),
        case(pod_meta("{name: a, labels: {a/b/c: x}}"), "metadata.labels[a/b/c]", "a qualified name must consist of"),
        case(pod_meta("{name: a, labels: {/app: x}}"), "metadata.labels[/app]", "prefix part must be non-empty"),
        case(pod_meta("{name: a, labels: {Example.com/app: x}}"), "metadata.labels[Example.com/app]", "prefix part a lowercase RFC 1123 subdomain"),
        case(pod_meta(&format!("{{name: a, labels: {{{}.io/app: x}}}}", long(251))), "metadata.labels[", "prefix part must be no more than 253 characters"),
        case(pod_meta(&format!("{{name: a, labels: {{{}: x}}}}", long(64))), "metadata.labels[", "name part must be no more than 63 characters"),
        case(pod_meta("{name: a, labels: {example.com/: x}}"), "metadata.labels[example.com/]", "name part must be non-empty"),
        case(pod_meta("{name: a, labels: {\"a b\": x}}"), "metadata.labels[a b]", "name part must consist"),
        case(pod_meta("{name: a, labels: {app: -x}}"), "metadata.labels[app]", "a valid label must be an empty string"),
        case(pod_meta(&format!("{{name: a, labels: {{app: {}}}}}", long(64))), "metadata.labels[app]", "must be no more than 63 characters"),
        case(pod_meta("{name: a, labels: {app: a b}}"), "metadata.labels[app]", "Invalid value: \"a b\""),
        case(pod_meta("{name: a, labels: {app: a/b}}"), "metadata.labels[app]", "a valid label"),
        case(namespace("{name: x, labels: {\"ns_\": x}}"), "metadata.labels[ns_]", "name part must consist"),
        case(pod_meta("{name: a, annotations: {bad key: x}}"), "metadata.annotations[bad key]", "name part must consist"),
        case(pod_meta("{name: a, annotations: {a/b/c: x}}"), "metadata.annotations[a/b/c]", "a qualified name"),
        case(
            pod_meta(&format!("{{name: a, annotations: {{big: {}}}}}", "x".repeat(256 * 1024))),
            "metadata.annotations",
            "Too long: must have at most 262144 bytes",
        ),
        case(
            meta_of("NetworkPolicy", "networking.k8s.io/v1", "{name: Deny, namespace: x}", "spec: {podSelector: {}}"),
            "metadata.name",
            "RFC 1123 subdomain",
        ),
        case(
            meta_of("EndpointSlice", "discovery.k8s.io/v1", "{name: web_1}", "addressType: IPv4\nendpoints: []"),
            "metadata.name",
            "RFC 1123 subdomain",
        ),
        // Pod
        case(pod("{containers: []}"), "spec.containers", "Required value"),
        case(pod("{}"), "spec.containers", "Required value"),
        case(pod("{containers: [{image: busybox}]}"), "spec.containers[0].name", "Required value"),
        case(pod("{containers: [{name: App}]}"), "spec.containers[0].name", "RFC 1123 label"),
        case(pod("{containers: [{name: a.b}]}"), "spec.containers[0].name", "RFC 1123 label"),
        case(pod("{containers: [{name: c}, {name: d}, {name: c}]}"), "spec.containers[2].name", "Duplicate value: \"c\""),
        case(ports("{containerPort: 0}"), "spec.containers[0].ports[0].containerPort", "Required value"),
        case(ports("{name: http}"), "spec.containers[0].ports[0].containerPort", "Required value"),
        case(ports("{containerPort: 70000}"), "spec.containers[0].ports[0].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
        case(ports("{containerPort: -1}"), "spec.containers[0].ports[0].containerPort", "Invalid value: -1"),
        case(ports("{containerPort: 80, hostPort: 70000}"), "spec.containers[0].ports[0].hostPort", "must be between 1 and 65535"),
        case(ports("{containerPort: 80, hostPort: -5}"), "spec.containers[0].ports[0].hostPort", "Invalid value: -5"),
        case(ports("{containerPort: 80, protocol: ICMP}"), "spec.containers[0].ports[0].protocol", "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
        case(ports("{containerPort: 80, protocol: tcp}"), "spec.containers[0].ports[0].protocol", "Unsupported value: \"tcp\""),
        case(ports("{containerPort: 80, name: HTTP}"), "spec.containers[0].ports[0].name", "must contain only alpha-numeric characters"),
        case(ports("{containerPort: 80, name: \"8080\"}"), "spec.containers[0].ports[0].name", "must contain at least one letter (a-z)"),
        case(ports("{containerPort: 80, name: a--b}"), "spec.containers[0].ports[0].name", "must not contain consecutive hyphens"),
        case(ports("{containerPort: 80, name: -http}"), "spec.containers[0].ports[0].name", "must not begin or end with a hyphen"),
        case(ports("{containerPort: 80, name: http-}"), "spec.containers[0].ports[0].name", "must not begin or end with a hyphen"),
        case(ports("{containerPort: 80, name: serve-80-tcp-long}"), "spec.containers[0].ports[0].name", "must be no more than 15 characters"),
        case(ports("{containerPort: 80, name: web}, {containerPort: 81, name: web}"), "spec.containers[0].ports[1].name", "Duplicate value: \"web\""),
        case(
            pod("{containers: [{name: c, ports: [{containerPort: 80, name: serve-80-tcp}]}, {name: d, ports: [{containerPort: 81, name: serve-80-tcp}]}]}"),
            "spec.containers[1].ports[0].name",
            "Duplicate value: \"serve-80-tcp\"",
        ),
        case(
            pod("{hostNetwork: true, containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}]}"),
            "spec.containers[0].ports[0].hostPort",
            "Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
        ),
        case(
            pod("{containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}, {name: d, ports: [{containerPort: 81, hostPort: 8080}]}]}"),
            "spec.containers[1].ports[0].hostPort",
            "Duplicate value: \"8080/TCP\"",
        ),
        case(pod("{nodeName: Node_1, containers: [{name: c}]}"), "spec.nodeName", "RFC 1123 subdomain"),
        case(pod("{nodeName: node-1., containers: [{name: c}]}"), "spec.nodeName", "RFC 1123 subdomain"),
        case(
            pod("{containers: [{name: c}, {name: d, ports: [{containerPort: 80}, {containerPort: 81}, {containerPort: 99999}]}]}"),
            "spec.containers[1].ports[2].containerPort",
            "Invalid value: 99999",
        ),
        // Service
        case(svc("{selector: {app: web}}"), "spec.ports", "Required value"),
        case(svc("{ports: [{port: 0}]}"), "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
        case(svc("{ports: [{port: 65536}]}"), "spec.ports[0].port", "Invalid value: 65536"),
        case(svc("{ports: [{port: 80, targetPort: 70000}]}"), "spec.ports[0].targetPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
        case(svc("{ports: [{port: 80, targetPort: -1}]}"), "spec.ports[0].targetPort", "Invalid value: -1"),
        case(svc("{ports: [{port: 80, targetPort: HTTP}]}"), "spec.ports[0].targetPort", "Invalid value: \"HTTP\": must contain only alpha-numeric"),
        case(svc("{ports: [{port: 80, targetPort: \"8080\"}]}"), "spec.ports[0].targetPort", "Invalid value: \"8080\": must contain at least one letter"),
        case(svc("{ports: [{port: 80, targetPort: a--b}]}"), "spec.ports[0].targetPort", "consecutive hyphens"),
        case(svc("{ports: [{port: 80, targetPort: very-long-port-name}]}"), "spec.ports[0].targetPort", "must be no more than 15 characters"),
        case(svc("{ports: [{port: 80, protocol: ICMP}]}"), "spec.ports[0].protocol", "Unsupported value: \"ICMP\""),
        case(svc("{ports: [{name: http, port: 80}, {port: 81}]}"), "spec.ports[1].name", "Required value"),
        case(svc("{ports: [{port: 80}, {port: 81}]}"), "spec.ports[0].name", "Required value"),
        case(svc("{ports: [{name: http, port: 80}, {name: http, port: 81}]}"), "spec.ports[1].name", "Duplicate value: \"http\""),
        case(svc("{ports: [{name: Http, port: 80}]}"), "spec.ports[0].name", "RFC 1123 label"),
        case(svc("{ports: [{name: a, port: 80}, {name: b, port: 80}]}"), "spec.ports[1]", "Duplicate value: \"80/TCP\""),
        case(svc("{ports: [{name: a, port: 53, protocol: UDP}, {name: b, port: 53}, {name: c, port: 53, protocol: TCP}]}"), "spec.ports[2]", "Duplicate value: \"53/TCP\""),
        case(svc("{type: Foo, ports: [{port: 80}]}"), "spec.type", "Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
        case(svc("{type: clusterip, ports: [{port: 80}]}"), "spec.type", "Unsupported value: \"clusterip\""),
        case(svc("{clusterIP: 10.96.0, ports: [{port: 80}]}"), "spec.clusterIP", "must be a valid IPv4 address"),
        case(svc("{clusterIP: \"fd00::1\", ports: [{port: 80}]}"), "spec.clusterIP", "must be a valid IPv4 address"),
        case(svc("{clusterIP: none, ports: [{port: 80}]}"), "spec.clusterIP", "Invalid value: \"none\""),
        case(svc("{clusterIP: 10.96.0.10, clusterIPs: [10.96.0.11], ports: [{port: 80}]}"), "spec.clusterIPs[0]", "must match `clusterIP`"),
        case(svc("{clusterIPs: [10.96.0.10, 10.96.0.11], ports: [{port: 80}]}"), "spec.clusterIPs", "single-stack IPv4"),
        case(svc("{clusterIPs: [10.96.0.300], ports: [{port: 80}]}"), "spec.clusterIPs[0]", "must be a valid IPv4 address"),
        case(svc("{clusterIPs: [10.96.0.1, None], ports: [{port: 80}]}"), "spec.clusterIPs[1]", "'None' must be the only value"),
        case(svc("{type: NodePort, clusterIP: None, ports: [{port: 80}]}"), "spec.clusterIP", "may not be set to 'None' for NodePort services"),
        case(svc("{type: LoadBalancer, clusterIP: None, ports: [{port: 80}]}"), "spec.clusterIP", "for LoadBalancer services"),
        case(svc("{type: ClusterIP, ports: [{port: 80, nodePort: 30080}]}"), "spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'"),
        case(svc("{ports: [{port: 80, nodePort: 30080}]}"), "spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'"),
        case(svc("{type: NodePort, ports: [{port: 80, nodePort: 80}]}"), "spec.ports[0].nodePort", "provided port is not in the valid range. The range of valid ports is 30000-32767"),
        case(svc("{type: NodePort, ports: [{port: 80, nodePort: 32768}]}"), "spec.ports[0].nodePort", "Invalid value: 32768"),
        case(svc("{type: LoadBalancer, ports: [{port: 80, nodePort: 29999}]}"), "spec.ports[0].nodePort", "Invalid value: 29999"),
        case(svc("{type: NodePort, ports: [{name: a, port: 80, nodePort: 30080}, {name: b, port: 81, nodePort: 30080}]}"), "spec.ports[1].nodePort", "Duplicate value: 30080"),
        case(svc("{sessionAffinity: Sticky, ports: [{port: 80}]}"), "spec.sessionAffinity", "Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\""),
        case(svc("{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, ports: [{port: 80}]}"), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value: 0: must be greater than 0 and less than 86400"),
        case(svc("{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}, ports: [{port: 80}]}"), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value: 86401"),
        case(svc("{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: -1}}, ports: [{port: 80}]}"), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value: -1"),
        case(svc("{sessionAffinity: None, sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}, ports: [{port: 80}]}"), "spec.sessionAffinityConfig", "Forbidden: must not be set when session affinity is None"),
        case(svc("{sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}, ports: [{port: 80}]}"), "spec.sessionAffinityConfig", "Forbidden"),
        case(svc("{type: NodePort, externalTrafficPolicy: Foo, ports: [{port: 80}]}"), "spec.externalTrafficPolicy", "Unsupported value: \"Foo\": supported values: \"Cluster\", \"Local\""),
        case(svc("{externalTrafficPolicy: Local, ports: [{port: 80}]}"), "spec.externalTrafficPolicy", "may only be set for externally-accessible services"),
        case(svc("{internalTrafficPolicy: local, ports: [{port: 80}]}"), "spec.internalTrafficPolicy", "Unsupported value: \"local\""),
        case(svc("{selector: {app: -web}, ports: [{port: 80}]}"), "spec.selector[app]", "a valid label"),
        case(svc("{selector: {\"-app\": web}, ports: [{port: 80}]}"), "spec.selector[-app]", "name part must consist"),
        case(svc("{type: ExternalName}"), "spec.externalName", "Required value"),
        case(svc("{type: ExternalName, externalName: db.example.com, clusterIP: 10.96.0.10}"), "spec.clusterIP", "Forbidden: may not be set for ExternalName services"),
        case(svc("{type: ExternalName, externalName: Bad_Name}"), "spec.externalName", "RFC 1123 subdomain"),
        case(svc("{ports: [{name: a, port: 80}, {name: b, port: 81}, {name: c, port: 82, targetPort: web_1}]}"), "spec.ports[2].targetPort", "Invalid value: \"web_1\""),
        // EndpointSlice
        case(slice("endpoints: []"), "addressType", "Required value"),
        case(slice("addressType: ipv4\nendpoints: []"), "addressType", "Unsupported value: \"ipv4\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""),
        case(ipv4_slice("{addresses: []}"), "endpoints[0].addresses", "Required value: must contain at least 1 address"),
        case(ipv4_slice("{nodeName: node-1}"), "endpoints[0].addresses", "must contain at least 1 address"),
        case(ipv4_slice("{addresses: [10.0.0]}"), "endpoints[0].addresses[0]", "Invalid value: \"10.0.0\": must be a valid IPv4 address"),
        case(ipv4_slice("{addresses: [10.244.1.5]}, {addresses: [\"fd00::5\"]}"), "endpoints[1].addresses[0]", "must be a valid IPv4 address"),
        case(ipv4_slice("{addresses: [127.0.0.1]}"), "endpoints[0].addresses[0]", "may not be in the loopback range"),
        case(ipv4_slice("{addresses: [0.0.0.0]}"), "endpoints[0].addresses[0]", "may not be unspecified"),
        case(ipv4_slice("{addresses: [169.254.1.1]}"), "endpoints[0].addresses[0]", "may not be in the link-local range"),
        case(ipv4_slice("{addresses: [224.0.0.5]}"), "endpoints[0].addresses[0]", "link-local multicast"),
        case(
            slice("addressType: IPv6\nendpoints: [{addresses: [\"fd00::1\"]}, {addresses: [10.0.0.1]}]"),
            "endpoints[1].addresses[0]",
            "must be a valid IPv6 address",
        ),
        case(slice("addressType: IPv6\nendpoints: [{addresses: [\"::1\"]}]"), "endpoints[0].addresses[0]", "loopback"),
        case(slice("addressType: FQDN\nendpoints: [{addresses: [db]}]"), "endpoints[0].addresses[0]", "at least two segments"),
        case(slice("addressType: FQDN\nendpoints: [{addresses: [DB.example.com]}]"), "endpoints[0].addresses[0]", "RFC 1123 subdomain"),
        case(
            ipv4_slice(&format!(
                "{{addresses: [{}]}}",
                (0..101).map(|i| format!("10.0.{}.{}", i / 200, i % 200 + 1)).collect::<Vec<_>>().join(", ")
            )),
            "endpoints[0].addresses",
            "Too many: 101: must have at most 100 items",
        ),
        case(ipv4_slice("{addresses: [10.0.0.1], nodeName: Node_1}"), "endpoints[0].nodeName", "RFC 1123 subdomain"),
        case(ipv4_slice("{addresses: [10.0.0.1], hostname: a.b}"), "endpoints[0].hostname", "RFC 1123 label"),
        case(slice("addressType: IPv4\nendpoints: []\nports: [{port: 80, protocol: ICMP}]"), "ports[0].protocol", "Unsupported value: \"ICMP\""),
        case(slice("addressType: IPv4\nendpoints: []\nports: [{port: 0}]"), "ports[0].port", "Invalid value: 0"),
        case(slice("addressType: IPv4\nendpoints: []\nports: [{name: Http, port: 80}]"), "ports[0].name", "RFC 1123 label"),
        case(slice("addressType: IPv4\nendpoints: []\nports: [{name: http, port: 80}, {name: http, port: 81}]"), "ports[1].name", "Duplicate value: \"http\""),
        case(slice("addressType: IPv4\nendpoints: []\nports: [{port: 80}, {port: 81}]"), "ports[1].name", "Duplicate value: \"\""),
        // NetworkPolicy
        case(pod_selector("{matchExpressions: [{key: pod, operator: Gt, values: [\"1\"]}]}"), "spec.podSelector.matchExpressions[0].operator", "Invalid value: \"Gt\": not a valid selector operator"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: in, values: [a]}]}"), "spec.podSelector.matchExpressions[0].operator", "not a valid selector operator"),
        case(pod_selector("{matchExpressions: [{key: pod, values: [a]}]}"), "spec.podSelector.matchExpressions[0].operator", "not a valid selector operator"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: In}]}"), "spec.podSelector.matchExpressions[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: NotIn, values: []}]}"), "spec.podSelector.matchExpressions[0].values", "Required value"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: Exists, values: [a]}]}"), "spec.podSelector.matchExpressions[0].values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: Exists}, {key: ns, operator: DoesNotExist, values: [x]}]}"), "spec.podSelector.matchExpressions[1].values", "Forbidden"),
        case(pod_selector("{matchExpressions: [{key: \"-pod\", operator: Exists}]}"), "spec.podSelector.matchExpressions[0].key", "name part must consist"),
        case(pod_selector("{matchExpressions: [{operator: Exists}]}"), "spec.podSelector.matchExpressions[0].key", "name part must be non-empty"),
        case(pod_selector("{matchExpressions: [{key: pod, operator: In, values: [a, \"b c\"]}]}"), "spec.podSelector.matchExpressions[0].values[1]", "a valid label"),
        case(pod_selector("{matchLabels: {pod: \"a/b\"}}"), "spec.podSelector.matchLabels[pod]", "a valid label"),
        case(ingress_from("{}"), "spec.ingress[0].from[0]", "Required value: must specify a peer"),
        case(ingress_from("{podSelector: {}}, {podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}"), "spec.ingress[0].from[1]", "Forbidden: may not specify both ipBlock and another peer"),
        case(ingress_from("{namespaceSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}"), "spec.ingress[0].from[0]", "may not specify both ipBlock and another peer"),
        case(ingress_from("{ipBlock: {except: [10.0.0.0/24]}}"), "spec.ingress[0].from[0].ipBlock.cidr", "Required value"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0/33}}"), "spec.ingress[0].from[0].ipBlock.cidr", "Invalid value: \"10.0.0.0/33\": must be a valid CIDR value"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0}}"), "spec.ingress[0].from[0].ipBlock.cidr", "must be a valid CIDR value"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0]}}"), "spec.ingress[0].from[0].ipBlock.except[0]", "must be a valid CIDR value"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 192.168.0.0/16]}}"), "spec.ingress[0].from[0].ipBlock.except[1]", "Invalid value: \"192.168.0.0/16\": must be a strict subset of `cidr`"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}"), "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of `cidr`"),
        case(ingress_from("{ipBlock: {cidr: 10.1.0.0/16, except: [10.0.0.0/8]}}"), "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of `cidr`"),
        case(ingress_from("{ipBlock: {cidr: 10.0.0.0/8, except: [\"fd00::/64\"]}}"), "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of `cidr`"),
        case(ingress_from("{podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}"), "spec.ingress[0].from[1].ipBlock.except[0]", "must be a strict subset of `cidr`"),
        case(ingress_from("{namespaceSelector: {matchExpressions: [{key: ns, operator: Has}]}}"), "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator", "not a valid selector operator"),
        case(ingress_from("{podSelector: {matchLabels: {\"pod/\": a}}}"), "spec.ingress[0].from[0].podSelector.matchLabels[pod/]", "name part must be non-empty"),
        case(
            policy("{podSelector: {}, egress: [{to: [{namespaceSelector: {matchLabels: {ns: \"x y\"}}}]}]}"),
            "spec.egress[0].to[0].namespaceSelector.matchLabels[ns]",
            "a valid label",
        ),
        case(
            policy("{podSelector: {}, egress: [{to: [{podSelector: {}}]}, {to: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.1.0/25]}}]}]}"),
            "spec.egress[1].to[0].ipBlock.except[0]",
            "must be a strict subset",
        ),
        case(policy("{podSelector: {}, egress: [{to: [{}]}]}"), "spec.egress[0].to[0]", "must specify a peer"),
        case(ingress_ports("{port: 0}"), "spec.ingress[0].ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
        case(ingress_ports("{port: 70000}"), "spec.ingress[0].ports[0].port", "Invalid value: 70000"),
        case(ingress_ports("{protocol: ICMP, port: 80}"), "spec.ingress[0].ports[0].protocol", "Unsupported value: \"ICMP\""),
        case(ingress_ports("{port: 81, endPort: 80}"), "spec.ingress[0].ports[0].endPort", "Invalid value: 80: must be greater than or equal to `port`"),
        case(ingress_ports("{port: serve-80-tcp, endPort: 90}"), "spec.ingress[0].ports[0].endPort", "may not be specified when `port` is non-numeric"),
        case(ingress_ports("{endPort: 90}"), "spec.ingress[0].ports[0].endPort", "may not be specified when `port` is not specified"),
        case(ingress_ports("{port: 80}, {port: 80, endPort: 70000}"), "spec.ingress[0].ports[1].endPort", "Invalid value: 70000: must be between 1 and 65535"),
        case(ingress_ports("{port: Serve-80}"), "spec.ingress[0].ports[0].port", "must contain only alpha-numeric"),
        case(ingress_ports("{port: \"80\"}"), "spec.ingress[0].ports[0].port", "must contain at least one letter"),
        case(
            policy("{podSelector: {}, egress: [{ports: [{port: 53, protocol: UDP}, {port: dns--tcp}]}]}"),
            "spec.egress[0].ports[1].port",
            "consecutive hyphens",
        ),
        case(policy("{podSelector: {}, policyTypes: [ingress]}"), "spec.policyTypes[0]", "Unsupported value: \"ingress\": supported values: \"Egress\", \"Ingress\""),
        case(policy("{podSelector: {}, policyTypes: [Ingress, Sideways]}"), "spec.policyTypes[1]", "Unsupported value: \"Sideways\""),
        case(policy("{podSelector: {}, policyTypes: [Ingress, Egress, Ingress]}"), "spec.policyTypes", "may not specify more than two policyTypes"),
    ]
}

fn decode_one(yaml: &str) -> Object {
    let mut objects = match parse_manifests(yaml) {
        Ok(objects) => objects,
        Err(e) => panic!("does not decode: {e}\n{yaml}"),
    };
    assert_eq!(objects.len(), 1, "{yaml}");
    objects.remove(0)
}

fn check(object: &Object, case: &Case, stage: &str) {
    let errors = match validate(object) {
        Ok(()) => panic!(
            "{stage}: valid, expected an error at {}\n{}",
            case.path, case.yaml
        ),
        Err(errors) => errors,
    };
    let hit = errors
        .errors()
        .iter()
        .any(|e| e.path.starts_with(case.path) && e.message.contains(case.message));
    assert!(
        hit,
        "{stage}: expected {}: ...{}..., got {errors}\n{}",
        case.path, case.message, case.yaml
    );
    // The path is named exactly, except for the few cases that give only its start.
    if !case.path.ends_with('[') {
        assert!(
            errors.paths().contains(&case.path),
            "{stage}: no error at exactly {}: {errors}",
            case.path
        );
    }
}

#[test]
fn every_invalid_object_names_its_field() {
    let cases = cases();
    assert!(cases.len() >= 110, "only {} cases", cases.len());
    for case in &cases {
        let mut object = decode_one(&case.yaml);
        check(&object, case, "as written");
        apply_defaults(&mut object, &mut || "uid".to_owned());
        check(&object, case, "after defaults");
    }
}

#[test]
fn the_table_covers_every_kind() {
    let cases = cases();
    for kind in [
        "Namespace",
        "Pod",
        "Service",
        "EndpointSlice",
        "NetworkPolicy",
    ] {
        let n = cases
            .iter()
            .filter(|c| c.yaml.contains(&format!("kind: {kind}\n")))
            .count();
        assert!(n >= 5, "{kind}: {n} cases");
    }
}

#[test]
fn messages_read_like_kubectl() {
    let object = decode_one(&svc(
        "{ports: [{name: a, port: 80}, {name: b, port: 81, targetPort: 0x10000}]}",
    ));
    let errors = validate(&object).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "spec.ports[1].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"
    );
    let object = decode_one(&svc("{type: NodePort, ports: [{port: 0, nodePort: 1}]}"));
    assert_eq!(
        validate(&object).unwrap_err().to_string(),
        "[spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, \
         spec.ports[0].nodePort: Invalid value: 1: provided port is not in the valid range. The range of valid ports is 30000-32767]"
    );
}
