//! `podnet lab graph`: the lab's topology as an SVG drawing — the internet and the router on top,
//! one switch per L2 segment, the nodes (underlay address, leased subnet, bridge, VTEP) below
//! their switch, their pods below them, and the VXLAN tunnels between nodes as dashed lines.
//! Pure: state in, SVG text out.

use std::fmt::Write;

use super::spec::{segment_net, PodMode};
use super::state::LabState;

const NODE_W: i32 = 220;
const NODE_H: i32 = 78;
const GAP: i32 = 30;
const POD_W: i32 = 104;
const POD_H: i32 = 56;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rect(out: &mut String, x: i32, y: i32, w: i32, h: i32, fill: &str, lines: &[String]) {
    let _ = writeln!(
        out,
        r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="#333"/>"##
    );
    for (i, l) in lines.iter().enumerate() {
        let weight = if i == 0 { "bold" } else { "normal" };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-family="monospace" font-size="12" font-weight="{weight}" text-anchor="middle">{}</text>"#,
            x + w / 2,
            y + 18 + 15 * i as i32,
            esc(l)
        );
    }
}

fn line(out: &mut String, (x1, y1): (i32, i32), (x2, y2): (i32, i32), dashed: bool, color: &str) {
    let dash = if dashed {
        r#" stroke-dasharray="6,4""#
    } else {
        ""
    };
    let _ = writeln!(
        out,
        r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="2"{dash}/>"#
    );
}

/// Renders the lab as SVG.
pub fn render(st: &LabState) -> String {
    let n = st.nodes.len().max(1) as i32;
    let width = (n * (NODE_W + GAP) + GAP).max(700);
    let max_pods = st
        .nodes
        .iter()
        .map(|nd| st.pods.iter().filter(|p| p.node == nd.name).count())
        .max()
        .unwrap_or(0) as i32;
    let height = 420 + ((max_pods + 1) / 2) * (POD_H + 10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{GAP}" y="24" font-family="sans-serif" font-size="16" font-weight="bold">podnet lab {} — backend {} — namespaces {}*</text>"#,
        esc(&st.name),
        esc(&st.backend),
        esc(&st.prefix)
    );
    let (router_x, router_y) = (width / 2 - 90, 50);
    rect(
        &mut out,
        router_x + 200,
        router_y,
        180,
        44,
        "#f4e1c1",
        &["internet".into(), "198.19.255.2".into()],
    );
    line(
        &mut out,
        (router_x + 180, router_y + 22),
        (router_x + 200, router_y + 22),
        false,
        "#333",
    );
    rect(
        &mut out,
        router_x,
        router_y,
        180,
        44,
        "#f4e1c1",
        &["router".into(), "198.18.K.1 per segment".into()],
    );
    let segments = st.nodes.iter().map(|n| n.segment).max().unwrap_or(0) + 1;
    let seg_y = 140;
    let seg_w = (width - GAP * (segments as i32 + 1)) / segments as i32;
    for k in 0..segments {
        let x = GAP + k as i32 * (seg_w + GAP);
        line(
            &mut out,
            (router_x + 90, router_y + 44),
            (x + seg_w / 2, seg_y),
            false,
            "#333",
        );
        rect(
            &mut out,
            x,
            seg_y,
            seg_w,
            36,
            "#d9e8f5",
            &[format!("sw{k}: bridge br0 — L2 segment {}", segment_net(k))],
        );
    }
    let node_y = 230;
    let mut centers = Vec::new();
    for (i, nd) in st.nodes.iter().enumerate() {
        let x = GAP + i as i32 * (NODE_W + GAP);
        let seg_x = GAP + nd.segment as i32 * (seg_w + GAP) + seg_w / 2;
        line(
            &mut out,
            (seg_x, seg_y + 36),
            (x + NODE_W / 2, node_y),
            false,
            "#333",
        );
        let mut lines = vec![
            format!("node {}", nd.name),
            format!("eth0 {}", nd.ip.map(|i| i.to_string()).unwrap_or_default()),
            format!("pods {}", nd.subnet.clone().unwrap_or_default()),
        ];
        let pods_via = match st.pod_path.as_str() {
            "routed" => "routed veths",
            "ebpf" => "routed veths, eBPF",
            _ => "podnet0 bridge",
        };
        lines.push(if st.backend == "vxlan" {
            format!("{pods_via}, podnet.1 VTEP")
        } else {
            pods_via.into()
        });
        rect(&mut out, x, node_y, NODE_W, NODE_H, "#dff0d8", &lines);
        centers.push((x + NODE_W / 2, node_y + NODE_H));
        let pods: Vec<_> = st.pods.iter().filter(|p| p.node == nd.name).collect();
        for (j, p) in pods.iter().enumerate() {
            let px = x + (j as i32 % 2) * (POD_W + 14);
            let py = node_y + NODE_H + 30 + (j as i32 / 2) * (POD_H + 10);
            line(
                &mut out,
                (x + NODE_W / 2, node_y + NODE_H),
                (px + POD_W / 2, py),
                false,
                "#999",
            );
            let addr = match (&p.mode, p.ip) {
                (PodMode::None, _) => "lo only".to_string(),
                (_, Some(ip)) => ip.to_string(),
                _ => String::new(),
            };
            rect(
                &mut out,
                px,
                py,
                POD_W,
                POD_H,
                "#fcf8e3",
                &[p.key(), p.mode.to_string(), addr],
            );
        }
    }
    if st.backend == "vxlan" {
        for i in 1..centers.len() {
            let (a, b) = (centers[i - 1], centers[i]);
            let y = node_y - 12;
            line(&mut out, (a.0, y), (b.0, y), true, "#c0392b");
        }
        let _ = writeln!(
            out,
            r##"<text x="{GAP}" y="{}" font-family="sans-serif" font-size="12" fill="#c0392b">dashed: VXLAN tunnels (VNI 1, UDP 8472) between the nodes' VTEPs</text>"##,
            height - 12
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::state::{NodeState, PodState};

    #[test]
    fn draws_nodes_pods_and_tunnels() {
        let st = LabState {
            name: "default".into(),
            prefix: "pnlab-default-".into(),
            backend: "vxlan".into(),
            nodes: vec![
                NodeState {
                    name: "n1".into(),
                    netns: "x".into(),
                    segment: 0,
                    ip: Some("198.18.0.11".parse().unwrap()),
                    subnet: Some("10.244.0.0/24".into()),
                },
                NodeState {
                    name: "n2".into(),
                    netns: "y".into(),
                    segment: 1,
                    ip: Some("198.18.2.12".parse().unwrap()),
                    subnet: Some("10.244.1.0/24".into()),
                },
            ],
            pods: vec![PodState {
                namespace: "x".into(),
                name: "a<b".into(),
                node: "n1".into(),
                mode: PodMode::Bridge,
                netns: "z".into(),
                ip: Some("10.244.0.2".parse().unwrap()),
                port: 8080,
                ..PodState::default()
            }],
            ..Default::default()
        };
        let svg = render(&st);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        for want in [
            "node n1",
            "eth0 198.18.2.12",
            "pods 10.244.1.0/24",
            "sw1: bridge br0",
            "x/a&lt;b",
            ">bridge<",
            "stroke-dasharray",
            "VXLAN tunnels",
        ] {
            assert!(svg.contains(want), "missing {want}");
        }
    }
}
