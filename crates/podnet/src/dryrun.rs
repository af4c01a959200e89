//! `podnet dry-run`: what an ADD with this config would do, as the `ip`, `sysctl` and `nft`
//! commands it stands for, plus the result it would print — computed by the real plugin code
//! over the recording effects. Nothing on the machine changes: the IPAM store is a fresh one in a
//! temporary directory (so the address shown is the subnet's first free one), no namespace is
//! entered, and nftables is not touched.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use podnet_cni::config::DEFAULT_NODE_FACTS;
use podnet_plugin::effects::RecordingEffects;

#[derive(clap::Args, Debug)]
pub struct DryRunArgs {
    /// The network config (one plugin entry of a conflist, as the plugin receives it on stdin).
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, default_value = "example")]
    pub container_id: String,
    #[arg(long, default_value = "/run/netns/example")]
    pub netns: String,
    #[arg(long, default_value = "eth0")]
    pub ifname: String,
}

/// Runs the dry run and prints the commands and the result.
pub fn run(args: &DryRunArgs) -> Result<()> {
    let raw =
        std::fs::read(&args.config).with_context(|| format!("read {}", args.config.display()))?;
    let mut conf: serde_json::Value =
        serde_json::from_slice(&raw).context("the config is not JSON")?;
    let scratch = std::env::temp_dir().join(format!("podnet-dry-run-{}", std::process::id()));
    // Never the real store: a scratch one, removed afterwards.
    if let Some(ipam) = conf.get_mut("ipam").and_then(|v| v.as_object_mut()) {
        ipam.insert("dataDir".into(), serde_json::json!(scratch.join("ipam")));
    }
    let facts_path = conf["ipam"]["nodeFacts"]
        .as_str()
        .unwrap_or(DEFAULT_NODE_FACTS)
        .to_string();
    let mut fx = RecordingEffects::default();
    fx.net.namespaces.insert(args.netns.clone());
    if let Ok(bytes) = std::fs::read(&facts_path) {
        fx.files.insert(PathBuf::from(&facts_path), bytes);
    }
    let env: HashMap<&str, String> = [
        ("CNI_COMMAND", "ADD".to_string()),
        ("CNI_CONTAINERID", args.container_id.clone()),
        ("CNI_NETNS", args.netns.clone()),
        ("CNI_IFNAME", args.ifname.clone()),
        ("CNI_PATH", "/opt/cni/bin".to_string()),
    ]
    .into();
    let out = podnet_plugin::run(
        |k| env.get(k).cloned(),
        conf.to_string().as_bytes(),
        &mut fx,
    );
    let _ = std::fs::remove_dir_all(&scratch);
    if out.exit_code != 0 {
        bail!("the plugin would fail: {}", out.stdout);
    }
    println!(
        "# dry run of CNI ADD (container {}, {} in {})",
        args.container_id, args.ifname, args.netns
    );
    println!(
        "# the address comes from an empty scratch store: the real one may hand out another\n"
    );
    for op in &fx.net.ops {
        println!("{op}");
    }
    for script in &fx.nft.scripts {
        println!("nft -f - <<'EOF'\n{}EOF", script);
    }
    println!("\n# result on stdout\n{}", out.stdout);
    Ok(())
}
