//! CNI spec versions: which ones podnet speaks and how they differ on the wire.
//!
//! Results are rendered in the shape of the version the configuration asked for; versions before
//! 0.3.0 (the old single-IP result) are refused with code 1.

use crate::error::{CniError, ErrorCode};

/// Versions podnet accepts and answers in, oldest first.
pub const SUPPORTED: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// A supported CNI version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CniVersion {
    V0_3_0,
    V0_3_1,
    V0_4_0,
    V1_0_0,
    V1_1_0,
}

impl CniVersion {
    pub const LATEST: CniVersion = CniVersion::V1_1_0;

    /// Parses a version string; unknown or pre-0.3.0 versions are code 1.
    pub fn parse(s: &str) -> Result<Self, CniError> {
        Ok(match s {
            "0.3.0" => CniVersion::V0_3_0,
            "0.3.1" => CniVersion::V0_3_1,
            "0.4.0" => CniVersion::V0_4_0,
            "1.0.0" => CniVersion::V1_0_0,
            "1.1.0" => CniVersion::V1_1_0,
            other => {
                return Err(CniError::new(
                    ErrorCode::IncompatibleVersion,
                    format!(
                        "cniVersion {other:?} is not supported; supported: {}",
                        SUPPORTED.join(", ")
                    ),
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CniVersion::V0_3_0 => "0.3.0",
            CniVersion::V0_3_1 => "0.3.1",
            CniVersion::V0_4_0 => "0.4.0",
            CniVersion::V1_0_0 => "1.0.0",
            CniVersion::V1_1_0 => "1.1.0",
        }
    }

    /// Before 1.0.0 every IP config carried `"version": "4"|"6"`.
    pub fn ip_has_version_field(self) -> bool {
        self < CniVersion::V1_0_0
    }

    /// CHECK exists from 0.4.0 on.
    pub fn supports_check(self) -> bool {
        self >= CniVersion::V0_4_0
    }

    /// STATUS and GC exist from 1.1.0 on.
    pub fn supports_status_gc(self) -> bool {
        self >= CniVersion::V1_1_0
    }
}

/// The VERSION answer.
pub fn version_result(requested: &str) -> String {
    serde_json::json!({ "cniVersion": requested, "supportedVersions": SUPPORTED }).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_supported() {
        for v in SUPPORTED {
            assert_eq!(CniVersion::parse(v).map(|v| v.as_str()), Ok(*v));
        }
    }

    #[test]
    fn old_and_unknown_versions_are_code_1() {
        for v in ["0.1.0", "0.2.0", "2.0.0", "", "1.1"] {
            let e = CniVersion::parse(v).unwrap_err();
            assert_eq!(e.code, ErrorCode::IncompatibleVersion, "{v}");
        }
    }
}
