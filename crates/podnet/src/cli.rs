//! The command line (clap). Each subcommand is a thin call into a module here or a `podnet-*`
//! crate (`podnet-lab`, `podnet-bench`, `podnet-kubectl`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podnet_kubectl::{Reported, Verb};

#[derive(Parser)]
#[command(
    name = "podnet",
    version,
    about = "Kubernetes-style container networking on the Linux kernel"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build one node with two pods in private namespaces, through the CNI plugin, and show they
    /// reach each other and the gateway; everything is removed afterwards.
    Demo {
        /// Keep the namespaces for inspection (remove later with `podnet demo --cleanup`).
        #[arg(long)]
        keep: bool,
        /// Only remove what an earlier `--keep` left.
        #[arg(long)]
        cleanup: bool,
    },
    /// Benchmark CNI ADD/DEL latency against the reference bridge + host-local plugins.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
    /// A multi-node cluster made of network namespaces on this machine.
    Lab(podnet_lab::LabArgs),
    /// The node agent: lease this node's pod subnet and connect it to the other nodes.
    Agent(crate::agent_cmd::AgentArgs),
    /// Show the ip/sysctl/nft commands a CNI ADD with this config would run; changes nothing.
    DryRun(crate::dryrun::DryRunArgs),
    /// Tiny server used inside pods: every port answers with its identity and the client's
    /// address (8080, TCP and UDP, without any port flag).
    Serve {
        /// A TCP and UDP port (answers HTTP GET, or any datagram, with the peer address).
        #[arg(long)]
        port: Option<u16>,
        /// A TCP port to answer on (repeatable).
        #[arg(long = "tcp", value_name = "PORT")]
        tcp: Vec<u16>,
        /// A UDP port to answer on (repeatable).
        #[arg(long = "udp", value_name = "PORT")]
        udp: Vec<u16>,
        /// Also echo bytes back on this port (for `podnet stream`).
        #[arg(long)]
        stream_port: Option<u16>,
        /// Who answers (`NS/NAME` of a lab pod), named in every answer.
        #[arg(long)]
        identity: Option<String>,
        /// Written once every port listens.
        #[arg(long)]
        ready_file: Option<std::path::PathBuf>,
    },
    /// Send one UDP datagram to `podnet serve` and print its answer.
    UdpProbe {
        #[arg(long)]
        to: std::net::SocketAddr,
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Keep one TCP connection busy against `podnet serve --stream-port`; fail if it breaks.
    Stream(crate::stream::StreamArgs),
    /// TCP request/response latency or connection rate against `podnet serve --stream-port`.
    Rr(podnet_bench::rr::RrArgs),
    /// Create or update objects from manifests in a datastore (`kubectl apply -f`).
    Apply {
        #[command(flatten)]
        args: podnet_kubectl::ApplyArgs,
        #[command(flatten)]
        store: podnet_kubectl::StoreArg,
    },
    /// Delete objects named by manifests or by `KIND NAME...` (`kubectl delete`).
    Delete {
        #[command(flatten)]
        args: podnet_kubectl::DeleteArgs,
        #[command(flatten)]
        store: podnet_kubectl::StoreArg,
    },
    /// Show objects as a table, JSON, YAML or names (`kubectl get`).
    Get {
        #[command(flatten)]
        args: podnet_kubectl::GetArgs,
        #[command(flatten)]
        store: podnet_kubectl::StoreArg,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// ADD and DEL latency: sequential and concurrent, podnet vs bridge+host-local.
    Cni(podnet_bench::cni::BenchArgs),
    /// TCP throughput of the host-gw, vxlan and udp backends vs the underlay, side by side.
    Backends(podnet_bench::backends::NetBenchArgs),
    /// The Service proxy against a kube-proxy-iptables-shaped ruleset: sync times and
    /// first-packet latency at 10 to 10,000 Services.
    Services(podnet_bench::services::ServicesBenchArgs),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands whose output is read by people and piped (`podnet lab status | head`): a closed
    // pipe ends them quietly, as it does `ip` and `nft`, instead of a panic in println!. Not the
    // agent or the plugin, which must never die of a reader going away.
    if matches!(
        cli.command,
        Cmd::Lab(_) | Cmd::DryRun(_) | Cmd::Bench { .. } | Cmd::Get { .. }
    ) {
        sigpipe::reset();
    }
    // Commands that build namespaces and processes: a signal stops them at their next step and
    // their failure path removes what they built (see `podnet_netns::interrupt`).
    let builds = match &cli.command {
        Cmd::Lab(lab) => lab.cmd.builds(),
        Cmd::Bench { .. } | Cmd::Demo { .. } => true,
        _ => false,
    };
    if builds {
        podnet_netns::interrupt::install();
    }
    let result = match cli.command {
        Cmd::Demo { keep, cleanup } => crate::demo::run(keep, cleanup),
        Cmd::Bench {
            what: BenchCmd::Cni(args),
        } => podnet_bench::cni::run(&args),
        Cmd::Bench {
            what: BenchCmd::Backends(args),
        } => podnet_bench::backends::run_bench(&args),
        Cmd::Bench {
            what: BenchCmd::Services(args),
        } => podnet_bench::services::run(&args),
        Cmd::Serve {
            port,
            tcp,
            udp,
            stream_port,
            identity,
            ready_file,
        } => crate::serve::run(&crate::serve::ServeConfig {
            stream: stream_port,
            identity,
            ready_file,
            ..crate::serve::ServeConfig::from_flags(port, &tcp, &udp)
        }),
        Cmd::Stream(args) => crate::stream::run(&args),
        Cmd::Rr(args) => podnet_bench::rr::run(&args),
        Cmd::UdpProbe { to, timeout_ms } => crate::serve::udp_probe(to, timeout_ms),
        Cmd::DryRun(args) => crate::dryrun::run(&args),
        Cmd::Agent(args) => crate::agent_cmd::main(&args),
        Cmd::Lab(args) => podnet_lab::main(&args),
        Cmd::Apply { args, store } => {
            podnet_kubectl::run(&Verb::Apply(args), &store.store).status()
        }
        Cmd::Delete { args, store } => {
            podnet_kubectl::run(&Verb::Delete(args), &store.store).status()
        }
        Cmd::Get { args, store } => podnet_kubectl::run(&Verb::Get(args), &store.store).status(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The verb printed its errors, as kubectl does.
        Err(e) if e.is::<Reported>() => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("podnet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
