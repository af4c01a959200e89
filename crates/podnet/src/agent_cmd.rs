//! `podnet agent`: the node agent process (see the `podnet-agent` crate). Parses flags, opens the
//! datastore, starts the kernel thread and runs until SIGTERM or SIGINT, which leave the
//! datapath untouched (a restart drops no connection).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use podnet_agent::backend::BackendKind;
use podnet_agent::kernel::{Kernel, KernelCtx};
use podnet_agent::run::{run, AgentConfig};
use podnet_kubectl::store_url::StoreUrl;
use podnet_model::lease::SubnetConfig;
use podnet_netlink::KernelNetOps;
use podnet_nft::NftCli;
use podnet_store::embedded::EmbeddedStore;
use podnet_store::etcd::EtcdStore;

#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// This node's name (unique in the cluster).
    #[arg(long)]
    pub node: String,
    /// Datastore: `embedded:/path/store.db` (one machine) or `etcd://HOST:PORT[,HOST:PORT]`.
    #[arg(long)]
    pub store: String,
    /// `vxlan`, `host-gw` or `udp`.
    #[arg(long, default_value = "vxlan")]
    pub backend: String,
    /// The underlay interface (its first IPv4 address is published unless --public-ip is set).
    #[arg(long, default_value = "eth0")]
    pub underlay_dev: String,
    #[arg(long)]
    pub public_ip: Option<Ipv4Addr>,
    #[arg(long, default_value = "10.244.0.0/16")]
    pub cluster_cidr: ipnet::Ipv4Net,
    #[arg(long, default_value_t = 24)]
    pub subnet_len: u8,
    /// Lease TTL in seconds (renewed every third of it).
    #[arg(long, default_value_t = 30)]
    pub lease_ttl: u64,
    /// The node facts file the CNI plugin reads.
    #[arg(long, default_value = podnet_cni::config::DEFAULT_NODE_FACTS)]
    pub facts: PathBuf,
    #[arg(long, default_value = "/var/lib/podnet/agent")]
    pub state_dir: PathBuf,
    #[arg(long, default_value = "podnet.1")]
    pub vxlan_dev: String,
    #[arg(long, default_value_t = 1)]
    pub vni: u32,
    #[arg(long, default_value_t = 8472)]
    pub vxlan_port: u16,
    /// UDP port of the udp backend.
    #[arg(long, default_value_t = podnet_udp::header::DEFAULT_PORT)]
    pub udp_port: u16,
    /// Kernel offloads in the udp backend (TUN super-packets, UDP GSO/GRO); `false` moves one
    /// packet per system call, like flannel's udp backend.
    #[arg(long, env = "PODNET_UDP_OFFLOAD", default_value_t = true, action = clap::ArgAction::Set)]
    pub udp_offload: bool,
    /// Attach the eBPF fast path to the underlay (and VXLAN) device, for nodes whose pods use the
    /// plugin's `"mode": "ebpf"`: packets to this node's pods skip its forwarding path.
    #[arg(long)]
    pub fast_path: bool,
    /// Full resync (drift repair) period in seconds.
    #[arg(long, default_value_t = 10)]
    pub resync: u64,
    /// Run the Service controllers: the endpoints controller (in the one agent elected through
    /// the datastore) and the Service proxy (the nftables table `ip podnet_proxy`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub services: bool,
}

fn config(a: &AgentArgs) -> Result<AgentConfig> {
    let backend = BackendKind::parse(&a.backend)
        .with_context(|| format!("--backend {:?}: use vxlan, host-gw or udp", a.backend))?;
    if a.subnet_len < a.cluster_cidr.prefix_len() || a.subnet_len > 30 {
        bail!(
            "--subnet-len {} does not fit in --cluster-cidr {}",
            a.subnet_len,
            a.cluster_cidr
        );
    }
    Ok(AgentConfig {
        node: a.node.clone(),
        backend,
        underlay_dev: a.underlay_dev.clone(),
        public_ip: a.public_ip,
        subnets: SubnetConfig {
            cluster: a.cluster_cidr,
            subnet_len: a.subnet_len,
        },
        lease_ttl: Duration::from_secs(a.lease_ttl.max(3)),
        facts_path: a.facts.clone(),
        state_dir: a.state_dir.clone(),
        vxlan_dev: a.vxlan_dev.clone(),
        vxlan_vni: a.vni,
        vxlan_port: a.vxlan_port,
        udp_port: a.udp_port,
        udp_offload: a.udp_offload,
        fast_path: a.fast_path,
        resync: Duration::from_secs(a.resync.max(1)),
        services: a.services,
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Runs the agent.
pub fn main(a: &AgentArgs) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let cfg = config(a)?;
    let url = StoreUrl::parse(&a.store)?;
    let kernel = Kernel::spawn(|| {
        Ok(KernelCtx {
            ops: Box::new(KernelNetOps::new()?),
            nft: Box::new(NftCli::default()),
            conntrack: Box::new(podnet_agent::conntrack::ConntrackCli::default()),
        })
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    rt.block_on(async move {
        match &url {
            StoreUrl::Embedded(path) => {
                let store = EmbeddedStore::open(path)?;
                run(cfg, store, kernel, shutdown_signal()).await?;
            }
            StoreUrl::Etcd(endpoints) => {
                let store = loop {
                    match EtcdStore::connect(endpoints).await {
                        Ok(s) => break s,
                        Err(e) => {
                            tracing::warn!("cannot reach etcd at {url}: {e}; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                };
                run(cfg, store, kernel, shutdown_signal()).await?;
            }
        }
        Ok(())
    })
}
