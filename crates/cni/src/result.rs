//! The ADD result: interfaces, IP configs, routes and DNS, rendered in the shape of the requested
//! version, and parsed back from `prevResult` (any supported version) for chaining and CHECK.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{CniError, ErrorCode};
use crate::version::CniVersion;

/// An interface the plugin created or knows about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// The netns path for container-side interfaces; absent for host-side ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// One address assigned to an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// `a.b.c.d/len` (or IPv6 from a delegated IPAM).
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Index into `interfaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

/// A route to install in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub dst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<String>,
}

/// A result, version-independent in memory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CniResult {
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub dns: Value,
}

impl CniResult {
    /// Parses a `prevResult` or an IPAM plugin's result; the 0.3/0.4 `version` field is ignored.
    pub fn from_value(v: &Value) -> Result<CniResult, CniError> {
        serde_json::from_value(v.clone())
            .map_err(|e| CniError::new(ErrorCode::Decode, format!("prevResult/IPAM result: {e}")))
    }

    /// Renders the result in the shape of `version`.
    pub fn to_value(&self, version: CniVersion) -> Value {
        let ips: Vec<Value> = self
            .ips
            .iter()
            .map(|ip| {
                let mut o = serde_json::to_value(ip).unwrap_or(Value::Null);
                if version.ip_has_version_field() {
                    let fam = if ip.address.contains(':') { "6" } else { "4" };
                    if let Some(map) = o.as_object_mut() {
                        map.insert("version".into(), json!(fam));
                    }
                }
                o
            })
            .collect();
        let mut out = json!({
            "cniVersion": version.as_str(),
            "interfaces": self.interfaces,
            "ips": ips,
            "routes": self.routes,
        });
        let dns = if self.dns.is_null() {
            json!({})
        } else {
            self.dns.clone()
        };
        if let Some(map) = out.as_object_mut() {
            map.insert("dns".into(), dns);
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![
                Interface {
                    name: "pn1234".into(),
                    mac: "aa:bb:cc:dd:ee:ff".into(),
                    sandbox: None,
                },
                Interface {
                    name: "eth0".into(),
                    mac: "0a:58:0a:f4:01:02".into(),
                    sandbox: Some("/run/netns/x".into()),
                },
            ],
            ips: vec![IpConfig {
                address: "10.244.1.2/24".into(),
                gateway: Some("10.244.1.1".into()),
                interface: Some(1),
            }],
            routes: vec![Route {
                dst: "0.0.0.0/0".into(),
                gw: Some("10.244.1.1".into()),
            }],
            dns: Value::Null,
        }
    }

    #[test]
    fn golden_1_0_0() {
        let v = sample().to_value(CniVersion::V1_0_0);
        assert_eq!(
            v.to_string(),
            r#"{"cniVersion":"1.0.0","dns":{},"interfaces":[{"mac":"aa:bb:cc:dd:ee:ff","name":"pn1234"},{"mac":"0a:58:0a:f4:01:02","name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.244.1.2/24","gateway":"10.244.1.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"10.244.1.1"}]}"#
        );
    }

    #[test]
    fn old_versions_carry_ip_version() {
        let v = sample().to_value(CniVersion::V0_3_1);
        assert_eq!(v["ips"][0]["version"], "4");
        assert!(sample().to_value(CniVersion::V1_1_0)["ips"][0]
            .get("version")
            .is_none());
    }

    #[test]
    fn round_trips_through_prev_result() {
        let s = sample();
        for v in [CniVersion::V0_3_0, CniVersion::V0_4_0, CniVersion::V1_1_0] {
            let back = CniResult::from_value(&s.to_value(v)).unwrap();
            assert_eq!(back.ips, s.ips);
            assert_eq!(back.interfaces, s.interfaces);
        }
    }
}
