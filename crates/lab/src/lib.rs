//! `podnet lab`: a Kubernetes-style cluster made of network namespaces on one machine, with the
//! real agent on every node and pods wired by the real CNI plugin. See docs/lab.md.
//!
//! The lab runs the `podnet` binary for every process it starts (agents, `podnet serve`, the
//! CNI plugin, `podnet udp-probe`): it takes this process's own executable
//! (`std::env::current_exe`), so it is meant to be driven from `podnet lab` (and
//! `podnet bench backends`), not from another program. Application layer: errors are
//! `anyhow`, as the CLI prints them.

pub mod admission;
pub mod check;
pub mod down;
pub mod graph;
pub mod kubelet;
pub mod objects;
pub mod procs;
pub mod spec;
pub mod state;
pub mod up;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use podnet_kubectl::Verb;

use state::LabState;

#[derive(Args, Debug)]
pub struct LabArgs {
    #[command(subcommand)]
    pub cmd: LabCmd,
}

#[derive(Subcommand, Debug)]
pub enum LabCmd {
    /// Build a lab (default: 3 nodes on one segment, vxlan, 2 pods per node).
    Up(UpArgs),
    /// Remove a lab: its processes (by PID) and every namespace with its prefix.
    Down(NameArg),
    /// Nodes, leases and pods.
    Status(NameArg),
    /// The all-pairs connectivity matrix; non-zero exit on any failure.
    Check {
        #[command(flatten)]
        name: NameArg,
        #[arg(long)]
        json: bool,
    },
    /// Draw the lab's topology as SVG (nodes, segments, bridges, pods, tunnels).
    Graph {
        #[command(flatten)]
        name: NameArg,
        /// Where to write the SVG.
        #[arg(long, short, default_value = "lab.svg")]
        output: std::path::PathBuf,
    },
    /// Restart a node's agent (SIGTERM or SIGKILL, then the same command): the datapath stays.
    RestartAgent {
        #[command(flatten)]
        name: NameArg,
        node: String,
        /// Stop it with SIGKILL instead of SIGTERM.
        #[arg(long)]
        kill: bool,
    },
    /// Stop or start the lab's etcd (labs with `store: etcd`).
    Store {
        #[command(flatten)]
        name: NameArg,
        /// `stop` or `start`.
        action: String,
    },
    /// Run a command inside a pod's (or node's) namespace: `podnet lab exec NS/POD -- CMD...`
    /// (a bare `POD` is in `default`).
    Exec {
        #[command(flatten)]
        name: NameArg,
        /// `NS/POD`, `POD` (namespace `default`) or a node's name.
        target: String,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
    /// `podnet apply` on the lab's datastore (`kubectl apply -f`); the lab's kubelet makes
    /// the applied Pods.
    Apply {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        args: podnet_kubectl::ApplyArgs,
    },
    /// `podnet delete` on the lab's datastore (`kubectl delete`); the lab's kubelet removes
    /// the deleted Pods (CNI DEL, server stopped, namespace deleted).
    Delete {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        args: podnet_kubectl::DeleteArgs,
    },
    /// `podnet get` on the lab's datastore (`kubectl get`).
    Get {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        args: podnet_kubectl::GetArgs,
    },
}

impl LabCmd {
    /// Whether the command builds namespaces and processes, which a signal must stop at a
    /// step boundary (see `podnet_netns::interrupt`); the object verbs only talk to the datastore.
    pub fn builds(&self) -> bool {
        !matches!(
            self,
            LabCmd::Apply { .. } | LabCmd::Delete { .. } | LabCmd::Get { .. }
        )
    }
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// The lab's name (several labs can coexist).
    #[arg(long, default_value = "default")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    /// A YAML lab spec (see examples/); without one, the flags below describe the lab.
    pub spec: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub name: NameArg,
    /// `vxlan`, `host-gw` or `udp`.
    #[arg(long, default_value = "vxlan")]
    pub backend: String,
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// L2 segments the nodes are spread over (joined by a router).
    #[arg(long, default_value_t = 1)]
    pub segments: usize,
    #[arg(long, default_value_t = 2)]
    pub pods_per_node: usize,
    /// `embedded` (no server) or `etcd` (a real etcd in a control-plane namespace).
    #[arg(long, default_value = "embedded")]
    pub store: String,
    /// How pods meet their node: `bridge` (a node bridge, flannel's design), `routed` (a /32
    /// route per pod, no bridge: Calico's design) or `ebpf` (routed, plus eBPF host routing:
    /// tc programs forward pod-to-pod packets past the node's forwarding path, Cilium's design).
    #[arg(long, default_value = "bridge")]
    pub pod_path: String,
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 16
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!("lab name {name:?}: use 1-16 of a-z, 0-9, '-'");
    }
    Ok(())
}

