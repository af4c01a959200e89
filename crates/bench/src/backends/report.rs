//! What `podnet bench backends` reports: medians with their ranges per path, the targets
//! (each path against its reference by median over median and by per-round ratio), and the
//! text table. Pure: no lab, no process.

use std::fmt::Write as _;

use serde::Serialize;

use super::{HAND_VXLAN_PATH, PODNET_VXLAN_PATH, UNDERLAY};

/// A median with its range.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct Stat {
    pub(super) median: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Stat {
    pub(super) fn of(mut v: Vec<f64>) -> Stat {
        v.retain(|x| x.is_finite());
        v.sort_by(|a, b| a.total_cmp(b));
        match (v.first(), v.last()) {
            (Some(min), Some(max)) => Stat {
                median: v[v.len() / 2],
                min: *min,
                max: *max,
            },
            _ => Stat {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Throughput {
    pub(super) streams: u32,
    pub(super) gbps: Stat,
    /// Median Gbit/s over the underlay's median.
    pub(super) vs_underlay: f64,
    /// Paired: this path's Gbit/s over the underlay's in the same round (the two measured
    /// minutes apart at most), median and range over the rounds — robust to the machine's load
    /// drifting during a run.
    pub(super) vs_underlay_paired: Option<Stat>,
    pub(super) cpu_s_per_gb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct PathResult {
    pub(super) path: String,
    pub(super) throughput: Vec<Throughput>,
    /// Median latency of one 64-byte exchange on an open connection, µs.
    pub(super) rr_p50_us: Option<Stat>,
    pub(super) rr_p99_us: Option<Stat>,
    /// Connections per second (connect, exchange, close).
    pub(super) connections_per_s: Option<Stat>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Report {
    pub(super) command: String,
    pub(super) paths: Vec<PathResult>,
    /// The targets of docs/benchmarks.md whose two paths were both measured with one stream.
    pub(super) targets: Vec<TargetResult>,
}

/// A path's single-stream throughput against a reference path, and the ratio it should reach.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TargetResult {
    pub(super) path: String,
    pub(super) reference: String,
    pub(super) at_least: f64,
    /// Median over median.
    pub(super) ratio: f64,
    /// Per-round ratios (the two measured in the same round): median and range.
    pub(super) paired: Stat,
    /// "yes" (both ratios reach it), "paired only", "medians only" or "no".
    pub(super) met: &'static str,
}

/// (path, reference, ratio to reach) with one stream — the targets of issue C / PERFORMANCE.md.
pub(super) const TARGETS: [(&str, &str, f64); 5] = [
    ("host-gw pod→pod", UNDERLAY, 0.95),
    ("host-gw pod→pod (routed veth)", UNDERLAY, 0.95),
    ("host-gw pod→pod (eBPF host routing)", UNDERLAY, 0.95),
    (PODNET_VXLAN_PATH, HAND_VXLAN_PATH, 0.98),
    ("udp pod→pod", "vxlan pod→pod", 0.80),
];

/// The targets whose paths are both in `names`, from single-stream throughput per round
/// (`gbps[path][round]`, paths in `names` order). Pure, for tests.
pub(super) fn targets(names: &[String], gbps: &[Vec<f64>]) -> Vec<TargetResult> {
    let find = |n: &str| names.iter().position(|x| x == n);
    TARGETS
        .iter()
        .filter_map(|&(path, reference, at_least)| {
            let (p, r) = (find(path)?, find(reference)?);
            let (a, b) = (&gbps[p], &gbps[r]);
            let ratio = Stat::of(a.clone()).median / Stat::of(b.clone()).median;
            let paired = Stat::of(a.iter().zip(b).map(|(x, y)| x / y).collect());
            let met = match (ratio >= at_least, paired.median >= at_least) {
                (true, true) => "yes",
                (false, true) => "paired only",
                (true, false) => "medians only",
                (false, false) => "no",
            };
            Some(TargetResult {
                path: path.into(),
                reference: reference.into(),
                at_least,
                ratio,
                paired,
                met,
            })
        })
        .collect()
}

pub(super) fn table(r: &Report) -> String {
    let mut out = format!("{}\n", r.command);
    let _ = writeln!(
        out,
        "{:<34} {:>7} {:>8} {:>15} {:>9} {:>17} {:>8} {:>9} {:>9} {:>9}",
        "path",
        "streams",
        "Gbit/s",
        "min-max",
        "vs under",
        "paired (min-max)",
        "CPU s/GB",
        "RR p50µs",
        "RR p99µs",
        "conn/s"
    );
    for p in &r.paths {
        for (i, t) in p.throughput.iter().enumerate() {
            let lat = |s: &Option<Stat>| match (i, s) {
                (0, Some(s)) => format!("{:.0}", s.median),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<34} {:>7} {:>8.2} {:>7.2}-{:<7.2} {:>9} {:>17} {:>8.2} {:>9} {:>9} {:>9}",
                if i == 0 { p.path.as_str() } else { "" },
                t.streams,
                t.gbps.median,
                t.gbps.min,
                t.gbps.max,
                if t.vs_underlay.is_finite() {
                    format!("{:.2}x", t.vs_underlay)
                } else {
                    "-".into()
                },
                match t.vs_underlay_paired {
                    Some(s) if s.median.is_finite() => {
                        format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)
                    }
                    _ => "-".into(),
                },
                t.cpu_s_per_gb,
                lat(&p.rr_p50_us),
                lat(&p.rr_p99_us),
                lat(&p.connections_per_s),
            );
        }
    }
    if !r.targets.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<62} {:>8} {:>13} {:>17}  met",
            "target (1 stream): path / reference", "at least", "median/median", "paired (min-max)"
        );
        for t in &r.targets {
            let _ = writeln!(
                out,
                "{:<62} {:>7.2}x {:>12.2}x {:>5.2}x ({:.2}-{:.2})  {}",
                format!("{} / {}", t.path, t.reference),
                t.at_least,
                t.ratio,
                t.paired.median,
                t.paired.min,
                t.paired.max,
                t.met
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_report_both_ratios_and_which_one_is_met() {
        let names: Vec<String> = [
            UNDERLAY,
            "host-gw pod→pod (eBPF host routing)",
            "udp pod→pod",
        ]
        .map(String::from)
        .to_vec();
        let gbps = vec![
            vec![10.0, 12.0, 8.0],
            vec![9.8, 11.0, 8.4],
            vec![5.0, 5.0, 5.0],
        ];
        let t = targets(&names, &gbps);
        // udp's reference (vxlan pod→pod) was not measured: no target for it.
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.reference, UNDERLAY);
        assert!((t.ratio - 9.8 / 10.0).abs() < 1e-9, "{t:?}");
        assert!((t.paired.median - 0.98).abs() < 1e-9, "{t:?}");
        assert!((t.paired.max - 1.05).abs() < 1e-9, "{t:?}");
        assert_eq!(t.met, "yes");
        // Paired ratios 0.90, 0.97, 1.05 reach 0.95; the medians (9.0 / 10.0) do not.
        let low = targets(
            &names,
            &[vec![10.0, 12.0, 8.0], vec![9.0, 11.6, 8.4], vec![]],
        );
        assert!((low[0].ratio - 0.9).abs() < 1e-9);
        assert_eq!(low[0].met, "paired only", "{:?}", low[0]);
        let none = targets(&names, &[vec![10.0; 3], vec![5.0; 3], vec![]]);
        assert_eq!(none[0].met, "no");
    }
}
