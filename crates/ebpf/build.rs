//! Compiles `bpf/fastpath.c` to a BPF object with clang (scripts/setup.sh installs clang and
//! libbpf-dev); the crate embeds the object.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "bpf/fastpath.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("fastpath.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // <asm/types.h> lives in the multiarch include directory on Debian.
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let multiarch = format!("/usr/include/{arch}-linux-gnu");
    let status = Command::new(&clang)
        .args([
            "-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-I", &multiarch, "-c", src, "-o",
        ])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile {src} ({s})"),
        Err(e) => panic!(
            "cannot run {clang} ({e}): podnet builds its eBPF program with clang and the \
             libbpf-dev headers; run scripts/setup.sh (or apt-get install clang libbpf-dev)"
        ),
    }
}
