//! `podnet get`'s tables, column for column as kubectl prints them (its printers in
//! `pkg/printers/internalversion`): the columns of each kind, how a cell is worded (`<none>`,
//! `80/TCP,443:30443/TCP`, `app=web,tier in (a,b)`), the AGE column as kubectl's
//! `HumanDuration`, and the alignment of Go's tabwriter as kubectl sets it up. Pure: the
//! current time is passed in.

use podnet_api::time::parse_rfc3339;
use podnet_model::{
    EndpointSlice, Kind, LabelSelector, Namespace, NetworkPolicy, Object, Operator, Pod, Service,
    ServiceType,
};

/// kubectl's tabwriter: minimum cell width (padding included) and padding between columns.
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;
/// How many ports or addresses an EndpointSlice row lists before `+ N more...`.
const LIST_MAX: usize = 3;
const NONE: &str = "<none>";

/// What the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    /// `-o wide`: the extra columns.
    pub wide: bool,
    /// `-A` on a namespaced kind: a NAMESPACE column first.
    pub namespace_column: bool,
}

/// The table of `objects` (all of `kind`), header included, as text ending in a newline.
pub fn render(kind: Kind, objects: &[Object], layout: Layout, now_secs: i64) -> String {
    let mut header: Vec<&str> = Vec::new();
    if layout.namespace_column {
        header.push("NAMESPACE");
    }
    header.extend(columns(kind, layout.wide));
    let rows: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            let mut row = Vec::new();
            if layout.namespace_column {
                row.push(o.namespace().unwrap_or_default().to_owned());
            }
            row.extend(cells(o, layout.wide, now_secs));
            row
        })
        .collect();
    align(&header, &rows)
}