/// Runs a lab subcommand.
pub fn main(a: &LabArgs) -> Result<()> {
    match &a.cmd {
        LabCmd::Up(u) => {
            let spec = match &u.spec {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("read {}", path.display()))?;
                    spec::parse_yaml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                        .resolve(path)
                }
                None => spec::Flags {
                    name: &u.name.name,
                    backend: &u.backend,
                    store: &u.store,
                    pod_path: &u.pod_path,
                    nodes: u.nodes,
                    segments: u.segments,
                    pods_per_node: u.pods_per_node,
                }
                .spec()
                .map_err(anyhow::Error::msg)?,
            };
            match up::up(&spec, &spec.store) {
                Ok(st) => {
                    print_status(&st);
                    println!(
                        "\nnext: podnet lab check --name {0}   |   podnet lab down --name {0}",
                        st.name
                    );
                    Ok(())
                }
                Err(e) => {
                    let _ = down::down(&spec.name);
                    Err(e.context("lab up failed; everything it created was removed"))
                }
            }
        }
        LabCmd::Down(n) => {
            check_name(&n.name)?;
            let removed = down::down(&n.name)?;
            println!("lab {:?} removed ({removed} namespaces)", n.name);
            Ok(())
        }
        LabCmd::Status(n) => {
            print_status(&LabState::load(&n.name)?);
            Ok(())
        }
        LabCmd::Check { name, json } => {
            let st = LabState::load(&name.name)?;
            if check::run_check(&st, *json)? {
                Ok(())
            } else {
                bail!("connectivity check failed")
            }
        }
        LabCmd::Graph { name, output } => {
            let st = LabState::load(&name.name)?;
            std::fs::write(output, graph::render(&st))
                .with_context(|| format!("write {}", output.display()))?;
            println!("wrote {} (open it in a browser)", output.display());
            Ok(())
        }
        LabCmd::RestartAgent { name, node, kill } => {
            let mut st = LabState::load(&name.name)?;
            let sig = if *kill {
                nix::sys::signal::Signal::SIGKILL
            } else {
                nix::sys::signal::Signal::SIGTERM
            };
            let pid = procs::restart(&mut st, &format!("agent {node}"), sig)?;
            println!("agent {node} restarted ({sig}), pid {pid}");
            Ok(())
        }
        LabCmd::Store { name, action } => {
            let mut st = LabState::load(&name.name)?;
            match action.as_str() {
                "stop" => procs::set_running(&mut st, "etcd", false)?,
                "start" => procs::set_running(&mut st, "etcd", true)?,
                other => bail!("lab store {other:?}: use stop or start"),
            }
            println!("etcd {action}ed");
            Ok(())
        }
        LabCmd::Exec { name, target, argv } => {
            let st = LabState::load(&name.name)?;
            let ns = st
                .node(target)
                .map(|n| n.netns.clone())
                .or_else(|| st.pod(target).map(|p| p.netns.clone()))
                .with_context(|| format!("no pod or node {target:?} in lab {:?}", name.name))?;
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let status = podnet_netns::command(&ns, &argv)
                .status()
                .context("run the command")?;
            std::process::exit(status.code().unwrap_or(1));
        }
        LabCmd::Apply { name, args } => {
            objects::run(&name.name, &Verb::Apply(args.clone()))?.status()
        }
        LabCmd::Delete { name, args } => {
            objects::run(&name.name, &Verb::Delete(args.clone()))?.status()
        }
        LabCmd::Get { name, args } => objects::run(&name.name, &Verb::Get(args.clone()))?.status(),
    }
}

fn print_status(st: &LabState) {
    println!(
        "lab {} (backend {}, {} pods, namespaces {}*)",
        st.name,
        st.backend,
        match st.pod_path.as_str() {
            "routed" => "routed",
            "ebpf" => "routed + eBPF",
            _ => "bridged",
        },
        st.prefix
    );
    println!(
        "{:<8} {:<16} {:<16} agent status",
        "node", "underlay", "pod subnet"
    );
    for n in &st.nodes {
        let status = std::fs::read_to_string(
            LabState::dir(&st.name)
                .join(&n.name)
                .join("agent/status.json"),
        )
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
        let summary = match status {
            Some(v) => {
                let unreachable: Vec<String> = v["unreachable"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.as_str().map(String::from))
                    .collect();
                let mut s = format!("{} peers", v["peers"]);
                if !unreachable.is_empty() {
                    s.push_str(&format!(
                        ", UNREACHABLE by host-gw: {}",
                        unreachable.join(", ")
                    ));
                }
                s
            }
            None => "no status yet".into(),
        };
        let ip = n.ip.map(|i| i.to_string()).unwrap_or_default();
        println!(
            "{:<8} {:<16} {:<16} {}",
            n.name,
            ip,
            n.subnet.clone().unwrap_or_default(),
            summary
        );
    }
    let w = st
        .pods
        .iter()
        .map(|p| p.key().len())
        .max()
        .unwrap_or(0)
        .max("namespace/pod".len());
    let mw = st
        .pods
        .iter()
        .map(|p| p.mode.to_string().len())
        .max()
        .unwrap_or(0)
        .max(10);
    println!(
        "{:<w$} {:<8} {:<mw$} address",
        "namespace/pod", "node", "mode"
    );
    for p in &st.pods {
        let ip =
            p.ip.map(|i| format!("{i}:{}", p.port))
                .unwrap_or_else(|| "-".into());
        println!(
            "{:<w$} {:<8} {:<mw$} {}",
            p.key(),
            p.node,
            p.mode.to_string(),
            ip
        );
    }
}
