//! The plugin entry: environment + stdin in, stdout text + exit code out. Never panics on input:
//! every failure becomes the SPEC's error object.

use podnet_cni::config::peek_version;
use podnet_cni::version::{version_result, CniVersion};
use podnet_cni::{CniError, Command, Env, ErrorCode, NetConf};

use crate::effects::Effects;
use crate::error::PluginError;

/// What to print and how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub exit_code: i32,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Outcome {
            stdout,
            exit_code: 0,
        }
    }

    fn err(e: &CniError, version: &str) -> Self {
        Outcome {
            stdout: e.to_json(version),
            exit_code: 1,
        }
    }
}

/// Runs one invocation.
pub fn run(lookup: impl Fn(&str) -> Option<String>, stdin: &[u8], fx: &mut dyn Effects) -> Outcome {
    let hint = peek_version(stdin)
        .filter(|v| CniVersion::parse(v).is_ok())
        .unwrap_or_else(|| CniVersion::LATEST.as_str().to_string());
    let env = match Env::parse(lookup) {
        Ok(env) => env,
        Err(e) => return Outcome::err(&e, &hint),
    };
    if env.command == Command::Version {
        return Outcome::ok(version_result(&hint));
    }
    let conf = match NetConf::parse(stdin) {
        Ok(c) => c,
        Err(e) => return Outcome::err(&e, &hint),
    };
    let version = conf.cni_version.as_str();
    match dispatch(fx, &env, &conf) {
        Ok(out) => Outcome::ok(out),
        Err(e) => Outcome::err(&e.to_cni(), version),
    }
}

fn dispatch(fx: &mut dyn Effects, env: &Env, conf: &NetConf) -> Result<String, PluginError> {
    let v = conf.cni_version;
    let too_old = |what: &str, since: &str| {
        CniError::new(
            ErrorCode::IncompatibleVersion,
            format!(
                "cniVersion {}: {what} needs cniVersion {since} or later",
                v.as_str()
            ),
        )
    };
    let attachment = || {
        env.attachment.as_ref().ok_or_else(|| {
            CniError::new(
                ErrorCode::InvalidEnv,
                "CNI_CONTAINERID and CNI_IFNAME are required",
            )
        })
    };
    match env.command {
        Command::Add => {
            let result = crate::add::add(fx, &env.path, attachment()?, conf)?;
            Ok(result.to_value(v).to_string())
        }
        Command::Del => crate::del::del(fx, &env.path, attachment()?, conf).map(|_| String::new()),
        Command::Check if !v.supports_check() => Err(too_old("CHECK", "0.4.0").into()),
        Command::Check => crate::check::check(fx, attachment()?, conf).map(|_| String::new()),
        Command::Status if !v.supports_status_gc() => Err(too_old("STATUS", "1.1.0").into()),
        Command::Status => crate::status::status(fx, &env.path, conf).map(|_| String::new()),
        Command::Gc if !v.supports_status_gc() => Err(too_old("GC", "1.1.0").into()),
        Command::Gc => crate::gc::gc(fx, &env.path, conf).map(|_| String::new()),
        Command::Version => Ok(version_result(v.as_str())),
    }
}
