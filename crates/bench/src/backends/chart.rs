//! The `--svg` chart of `podnet bench backends`: throughput bars per path and stream count with
//! min–max whiskers, then RR latency and connection rate. Plain SVG, no dependency.

use std::fmt::Write as _;

use super::report::{PathResult, Report, Stat};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A chart a person can open: throughput bars per path and stream count (with min–max
/// whiskers), then RR latency and connection rate.
pub(super) fn svg(r: &Report) -> String {
    const LABEL: f64 = 250.0;
    const WIDTH: f64 = 980.0;
    const BAR: f64 = 14.0;
    let colors = ["#4878a8", "#e49444", "#6a9f58", "#967662"];
    let nstreams = r.paths.first().map_or(0, |p| p.throughput.len());
    let row_h = BAR * nstreams.max(1) as f64 + 10.0;
    let panel = |title: &str, y0: f64| {
        format!(
            "<text x=\"10\" y=\"{:.1}\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
            y0 - 8.0,
            esc(title)
        )
    };
    let mut body = String::new();
    let mut y = 60.0;
    // Panel 1: throughput.
    let max_gbps = r
        .paths
        .iter()
        .flat_map(|p| p.throughput.iter().map(|t| t.gbps.max))
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let scale = (WIDTH - LABEL - 130.0) / max_gbps;
    body.push_str(&panel(
        "TCP throughput, Gbit/s (median of the rounds; whiskers: min–max)",
        y,
    ));
    for p in &r.paths {
        let _ = writeln!(
            body,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            LABEL - 8.0,
            y + row_h / 2.0,
            esc(&p.path)
        );
        for (j, t) in p.throughput.iter().enumerate() {
            let by = y + j as f64 * BAR;
            let w = (t.gbps.median * scale).max(0.0);
            let _ = writeln!(
                body,
                "<rect x=\"{LABEL}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                BAR - 2.0,
                colors[j % colors.len()]
            );
            let (x0, x1, cy) = (
                LABEL + t.gbps.min * scale,
                LABEL + t.gbps.max * scale,
                by + (BAR - 2.0) / 2.0,
            );
            let _ = writeln!(
                body,
                "<line x1=\"{x0:.1}\" y1=\"{cy:.1}\" x2=\"{x1:.1}\" y2=\"{cy:.1}\" stroke=\"#222\"/>"
            );
            let _ = writeln!(
                body,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.2} ({} stream{})</text>",
                x1.max(LABEL + w) + 6.0,
                by + BAR - 4.0,
                t.gbps.median,
                t.streams,
                if t.streams == 1 { "" } else { "s" }
            );
        }
        y += row_h;
    }
    // Panels 2 and 3: latency and connection rate (if measured).
    type Pick = fn(&PathResult) -> Option<Stat>;
    let more: [(&str, Pick, &str); 2] = [
        (
            "Request/response latency, µs (64-byte exchange, median p50 of the rounds)",
            |p| p.rr_p50_us,
            "#8c6bb1",
        ),
        (
            "Connection rate, connections/s (connect, exchange, close)",
            |p| p.connections_per_s,
            "#c44e52",
        ),
    ];
    for (title, pick, color) in more {
        if r.paths.iter().all(|p| pick(p).is_none()) {
            continue;
        }
        y += 40.0;
        body.push_str(&panel(title, y));
        let max = r
            .paths
            .iter()
            .filter_map(|p| pick(p).map(|s| s.max))
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max);
        let scale = (WIDTH - LABEL - 80.0) / max;
        for p in &r.paths {
            let Some(s) = pick(p) else { continue };
            let w = (s.median * scale).max(0.0);
            let _ = writeln!(
                body,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>\n\
                 <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\n\
                 <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>\n\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.0}</text>",
                LABEL - 8.0,
                y + BAR - 3.0,
                esc(&p.path),
                BAR - 2.0,
                LABEL + s.min * scale,
                y + (BAR - 2.0) / 2.0,
                LABEL + s.max * scale,
                y + (BAR - 2.0) / 2.0,
                LABEL + (s.max * scale).max(w) + 6.0,
                y + BAR - 4.0,
                s.median
            );
            y += BAR + 4.0;
        }
    }
    let height = y + 30.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"13\">{}</text>\n{body}</svg>\n",
        esc(&r.command)
    )
}
