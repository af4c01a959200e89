//! `podnet bench cni`: CNI ADD and DEL latency of podnet against the reference `bridge` +
//! `host-local` plugins, side by side in one run (alternating which goes first each round),
//! sequentially over N pods and with C concurrent invocations.
//!
//! The benchmark creates its own namespaces (`pnbench<pid>-*`), moves itself into the node
//! namespace so both plugins are spawned the same way a runtime spawns them, and removes
//! everything at the end, also on failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use podnet_netns::{enter, CniCall, NetnsGuard};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Pods per sequential pass.
    #[arg(long, default_value_t = 200)]
    pub pods: usize,
    /// Concurrent invocations per concurrent pass.
    #[arg(long, default_value_t = 100)]
    pub concurrent: usize,
    /// Rounds (each runs both plugins, alternating order).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Directory of the reference plugins.
    #[arg(long, default_value = "/usr/lib/cni")]
    pub reference_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Plugin {
    Podnet,
    Reference,
}

#[derive(Debug, Default, Clone, Serialize)]
struct Samples {
    seq_add: Vec<f64>,
    seq_del: Vec<f64>,
    conc_add: Vec<f64>,
    conc_del: Vec<f64>,
    conc_add_wall: Vec<f64>,
    /// Per round: median sequential ADD.
    round_add_median: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    command: String,
    pods: usize,
    concurrent: usize,
    rounds: usize,
    podnet: Summary,
    reference: Summary,
    /// Per round, reference median ADD / podnet median ADD.
    add_speedup_per_round: Vec<f64>,
    add_speedup_median: f64,
}

#[derive(Debug, Serialize)]
struct Summary {
    seq_add_p50_ms: f64,
    seq_add_p99_ms: f64,
    seq_del_p50_ms: f64,
    seq_del_p99_ms: f64,
    conc_add_p50_ms: f64,
    conc_add_p99_ms: f64,
    conc_del_p50_ms: f64,
    conc_del_p99_ms: f64,
    conc_add_wall_median_ms: f64,
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let idx = ((p / 100.0) * (s.len() - 1) as f64).round() as usize;
    s[idx.min(s.len() - 1)]
}

fn summary(s: &Samples) -> Summary {
    Summary {
        seq_add_p50_ms: pct(&s.seq_add, 50.0),
        seq_add_p99_ms: pct(&s.seq_add, 99.0),
        seq_del_p50_ms: pct(&s.seq_del, 50.0),
        seq_del_p99_ms: pct(&s.seq_del, 99.0),
        conc_add_p50_ms: pct(&s.conc_add, 50.0),
        conc_add_p99_ms: pct(&s.conc_add, 99.0),
        conc_del_p50_ms: pct(&s.conc_del, 50.0),
        conc_del_p99_ms: pct(&s.conc_del, 99.0),
        conc_add_wall_median_ms: pct(&s.conc_add_wall, 50.0),
    }
}

struct Setup {
    podnet: PathBuf,
    podnet_conf: String,
    reference_conf: String,
    cni_path: String,
    pods: Vec<String>,
}

impl Setup {
    fn call(&self, plugin: Plugin, cmd: &str, i: usize) -> CniCall {
        let (bin, path) = match plugin {
            Plugin::Podnet => (self.podnet.clone(), self.cni_path.clone()),
            Plugin::Reference => (
                PathBuf::from(self.cni_path.split(':').nth(1).unwrap_or("/usr/lib/cni"))
                    .join("bridge"),
                self.cni_path.clone(),
            ),
        };
        CniCall {
            plugin: bin,
            command: cmd.into(),
            container_id: format!("bench-{i}"),
            netns: self.pods[i].clone(),
            ifname: "eth0".into(),
            cni_path: path,
            node: None,
            extra_env: vec![],
        }
    }

    fn conf(&self, plugin: Plugin) -> &str {
        match plugin {
            Plugin::Podnet => &self.podnet_conf,
            Plugin::Reference => &self.reference_conf,
        }
    }

    /// One timed invocation, in milliseconds.
    fn timed(&self, plugin: Plugin, cmd: &str, i: usize) -> Result<f64> {
        podnet_netns::interrupt::check()?;
        let call = self.call(plugin, cmd, i);
        let t = Instant::now();
        let out = call.exec(self.conf(plugin).as_bytes())?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            bail!(
                "{plugin:?} {cmd} pod {i} failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(ms)
    }

    fn concurrent(&self, plugin: Plugin, cmd: &str, n: usize) -> Result<(Vec<f64>, f64)> {
        let t = Instant::now();
        let results: Vec<Result<f64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|i| s.spawn(move || self.timed(plugin, cmd, i)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("worker panicked")))
                })
                .collect()
        });
        let wall = t.elapsed().as_secs_f64() * 1e3;
        Ok((results.into_iter().collect::<Result<Vec<_>>>()?, wall))
    }
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> Result<()> {
    let podnet = std::env::current_exe().context("find the podnet binary")?;
    if !args.reference_dir.join("bridge").is_file() {
        bail!(
            "reference plugins not found in {} (install containernetworking-plugins)",
            args.reference_dir.display()
        );
    }
    let tag = format!("pnbench{}", std::process::id());
    let state = tempdir(&tag)?;
    let node = NetnsGuard::new(&format!("{tag}-node"))?;
    let n = args.pods.max(args.concurrent);
    eprintln!("bench: creating {n} pod namespaces ...");
    let mut guards = Vec::with_capacity(n);
    for i in 0..n {
        guards.push(NetnsGuard::new(&format!("{tag}-p{i}"))?);
    }
    enter(&node.path())?;
    let setup = Setup {
        podnet: podnet.clone(),
        podnet_conf: serde_json::json!({
            "cniVersion": "1.0.0", "name": "podnet", "type": "podnet", "bridge": "podnet0", "ipMasq": true,
            "clusterCIDR": "10.244.0.0/16",
            "ipam": {"subnet": "10.244.0.0/22", "dataDir": state.join("podnet-ipam")}
        })
        .to_string(),
        reference_conf: serde_json::json!({
            "cniVersion": "1.0.0", "name": "ref", "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
            "ipam": {"type": "host-local", "subnet": "10.245.0.0/22", "dataDir": state.join("host-local")}
        })
        .to_string(),
        cni_path: format!("{}:{}", podnet.parent().map(Path::display).map(|d| d.to_string()).unwrap_or_default(), args.reference_dir.display()),
        pods: guards.iter().map(|g| g.path().display().to_string()).collect(),
    };
    let result = measure(&setup, args);
    let _ = std::fs::remove_dir_all(&state);
    drop(guards);
    drop(node);
    let (p, r) = result?;
    report(args, &p, &r)
}