/// The column names of a kind.
pub fn columns(kind: Kind, wide: bool) -> Vec<&'static str> {
    let (base, extra): (&[&str], &[&str]) = match kind {
        Kind::Namespace => (&["NAME", "STATUS", "AGE"], &[]),
        Kind::Pod => (
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            &["IP", "NODE"],
        ),
        Kind::Service => (
            &[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ],
            &["SELECTOR"],
        ),
        Kind::EndpointSlice => (&["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &[]),
        Kind::NetworkPolicy => (&["NAME", "POD-SELECTOR", "AGE"], &[]),
    };
    let mut out = base.to_vec();
    if wide {
        out.extend_from_slice(extra);
    }
    out
}

/// One object's cells (without the NAMESPACE column).
pub fn cells(object: &Object, wide: bool, now_secs: i64) -> Vec<String> {
    let age = age(object.meta().creation_timestamp.as_deref(), now_secs);
    let name = object.name().to_owned();
    let mut row = match object {
        Object::Namespace(ns) => vec![name, namespace_status(ns), age],
        Object::Pod(pod) => pod_cells(pod, name, age),
        Object::Service(svc) => service_cells(svc, name, age),
        Object::EndpointSlice(slice) => vec![
            name,
            slice
                .address_type
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            slice_ports(slice),
            slice_endpoints(slice),
            age,
        ],
        Object::NetworkPolicy(policy) => vec![name, policy_selector(policy), age],
    };
    if wide {
        match object {
            Object::Pod(pod) => {
                let ip = pod
                    .ips()
                    .first()
                    .map_or(NONE.to_owned(), |ip| ip.to_string());
                let node = pod.spec.node_name.clone().unwrap_or_else(|| NONE.into());
                row.extend([ip, node]);
            }
            Object::Service(svc) => row.push(labels_or_none(&svc.spec.selector)),
            _ => {}
        }
    }
    row
}

/// Aligns like kubectl's tabwriter: every column but the last padded to its widest cell plus
/// three spaces, and at least six wide.
pub fn align(header: &[&str], rows: &[Vec<String>]) -> String {
    let all: Vec<Vec<&str>> = std::iter::once(header.to_vec())
        .chain(rows.iter().map(|r| r.iter().map(String::as_str).collect()))
        .collect();
    let columns = all.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let widest = all
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0);
            (widest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut out = String::new();
    for row in &all {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The AGE column: kubectl's `HumanDuration` of now minus `creationTimestamp`.
pub fn age(created: Option<&str>, now_secs: i64) -> String {
    match created.and_then(parse_rfc3339) {
        Some(t) => human_duration(now_secs - t),
        None => "<unknown>".into(),
    }
}

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`, in seconds.
pub fn human_duration(secs: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;
    // Up to a second in the future is clock skew, "now".
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    let with = |major: i64, unit: &str, minor: i64, minor_unit: &str| {
        if minor == 0 {
            format!("{major}{unit}")
        } else {
            format!("{major}{unit}{minor}{minor_unit}")
        }
    };
    let (minutes, hours, days) = (secs / MINUTE, secs / HOUR, secs / DAY);
    if secs < 2 * MINUTE {
        format!("{secs}s")
    } else if minutes < 10 {
        with(minutes, "m", secs % MINUTE, "s")
    } else if minutes < 3 * 60 {
        format!("{minutes}m")
    } else if hours < 8 {
        with(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with(days, "d", hours % 24, "h")
    } else if secs < 2 * YEAR {
        format!("{days}d")
    } else if secs < 8 * YEAR {
        with(secs / YEAR, "y", days % 365, "d")
    } else {
        format!("{}y", secs / YEAR)
    }
}

fn namespace_status(ns: &Namespace) -> String {
    if ns.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    ns.status
        .as_ref()
        .and_then(|s| s.phase.as_ref())
        .map_or("Unknown".into(), ToString::to_string)
}

fn pod_cells(pod: &Pod, name: String, age: String) -> Vec<String> {
    let total = pod.spec.containers.len();
    let ready = if pod.is_ready() { total } else { 0 };
    let status = if pod.metadata.deletion_timestamp.is_some() {
        "Terminating".into()
    } else {
        pod.status
            .as_ref()
            .and_then(|s| s.phase.as_ref())
            .map_or("Unknown".into(), ToString::to_string)
    };
    vec![name, format!("{ready}/{total}"), status, "0".into(), age]
}

fn service_cells(svc: &Service, name: String, age: String) -> Vec<String> {
    let spec = &svc.spec;
    let cluster_ip = spec
        .cluster_ips
        .first()
        .or(spec.cluster_ip.as_ref())
        .filter(|ip| !ip.is_empty())
        .map_or(NONE.to_owned(), Clone::clone);
    let external = match spec.service_type() {
        ServiceType::ExternalName => spec.external_name.clone().unwrap_or_else(|| NONE.into()),
        ServiceType::LoadBalancer => "<pending>".into(),
        _ => NONE.into(),
    };
    let ports: Vec<String> = spec
        .ports
        .iter()
        .map(|p| {
            let protocol = p.protocol.as_ref().map_or("TCP", |p| p.as_str());
            match p.node_port.filter(|n| *n != 0) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", p.port),
                None => format!("{}/{protocol}", p.port),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        NONE.into()
    } else {
        ports.join(",")
    };
    vec![
        name,
        spec.service_type().to_string(),
        cluster_ip,
        external,
        ports,
        age,
    ]
}

fn slice_ports(slice: &EndpointSlice) -> String {
    let ports = slice.ports.iter().map(|p| match (p.port, &p.name) {
        (Some(port), _) => port.to_string(),
        (None, Some(name)) => name.clone(),
        (None, None) => "*".into(),
    });
    with_more(ports.collect())
}

fn slice_endpoints(slice: &EndpointSlice) -> String {
    let addresses = slice
        .endpoints
        .iter()
        .flat_map(|e| e.addresses.iter().cloned());
    with_more(addresses.collect())
}

/// kubectl's `listWithMoreString`: the first three, `+ N more...`, or `<unset>`.
fn with_more(items: Vec<String>) -> String {
    if items.is_empty() {
        return "<unset>".into();
    }
    let shown = items[..items.len().min(LIST_MAX)].join(",");
    if items.len() > LIST_MAX {
        format!("{shown} + {} more...", items.len() - LIST_MAX)
    } else {
        shown
    }
}

fn policy_selector(policy: &NetworkPolicy) -> String {
    format_selector(&policy.spec.pod_selector)
}

fn labels_or_none(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return NONE.into();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// `metav1.FormatLabelSelector`: requirements sorted by key, `k=v`, `k in (a,b)`,
/// `k notin (a,b)`, `k`, `!k`; `<none>` for the empty selector and `<error>` for a malformed one.
pub fn format_selector(selector: &LabelSelector) -> String {
    let mut parts: Vec<(String, String)> = selector
        .match_labels
        .iter()
        .map(|(k, v)| (k.clone(), format!("{k}={v}")))
        .collect();
    for r in &selector.match_expressions {
        let mut values = r.values.clone();
        values.sort();
        values.dedup();
        let text = match &r.operator {
            Operator::In => format!("{} in ({})", r.key, values.join(",")),
            Operator::NotIn => format!("{} notin ({})", r.key, values.join(",")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
            Operator::Other(_) => return "<error>".into(),
        };
        parts.push((r.key.clone(), text));
    }
    if parts.is_empty() {
        return NONE.into();
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let parts: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use podnet_model::parse_manifests;

    /// 2024-05-01T12:00:00Z
    const NOW: i64 = 1_714_564_800;

    fn objects(text: &str) -> Vec<Object> {
        parse_manifests(text).unwrap()
    }

    #[test]
    fn human_durations_as_kubectl() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (599, "9m59s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (731 * 86_400, "2y1d"),
            (8 * 365 * 86_400, "8y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
        assert_eq!(age(Some("2024-05-01T11:59:00Z"), NOW), "60s");
        assert_eq!(age(None, NOW), "<unknown>");
        assert_eq!(age(Some("yesterday"), NOW), "<unknown>");
    }

    #[test]
    fn alignment_is_kubectls_tabwriter() {
        let rows = vec![
            vec!["a".to_owned(), "Active".to_owned(), "5s".to_owned()],
            vec![
                "kube-public".to_owned(),
                "Active".to_owned(),
                "10d".to_owned(),
            ],
        ];
        assert_eq!(
            align(&["NAME", "STATUS", "AGE"], &rows),
            "NAME          STATUS   AGE\n\
             a             Active   5s\n\
             kube-public   Active   10d\n"
        );
        // Short columns still take MIN_WIDTH.
        assert_eq!(
            align(&["A", "B"], &[vec!["x".into(), "y".into()]]),
            "A     B\nx     y\n"
        );
    }

    #[test]
    fn namespaces_and_pods() {
        let ns = objects(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, creationTimestamp: '2024-05-01T11:00:00Z'}\nstatus: {phase: Active}\n",
        );
        assert_eq!(
            render(Kind::Namespace, &ns, Layout::default(), NOW),
            "NAME   STATUS   AGE\nx      Active   60m\n"
        );
        let pods = objects(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: x, creationTimestamp: '2024-05-01T11:59:30Z'}\n\
             spec: {nodeName: n1, containers: [{name: a}, {name: b}]}\n\
             status: {phase: Running, podIP: 10.244.1.5, conditions: [{type: Ready, status: 'True'}]}\n\
             ---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: y}\nspec: {containers: [{name: a}]}\nstatus: {phase: Pending}\n",
        );
        assert_eq!(
            render(Kind::Pod, &pods, Layout::default(), NOW),
            "NAME    READY   STATUS    RESTARTS   AGE\n\
             web-0   2/2     Running   0          30s\n\
             db      0/1     Pending   0          <unknown>\n"
        );
        let wide_all = Layout {
            wide: true,
            namespace_column: true,
        };
        assert_eq!(
            render(Kind::Pod, &pods, wide_all, NOW),
            "NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE         IP           NODE\n\
             x           web-0   2/2     Running   0          30s         10.244.1.5   n1\n\
             y           db      0/1     Pending   0          <unknown>   <none>       <none>\n"
        );
    }

    #[test]
    fn services() {
        let svcs = objects(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\n\
             spec: {clusterIP: 10.96.0.10, selector: {app: web, tier: fe}, ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}\n\
             ---\n\
             apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: x}\n\
             spec: {type: NodePort, ports: [{port: 443, nodePort: 30443}]}\n\
             ---\n\
             apiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: x}\n\
             spec: {type: ExternalName, externalName: example.com}\n",
        );
        assert_eq!(
            render(Kind::Service, &svcs, Layout { wide: true, namespace_column: false }, NOW),
            "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)         AGE         SELECTOR\n\
             web    ClusterIP      10.96.0.10   <none>        80/TCP,53/UDP   <unknown>   app=web,tier=fe\n\
             np     NodePort       <none>       <none>        443:30443/TCP   <unknown>   <none>\n\
             ext    ExternalName   <none>       example.com   <none>          <unknown>   <none>\n"
        );
    }

    #[test]
    fn endpoint_slices_and_policies() {
        let slices = objects(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-abc, namespace: x}\naddressType: IPv4\n\
             ports: [{name: http, port: 8080}, {name: named}]\n\
             endpoints: [{addresses: [10.244.1.5]}, {addresses: [10.244.2.5, 10.244.2.6]}, {addresses: [10.244.3.5]}]\n\
             ---\n\
             apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: empty, namespace: x}\naddressType: IPv4\n",
        );
        assert_eq!(
            render(Kind::EndpointSlice, &slices, Layout::default(), NOW),
            "NAME      ADDRESSTYPE   PORTS        ENDPOINTS                                      AGE\n\
             web-abc   IPv4          8080,named   10.244.1.5,10.244.2.5,10.244.2.6 + 1 more...   <unknown>\n\
             empty     IPv4          <unset>      <unset>                                        <unknown>\n"
        );
        let policies = objects(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all, namespace: x}\nspec: {podSelector: {}}\n\
             ---\n\
             apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: some, namespace: x}\n\
             spec: {podSelector: {matchLabels: {pod: a}, matchExpressions: [{key: tier, operator: In, values: [b, a]}, {key: gone, operator: DoesNotExist}, {key: app, operator: Exists}]}}\n",
        );
        assert_eq!(
            render(Kind::NetworkPolicy, &policies, Layout::default(), NOW),
            "NAME   POD-SELECTOR                    AGE\n\
             all    <none>                          <unknown>\n\
             some   app,!gone,pod=a,tier in (a,b)   <unknown>\n"
        );
    }
}
