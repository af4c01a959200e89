//! The plugin SIGKILLed at every step boundary of ADD (it kills itself at the named step, so the
//! kill lands exactly there): afterwards DEL, GC or a retried ADD followed by DEL leaves nothing,
//! and a fresh ADD works every time.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::process::ExitStatusExt;

use common::{has_link, Node};
use podnet_plugin::add::STEPS;

const ROUNDS_PER_STEP: usize = 17; // 6 steps x 17 = 102 kills

#[test]
fn killed_at_every_step_then_recovered() {
    let node = Node::new("kill");
    let pod = node.pod("p");
    let conf =
        node.conf(r#","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080}]}"#);
    let gc_none = node.conf(r#","cni.dev/valid-attachments":[]"#);
    let mut kills = 0;
    for step in STEPS {
        for round in 0..ROUNDS_PER_STEP {
            let cid = format!("k-{step}-{round}");
            let mut call = node.call("ADD", &cid, &pod, "eth0");
            call.extra_env
                .push((podnet::KILL_AT_ENV.to_string(), step.to_string()));
            let out = call.exec(conf.as_bytes()).unwrap();
            assert_eq!(
                out.status.signal(),
                Some(9),
                "ADD was not killed at {step}: {:?}",
                out
            );
            kills += 1;
            match round % 3 {
                0 => assert_eq!(
                    node.cni("DEL", &cid, &pod, &conf).0,
                    0,
                    "DEL after kill at {step}"
                ),
                1 => assert_eq!(
                    node.cni("GC", "", "", &gc_none).0,
                    0,
                    "GC after kill at {step}"
                ),
                _ => {
                    // The runtime retries the ADD: it must succeed and reuse the same address.
                    let (code, v) = node.cni("ADD", &cid, &pod, &conf);
                    assert_eq!(code, 0, "re-ADD after kill at {step}: {v}");
                    assert_eq!(node.allocations().len(), 1);
                    assert_eq!(node.cni("DEL", &cid, &pod, &conf).0, 0);
                }
            }
            node.assert_clean(&format!("after kill at {step} (round {round})"));
            assert!(
                !has_link(&pod, "eth0"),
                "pod interface left after kill at {step}"
            );
            let (code, v) = node.cni("ADD", "fresh", &pod, &conf);
            assert_eq!(code, 0, "fresh ADD after kill at {step}: {v}");
            assert_eq!(node.cni("DEL", "fresh", &pod, &conf).0, 0);
        }
    }
    assert!(kills >= 100, "only {kills} kills");
    node.assert_clean("at the end");
}