fn tempdir(tag: &str) -> Result<PathBuf> {
    let d = std::env::temp_dir().join(tag);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).with_context(|| format!("create {}", d.display()))?;
    Ok(d)
}

fn measure(setup: &Setup, args: &BenchArgs) -> Result<(Samples, Samples)> {
    let mut podnet = Samples::default();
    let mut reference = Samples::default();
    // Warm-up: the first ADD creates the bridge and the static rules; not measured.
    for plugin in [Plugin::Podnet, Plugin::Reference] {
        setup.timed(plugin, "ADD", 0)?;
        setup.timed(plugin, "DEL", 0)?;
    }
    for round in 0..args.rounds {
        let order = if round % 2 == 0 {
            [Plugin::Podnet, Plugin::Reference]
        } else {
            [Plugin::Reference, Plugin::Podnet]
        };
        for plugin in order {
            let s = match plugin {
                Plugin::Podnet => &mut podnet,
                Plugin::Reference => &mut reference,
            };
            let mut adds = Vec::with_capacity(args.pods);
            for i in 0..args.pods {
                adds.push(setup.timed(plugin, "ADD", i)?);
            }
            s.round_add_median.push(pct(&adds, 50.0));
            s.seq_add.extend(adds);
            for i in 0..args.pods {
                s.seq_del.push(setup.timed(plugin, "DEL", i)?);
            }
            let (lat, wall) = setup.concurrent(plugin, "ADD", args.concurrent)?;
            s.conc_add.extend(lat);
            s.conc_add_wall.push(wall);
            let (lat, _) = setup.concurrent(plugin, "DEL", args.concurrent)?;
            s.conc_del.extend(lat);
            eprintln!(
                "bench: round {} {plugin:?}: median ADD {:.2} ms, {} concurrent ADDs in {wall:.0} ms",
                round + 1,
                s.round_add_median.last().copied().unwrap_or(f64::NAN),
                args.concurrent
            );
        }
    }
    std::thread::sleep(Duration::from_millis(10));
    Ok((podnet, reference))
}

fn report(args: &BenchArgs, p: &Samples, r: &Samples) -> Result<()> {
    let ratios: Vec<f64> = p
        .round_add_median
        .iter()
        .zip(&r.round_add_median)
        .map(|(a, b)| b / a)
        .collect();
    let rep = Report {
        command: format!(
            "podnet bench cni --pods {} --concurrent {} --rounds {}",
            args.pods, args.concurrent, args.rounds
        ),
        pods: args.pods,
        concurrent: args.concurrent,
        rounds: args.rounds,
        podnet: summary(p),
        reference: summary(r),
        add_speedup_median: pct(&ratios, 50.0),
        add_speedup_per_round: ratios.clone(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    let (a, b) = (&rep.podnet, &rep.reference);
    println!("{}", rep.command);
    println!(
        "{:<34} {:>12} {:>16}",
        "latency (ms)", "podnet", "bridge+host-local"
    );
    let rows = [
        ("sequential ADD p50", a.seq_add_p50_ms, b.seq_add_p50_ms),
        ("sequential ADD p99", a.seq_add_p99_ms, b.seq_add_p99_ms),
        ("sequential DEL p50", a.seq_del_p50_ms, b.seq_del_p50_ms),
        ("sequential DEL p99", a.seq_del_p99_ms, b.seq_del_p99_ms),
        ("concurrent ADD p50", a.conc_add_p50_ms, b.conc_add_p50_ms),
        ("concurrent ADD p99", a.conc_add_p99_ms, b.conc_add_p99_ms),
        ("concurrent DEL p50", a.conc_del_p50_ms, b.conc_del_p50_ms),
        ("concurrent DEL p99", a.conc_del_p99_ms, b.conc_del_p99_ms),
        (
            "concurrent ADD wall (median)",
            a.conc_add_wall_median_ms,
            b.conc_add_wall_median_ms,
        ),
    ];
    for (name, x, y) in rows {
        println!("{name:<34} {x:>12.2} {y:>16.2}");
    }
    let min = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "ADD median speed-up (reference / podnet), median of {} rounds: {:.2}x (min {min:.2}x, max {max:.2}x)",
        ratios.len(),
        rep.add_speedup_median
    );
    Ok(())
}
