//! Assertions about a plugin's counters and a host's health.

use pluginhost::{Grant, Host, InvokeError, Plugin, Trap};

use super::wat::{wasm, ECHO};

/// Asserts that a plugin's capability counters are exactly `expected`:
/// `[(allowed, denied); 4]` in [`pluginhost::Capability::ALL`] order.
#[track_caller]
pub fn assert_counts(plugin: &Plugin, expected: [(u64, u64); 4]) {
    let calls = plugin.stats().calls;
    let actual: Vec<(u64, u64)> = pluginhost::Capability::ALL
        .iter()
        .map(|c| (calls.allowed(*c), calls.denied(*c)))
        .collect();
    assert_eq!(
        actual,
        expected.to_vec(),
        "counts (allowed, denied) for fs.read, fs.write, net.dial, process.exec"
    );
}

/// A plugin's denied calls per import, in first-denied order: `[(import, count)]`.
pub fn denials(plugin: &Plugin) -> Vec<(&'static str, u64)> {
    plugin
        .denials()
        .iter()
        .map(|d| (d.import, d.count))
        .collect()
}

/// Asserts a benign plugin freshly loaded on `host` runs and echoes its input.
#[track_caller]
pub fn assert_benign_runs(host: &Host) {
    let mut benign = host
        .load(&wasm(ECHO), Grant::none())
        .expect("a benign plugin still loads");
    let out = host
        .invoke(&mut benign, "run", b"still here")
        .expect("a benign plugin still runs");
    assert_eq!(out, b"ok:still here");
}

/// Asserts `result` is a `StackOverflow` trap.
#[track_caller]
pub fn assert_stack_overflow<T: std::fmt::Debug>(result: &Result<T, InvokeError>) {
    assert!(
        matches!(
            result,
            Err(InvokeError::Trap {
                trap: Trap::StackOverflow,
                ..
            })
        ),
        "{result:?}"
    );
}
