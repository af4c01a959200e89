//! The CNI error object (`{"cniVersion", "code", "msg", "details"}`) and the spec's error codes.
//!
//! Every module's own error type converts into [`CniError`] through its `code()`; the runner
//! prints it on stdout and exits non-zero. Messages are lowercase and name the bad field or value.

use serde::Serialize;

/// The well-known error codes of the CNI SPEC (section "Error"), plus any other number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 1: incompatible CNI version.
    IncompatibleVersion,
    /// 2: unsupported field in network configuration.
    UnsupportedField,
    /// 3: container unknown or does not exist.
    UnknownContainer,
    /// 4: invalid necessary environment variables.
    InvalidEnv,
    /// 5: I/O failure.
    Io,
    /// 6: failed to decode content.
    Decode,
    /// 7: invalid network config.
    InvalidConfig,
    /// 11: try again later.
    TryAgainLater,
    /// 50: the plugin is not available (STATUS).
    NotAvailable,
    /// 51: the plugin is not available, and existing containers may be affected (STATUS).
    NotAvailableExisting,
    /// 100+: plugin-specific errors; podnet uses 100 for kernel (netlink/nftables) failures.
    Other(u32),
}

/// podnet's own code for a failed kernel operation (netlink or nftables).
pub const CODE_KERNEL: u32 = 100;

impl ErrorCode {
    /// The number written into the error object.
    pub fn as_u32(self) -> u32 {
        match self {
            ErrorCode::IncompatibleVersion => 1,
            ErrorCode::UnsupportedField => 2,
            ErrorCode::UnknownContainer => 3,
            ErrorCode::InvalidEnv => 4,
            ErrorCode::Io => 5,
            ErrorCode::Decode => 6,
            ErrorCode::InvalidConfig => 7,
            ErrorCode::TryAgainLater => 11,
            ErrorCode::NotAvailable => 50,
            ErrorCode::NotAvailableExisting => 51,
            ErrorCode::Other(n) => n,
        }
    }

    /// The inverse of [`ErrorCode::as_u32`]; unknown numbers are kept as `Other(n)`.
    pub fn from_u32(n: u32) -> Self {
        match n {
            1 => ErrorCode::IncompatibleVersion,
            2 => ErrorCode::UnsupportedField,
            3 => ErrorCode::UnknownContainer,
            4 => ErrorCode::InvalidEnv,
            5 => ErrorCode::Io,
            6 => ErrorCode::Decode,
            7 => ErrorCode::InvalidConfig,
            11 => ErrorCode::TryAgainLater,
            50 => ErrorCode::NotAvailable,
            51 => ErrorCode::NotAvailableExisting,
            n => ErrorCode::Other(n),
        }
    }
}

/// A CNI error as the plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cni error {}: {msg}", code.as_u32())]
pub struct CniError {
    pub code: ErrorCode,
    pub msg: String,
    pub details: Option<String>,
}

impl CniError {
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> Self {
        CniError {
            code,
            msg: msg.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Renders the spec's error object for the given result version.
    pub fn to_json(&self, cni_version: &str) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "cniVersion")]
            cni_version: &'a str,
            code: u32,
            msg: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            details: Option<&'a str>,
        }
        let wire = Wire {
            cni_version,
            code: self.code.as_u32(),
            msg: &self.msg,
            details: self.details.as_deref(),
        };
        serde_json::to_string(&wire).unwrap_or_else(|_| {
            format!(
                r#"{{"cniVersion":"1.1.0","code":{},"msg":"unrenderable error"}}"#,
                wire.code
            )
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for n in [1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 100, 999] {
            assert_eq!(ErrorCode::from_u32(n).as_u32(), n);
        }
        assert_eq!(ErrorCode::from_u32(100), ErrorCode::Other(100));
    }

    #[test]
    fn renders_spec_object() {
        let e = CniError::new(ErrorCode::InvalidEnv, "CNI_IFNAME is missing").with_details("x");
        assert_eq!(
            e.to_json("1.1.0"),
            r#"{"cniVersion":"1.1.0","code":4,"msg":"CNI_IFNAME is missing","details":"x"}"#
        );
    }
}
