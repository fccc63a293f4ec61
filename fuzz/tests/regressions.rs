//! Replays the committed seeds and every regression input through the targets, on stable:
//!
//! ```sh
//! cd fuzz && cargo test --release --no-default-features
//! ```
//!
//! A crash found by the fuzzers is kept as `regressions/<target>/<short-name>` (the minimized
//! input from `fuzz/artifacts/<target>/`) and gets a test below named `<target>_<short_name>`.

use std::path::Path;

use pluginhost_fuzz::{inputs, TARGETS};

fn replay_dir(base: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(base);
    let mut n = 0;
    for (name, run) in TARGETS {
        for file in inputs(&root.join(name)) {
            let data = std::fs::read(&file).expect("read input");
            eprintln!("{name}: {}", file.display());
            run(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn seeds_pass() {
    assert!(replay_dir("seeds") > 0, "no seeds: run `cargo run --bin seeds`");
}

#[test]
fn regressions_pass() {
    replay_dir("regressions");
}
