//! The README's main job, `podnet demo`, runs green and leaves no namespace behind.

mod common;

use common::PLUGIN;

#[test]
fn demo_passes_and_cleans_up() {
    common::require_root();
    let out = std::process::Command::new(PLUGIN)
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(
        stdout.contains("pod b sees pod a's own address (no NAT)"),
        "{stdout}"
    );
    assert!(stdout.contains("veths left on the node: none"), "{stdout}");
    assert_eq!(
        podnet_netns::list_with_prefix("pndemo"),
        Vec::<String>::new()
    );
}
