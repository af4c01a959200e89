//! STATUS (CNI 1.1): ready means the IPAM store takes a write, nftables answers, and the node's
//! subnet is known. Not ready is code 50 when only new pods are affected (store, subnet), and 51
//! when running pods are too (nftables unusable: their masquerade, hostPorts and anti-spoofing
//! cannot be maintained).

use podnet_cni::config::IpamConf;
use podnet_cni::{CniError, Command, ErrorCode, NetConf};
use podnet_ipam::Store;

use crate::add::load_facts;
use crate::effects::Effects;
use crate::error::PluginError;

/// Runs STATUS.
pub fn status(
    fx: &mut dyn Effects,
    cni_path: &[std::path::PathBuf],
    conf: &NetConf,
) -> Result<(), PluginError> {
    let not_ready = |what: String| PluginError::Cni(CniError::new(ErrorCode::NotAvailable, what));
    fx.nft().probe().map_err(|e| {
        let msg = format!("nftables is not usable: {e}");
        PluginError::Cni(CniError::new(ErrorCode::NotAvailableExisting, msg))
    })?;
    match &conf.ipam {
        IpamConf::BuiltIn { data_dir, .. } => {
            let mut store = Store::open(data_dir)
                .map_err(|e| not_ready(format!("IPAM store is not usable: {e}")))?;
            store
                .check_writable()
                .map_err(|e| not_ready(format!("IPAM store is not writable: {e}")))?;
            load_facts(fx, conf).map_err(|e| not_ready(e.to_string()))?;
            Ok(())
        }
        IpamConf::Delegated { plugin } => {
            if crate::delegate::find_plugin(plugin, cni_path).is_none() {
                return Err(not_ready(format!(
                    "ipam plugin {plugin:?} is not in CNI_PATH"
                )));
            }
            // Plugins older than 1.1 do not know STATUS; treat "not supported" as ready.
            match fx
                .delegate()
                .exec(plugin, Command::Status, cni_path, &conf.raw)
            {
                Err(PluginError::Cni(e))
                    if e.code == ErrorCode::IncompatibleVersion
                        || e.code == ErrorCode::InvalidEnv =>
                {
                    Ok(())
                }
                other => other.map(|_| ()),
            }
        }
    }
}
