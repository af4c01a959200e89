//! The `podnet` binary: a CNI plugin when `CNI_COMMAND` is set, the CLI otherwise.
//! Everything lives in the library; this file only picks the role.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os("CNI_COMMAND").is_some() {
        return podnet::plugin_main();
    }
    podnet::cli::main()
}
