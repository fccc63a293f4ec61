//! `load`: arbitrary bytes through `inspect`, `Host::load` (under a small grant) and
//! `Host::conformance`.
//!
//! Input: a module as is (it starts with `\0asm`: the grant is [`DEFAULT_GRANT`]), or one byte
//! choosing the grant (see [`common::grant_from_byte`]) followed by the module.
//!
//! Checks: nothing panics; every error is from the closed set of [`common::check_load_error`];
//! `inspect` refusing a module implies `load` refuses it too, with the same error; a loaded
//! plugin's start function used at most the budget; invoking `run` twice (the second time after
//! a possible rebuild) ends in a completion or an error from the closed set with
//! `fuel_used <= budget`; the conformance report is consistent (admitted implies instantiated,
//! exported, ran without trapping, status 0 or another, no privileged operation; fuel within two
//! budgets). Time and memory are bounded by the small fuel budget and [`common::small_limits`]
//! (and libFuzzer's `-timeout`, `-rss_limit_mb`, `-malloc_limit_mb`).

use pluginhost::{inspect, Host, InvokeError, LoadError};

use crate::common::{self, Memory};

/// Fuel per invocation (and for the start function).
pub const FUEL: u64 = 100_000;

/// The grant byte used for inputs that are a bare module: every capability, the usual prefixes
/// and the echo host.
pub const DEFAULT_GRANT: u8 = 0x3f;

/// Runs one input.
pub fn run(data: &[u8]) {
    let (grant_byte, wasm) = if data.starts_with(b"\0asm") {
        (DEFAULT_GRANT, data)
    } else {
        match data.split_first() {
            Some((b, rest)) => (*b, rest),
            None => return,
        }
    };
    let (grant, model) = common::grant_from_byte(grant_byte);
    let config = common::small_config(FUEL);
    let memory = Memory::new(Some((16, 4096)), 1024);
    let host = Host::with_backends(config, memory.guarded(&model));

    let info = inspect(&config, wasm);
    let loaded = host.load(wasm, grant);
    match (&info, &loaded) {
        (Err(i), Err(l)) => {
            assert!(
                matches!(
                    i,
                    LoadError::InvalidModule(_)
                        | LoadError::ModuleLimit(_)
                        | LoadError::ModuleTooLarge { .. }
                ),
                "inspect: {i:?}"
            );
            assert_eq!(i, l, "inspect and load refuse differently");
        }
        (Err(i), Ok(_)) => panic!("inspect refused ({i:?}) a module load accepted"),
        (Ok(_), _) => {}
    }
    match loaded {
        Err(e) => common::check_load_error(&e, FUEL, &model),
        Ok(mut plugin) => {
            let stats = plugin.stats();
            assert!(stats.fuel_used <= FUEL, "start used {stats:?}");
            let exports_run = info.as_ref().is_ok_and(|i| i.exports_entry("run"));
            for input in [&b""[..], b"fuzz input"] {
                let before = plugin.stats();
                match host.call(&mut plugin, "run", input) {
                    Ok(done) => {
                        assert!(done.fuel_used <= FUEL, "{done:?}");
                        assert!(done.output.len() <= config.limits.output_bytes);
                        assert!(exports_run, "ran an entry inspect did not list");
                        assert_eq!(plugin.stats().last_fuel_used, done.fuel_used);
                    }
                    Err(InvokeError::NoEntry { .. }) => {
                        assert!(!exports_run, "run: () -> i32 is exported but NoEntry");
                    }
                    Err(e) => {
                        common::check_invoke_error(&e, FUEL, &model, exports_run);
                        if let Some(used) = e.fuel_used() {
                            assert_eq!(plugin.stats().last_fuel_used, used);
                        }
                    }
                }
                let after = plugin.stats();
                assert!(after.fuel_used >= before.fuel_used);
                assert!(after.invocations <= before.invocations + 1);
            }
        }
    }

    let report = host.conformance(wasm);
    if report.ok() {
        assert!(report.instantiated && report.entry_exported, "{report:?}");
        assert!(!report.trapped && report.trap.is_none(), "{report:?}");
        assert!(report.status.is_some(), "{report:?}");
        assert_eq!(report.privileged_operations(), 0, "{report:?}");
        assert!(info.is_ok(), "conformance admitted what inspect refused");
    }
    if info.is_err() {
        assert!(!report.ok());
        assert!(!report.instantiated);
    }
    assert!(report.fuel_used <= 2 * FUEL, "{report:?}");
    assert!(!report.checks.is_empty());
}
