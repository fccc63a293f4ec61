//! Loading: every `LoadError` variant, with the exact fields and `kind()` strings.

#![cfg(all(feature = "cap-fs", feature = "cap-net", feature = "cap-process"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use pluginhost::{
    Capability, Grant, Host, HostConfig, InvokeError, LoadError, Plugin, Translation, Trap,
    HOST_FUNCTIONS,
};
use support::hosts::config_with;
use support::modules::many_functions_module;
use support::wat::{import_line, wasm};

fn load(wat: &str, grant: Grant) -> Result<Plugin, LoadError> {
    Host::new(HostConfig::default()).load(&wasm(wat), grant)
}

fn load_err(wat: &str, grant: Grant) -> LoadError {
    match load(wat, grant) {
        Ok(_) => panic!("module loaded but should not have:\n{wat}"),
        Err(e) => e,
    }
}

/// Every capability, each with a scope, so that only the table (not the grant) can refuse.
fn grant_everything() -> Grant {
    Grant::none()
        .with_spec("fs.read=/data")
        .and_then(|g| g.with_spec("fs.write=/data"))
        .and_then(|g| g.with_spec("net.dial=ca.example.com:443"))
        .and_then(|g| g.with_spec("process.exec=/usr/bin/true"))
        .expect("grant")
}

// --- UnknownImport -------------------------------------------------------------------------

#[test]
fn unknown_import_signer_is_named() {
    let e = load_err(
        r#"(module
            (import "pluginhost" "signer" (func (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32) (i32.const 0)))"#,
        grant_everything(),
    );
    assert_eq!(
        e,
        LoadError::UnknownImport {
            module: "pluginhost".into(),
            name: "signer".into()
        }
    );
    assert_eq!(e.kind(), "unknown_import");
    assert!(e.to_string().contains("pluginhost.signer"), "{e}");
}

#[test]
fn unknown_import_keystore_is_named_even_with_every_grant() {
    let e = load_err(
        r#"(module
            (import "pluginhost" "input_len" (func (result i32)))
            (import "pluginhost" "keystore" (func (param i32 i32 i32) (result i32)))
            (func (export "run") (result i32) (i32.const 0)))"#,
        grant_everything(),
    );
    assert_eq!(
        e,
        LoadError::UnknownImport {
            module: "pluginhost".into(),
            name: "keystore".into()
        }
    );
}

#[test]
fn unknown_import_from_a_foreign_module() {
    // A real host function name, but in module "env".
    let e = load_err(
        r#"(module
            (import "env" "input_len" (func (result i32)))
            (func (export "run") (result i32) (i32.const 0)))"#,
        grant_everything(),
    );
    assert_eq!(
        e,
        LoadError::UnknownImport {
            module: "env".into(),
            name: "input_len".into()
        }
    );
    assert_eq!(e.kind(), "unknown_import");
}

#[test]
fn import_names_are_case_sensitive() {
    let e = load_err(
        r#"(module
            (import "PluginHost" "input_len" (func (result i32)))
            (func (export "run") (result i32) (i32.const 0)))"#,
        Grant::none(),
    );
    assert!(
        matches!(e, LoadError::UnknownImport { ref module, .. } if module == "PluginHost"),
        "{e:?}"
    );
    let e = load_err(
        r#"(module
            (import "pluginhost" "Input_Len" (func (result i32)))
            (func (export "run") (result i32) (i32.const 0)))"#,
        Grant::none(),
    );
    assert!(
        matches!(e, LoadError::UnknownImport { ref name, .. } if name == "Input_Len"),
        "{e:?}"
    );
}

#[test]
fn memory_global_and_table_imports_from_pluginhost_are_unknown() {
    for (import, name) in [
        (r#"(import "pluginhost" "memory" (memory 1))"#, "memory"),
        // Named like a host function, but not a function.
        (
            r#"(import "pluginhost" "input_len" (global i32))"#,
            "input_len",
        ),
        (r#"(import "pluginhost" "fs_read" (memory 1))"#, "fs_read"),
        (
            r#"(import "pluginhost" "table" (table 1 funcref))"#,
            "table",
        ),
    ] {
        let wat = format!(r#"(module {import} (func (export "run") (result i32) (i32.const 0)))"#);
        let e = load_err(&wat, grant_everything());
        assert_eq!(
            e,
            LoadError::UnknownImport {
                module: "pluginhost".into(),
                name: name.into()
            },
            "{import}"
        );
    }
}

// --- NotGranted --------------------------------------------------------------------------------

#[test]
fn fs_write_import_without_grant_is_not_granted() {
    let wat = format!(
        r#"(module {} (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
        import_line("fs_write")
    );
    let e = load_err(&wat, Grant::none());
    assert_eq!(
        e,
        LoadError::NotGranted {
            capability: Capability::FsWrite,
            import: "fs_write"
        }
    );
    assert_eq!(e.kind(), "not_granted");
    let text = e.to_string();
    assert!(
        text.contains("fs_write") && text.contains("fs.write"),
        "{text}"
    );
}

#[test]
fn every_gated_import_needs_its_own_capability() {
    let gated: Vec<_> = HOST_FUNCTIONS
        .iter()
        .filter(|f| f.capability.is_some())
        .collect();
    assert_eq!(
        gated.len(),
        10,
        "fs_read, fs_size, fs_write, fs_rename, net_*4, net_dial_tls, process_exec"
    );
    for function in gated {
        let capability = function.capability.expect("gated");
        let wat = format!(
            r#"(module {} (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
            import_line(function.name)
        );
        let expected = LoadError::NotGranted {
            capability,
            import: function.name,
        };
        assert_eq!(load_err(&wat, Grant::none()), expected, "{}", function.name);
        // Every other capability, fully scoped, does not help.
        let others: Vec<Capability> = Capability::ALL
            .into_iter()
            .filter(|c| *c != capability)
            .collect();
        let mut other_grant = Grant::new(&others);
        for c in &others {
            other_grant = if c.takes_paths() {
                other_grant.with_path_prefix(*c, "/").expect("prefix")
            } else {
                other_grant.with_host("ca.example.com:443").expect("host")
            };
        }
        assert_eq!(load_err(&wat, other_grant), expected, "{}", function.name);
        // The capability alone, without any scope, links the import.
        assert!(
            load(&wat, Grant::new(&[capability])).is_ok(),
            "{}",
            function.name
        );
    }
}

#[test]
fn ungated_imports_link_without_any_grant() {
    let wat = format!(
        r#"(module {} {} {} {} (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
        import_line("input_len"),
        import_line("input_read"),
        import_line("output_write"),
        import_line("log")
    );
    assert!(load(&wat, Grant::none()).is_ok());
}

#[test]
fn a_function_imported_twice_links_once_and_both_imports_work() {
    let mut plugin = load(
        r#"(module
            (import "pluginhost" "input_len" (func $first (result i32)))
            (import "pluginhost" "input_len" (func $second (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32) (i32.add (call $first) (call $second))))"#,
        Grant::none(),
    )
    .unwrap();
    let host = Host::new(HostConfig::default());
    assert_eq!(host.call(&mut plugin, "run", b"abc").unwrap().status, 6);
}

// --- ImportSignature ---------------------------------------------------------------------------

#[test]
fn fs_write_with_three_params_is_a_signature_error() {
    let e = load_err(
        r#"(module
            (import "pluginhost" "fs_write" (func (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32) (i32.const 0)))"#,
        grant_everything(),
    );
    match &e {
        LoadError::ImportSignature {
            import,
            expected,
            found,
        } => {
            assert_eq!(*import, "fs_write");
            assert_eq!(expected, "(i32, i32, i32, i32) -> i32");
            assert_eq!(found, "(i32, i32, i32) -> i32");
        }
        other => panic!("expected ImportSignature, got {other:?}"),
    }
    assert_eq!(e.kind(), "invalid_module");
}

#[test]
fn wrong_result_or_param_types_are_signature_errors() {
    for (decl, found_expected) in [
        (
            "(func (param i32 i32 i32 i32) (result i64))",
            "(i32, i32, i32, i32) -> i64",
        ),
        ("(func (param i32 i32 i32 i32))", "(i32, i32, i32, i32)"),
        (
            "(func (param i32 i32 i32 i32) (result i32 i32))",
            "(i32, i32, i32, i32) -> (i32, i32)",
        ),
        (
            "(func (param i32 i32 i32 i64) (result i32))",
            "(i32, i32, i32, i64) -> i32",
        ),
        (
            "(func (param i32 i32 i32 i32 i32) (result i32))",
            "(i32, i32, i32, i32, i32) -> i32",
        ),
        (
            "(func (param f32 i32 i32 i32) (result i32))",
            "(f32, i32, i32, i32) -> i32",
        ),
    ] {
        let wat = format!(
            r#"(module (import "pluginhost" "fs_write" {decl}) (memory (export "memory") 1)
                (func (export "run") (result i32) (i32.const 0)))"#
        );
        match load_err(&wat, grant_everything()) {
            LoadError::ImportSignature {
                import,
                expected,
                found,
            } => {
                assert_eq!(import, "fs_write", "{decl}");
                assert_eq!(expected, "(i32, i32, i32, i32) -> i32", "{decl}");
                assert_eq!(found, found_expected, "{decl}");
            }
            other => panic!("{decl}: expected ImportSignature, got {other:?}"),
        }
    }
    // An ungated function too.
    match load_err(
        r#"(module (import "pluginhost" "input_len" (func (param i32) (result i32)))
            (func (export "run") (result i32) (i32.const 0)))"#,
        Grant::none(),
    ) {
        LoadError::ImportSignature {
            import, expected, ..
        } => {
            assert_eq!((import, expected.as_str()), ("input_len", "() -> i32"));
        }
        other => panic!("expected ImportSignature, got {other:?}"),
    }
}

// --- InvalidModule -----------------------------------------------------------------------------

fn assert_invalid(bytes: &[u8], what: &str) {
    match Host::new(HostConfig::default()).load(bytes, Grant::none()) {
        Err(e @ LoadError::InvalidModule(_)) => assert_eq!(e.kind(), "invalid_module", "{what}"),
        Err(other) => panic!("{what}: expected InvalidModule, got {other:?}"),
        Ok(_) => panic!("{what}: loaded"),
    }
}

#[test]
fn an_invalid_body_is_refused_at_load_even_if_never_called() {
    // With lazy translation functions are translated on their first call, but the whole module is
    // still validated at load.
    let bytes = wasm(
        r#"(module (memory (export "memory") 1)
            (func (export "run") (result i32) (i32.const 0))
            (func $never_called (result i32) (i64.const 1)))"#,
    );
    for translation in [Translation::Eager, Translation::Lazy] {
        let host = Host::new(HostConfig::DEFAULT.with_translation(translation));
        match host.load(&bytes, Grant::none()) {
            Err(e @ LoadError::InvalidModule(_)) => assert_eq!(e.kind(), "invalid_module"),
            other => panic!("{translation:?}: expected InvalidModule, got {other:?}"),
        }
    }
}

#[test]
fn garbage_and_empty_bytes_are_invalid() {
    assert_invalid(b"this is not a wasm module", "garbage");
    assert_invalid(b"", "empty");
    assert_invalid(b"\0asm", "magic only");
    assert_invalid(b"\0asm\x02\0\0\0", "wrong version");
}

#[test]
fn truncated_module_is_invalid() {
    let full = wasm(
        r#"(module (memory (export "memory") 1)
            (func (export "run") (result i32) (i32.add (i32.const 1) (i32.const 2))))"#,
    );
    assert!(Host::new(HostConfig::default())
        .load(&full, Grant::none())
        .is_ok());
    for cut in [1, 3, full.len() / 2, full.len() - 9] {
        assert_invalid(&full[..full.len() - cut], &format!("cut {cut} bytes"));
    }
}

#[test]
fn two_memories_are_invalid() {
    // With the default (strict) module limits.
    assert_invalid(&wasm("(module (memory 1) (memory 1))"), "two memories");
}

#[test]
fn two_memories_are_refused_either_way() {
    // Whatever the variant, the module must not load, under strict limits or without them.
    let bytes = wasm("(module (memory 1) (memory 1))");
    assert!(Host::new(HostConfig::default())
        .load(&bytes, Grant::none())
        .is_err());
    let lax = config_with(|l| l.strict_module_limits = false);
    match Host::new(lax).load(&bytes, Grant::none()) {
        Err(LoadError::InvalidModule(_)) => {}
        other => panic!("expected InvalidModule without strict limits, got {other:?}"),
    }
}

#[test]
fn memory64_is_invalid() {
    assert_invalid(&wasm("(module (memory i64 1))"), "64-bit memory");
    assert_invalid(
        &wasm(r#"(module (memory (export "memory") i64 1))"#),
        "exported 64-bit memory",
    );
}

// --- ModuleTooLarge / ModuleLimit / ResourceLimit ------------------------------------------------

#[test]
fn module_over_the_size_limit_is_too_large() {
    let bytes = wasm(
        r#"(module (memory (export "memory") 1) (data (i32.const 0) "some data to make it bigger")
            (func (export "run") (result i32) (i32.const 0)))"#,
    );
    let exact = Host::new(config_with(|l| l.module_bytes = bytes.len()));
    assert!(
        exact.load(&bytes, Grant::none()).is_ok(),
        "a module of exactly the limit loads"
    );
    let small = Host::new(config_with(|l| l.module_bytes = bytes.len() - 1));
    let e = small
        .load(&bytes, Grant::none())
        .expect_err("over the limit");
    assert_eq!(
        e,
        LoadError::ModuleTooLarge {
            size: bytes.len(),
            limit: bytes.len() - 1
        }
    );
    assert_eq!(e.kind(), "limit");
}

#[test]
fn size_limit_is_checked_before_parsing() {
    // Garbage over the limit is "too large", not "invalid": nothing was parsed.
    let host = Host::new(config_with(|l| l.module_bytes = 16));
    let e = host
        .load(&[0xAB; 17], Grant::none())
        .expect_err("too large");
    assert_eq!(
        e,
        LoadError::ModuleTooLarge {
            size: 17,
            limit: 16
        }
    );
}

#[test]
fn twenty_thousand_functions_hit_the_module_limit() {
    let host = Host::new(HostConfig::default());
    assert!(
        host.load(&many_functions_module(100, 0), Grant::none())
            .is_ok(),
        "the builder makes valid modules"
    );
    let e = host
        .load(&many_functions_module(20_000, 0), Grant::none())
        .expect_err("module limit");
    assert!(matches!(e, LoadError::ModuleLimit(_)), "{e:?}");
    assert_eq!(e.kind(), "limit");
}

#[test]
fn a_million_tiny_functions_are_refused_quickly() {
    let bytes = many_functions_module(1_000_000, 0);
    assert!(
        bytes.len() < HostConfig::default().limits.module_bytes,
        "under the size cap"
    );
    let host = Host::new(HostConfig::default());
    let e = host.load(&bytes, Grant::none()).expect_err("module limit");
    // Refused from the function section's header by the strict limits, before any function
    // body is read (a regression would show as a slow test, not a timing assertion).
    assert!(
        matches!(e, LoadError::ModuleLimit(ref m) if m.contains("functions")),
        "{e:?}"
    );
}

#[test]
fn initial_memory_of_65536_pages_is_a_resource_limit() {
    let e = load_err(
        r#"(module (memory (export "memory") 65536))"#,
        Grant::none(),
    );
    assert!(matches!(e, LoadError::ResourceLimit(_)), "{e:?}");
    assert_eq!(e.kind(), "limit");
}

#[test]
fn initial_memory_just_over_the_limit_is_a_resource_limit() {
    // The default limit is 16 MiB = 256 pages.
    assert!(load(r#"(module (memory (export "memory") 256))"#, Grant::none()).is_ok());
    let e = load_err(r#"(module (memory (export "memory") 257))"#, Grant::none());
    assert!(matches!(e, LoadError::ResourceLimit(_)), "{e:?}");
}

#[test]
fn initial_table_over_the_limit_is_a_resource_limit() {
    // The default limit is 10,000 elements.
    assert!(load("(module (table 10000 funcref))", Grant::none()).is_ok());
    let e = load_err("(module (table 10001 funcref))", Grant::none());
    assert!(matches!(e, LoadError::ResourceLimit(_)), "{e:?}");
    assert_eq!(e.kind(), "limit");
}

// --- Start function --------------------------------------------------------------------------

#[test]
fn start_function_that_traps_is_start_trap() {
    let e = load_err(
        r#"(module (func $s unreachable) (start $s)
            (func (export "run") (result i32) (i32.const 0)))"#,
        Grant::none(),
    );
    assert_eq!(e, LoadError::StartTrap(Trap::Unreachable));
    assert_eq!(e.kind(), "trap");

    let e = load_err(
        r#"(module (func $s (drop (i32.div_u (i32.const 1) (i32.const 0)))) (start $s))"#,
        Grant::none(),
    );
    assert_eq!(e, LoadError::StartTrap(Trap::DivisionByZero));
}

#[test]
fn start_function_that_loops_runs_out_of_fuel() {
    let budget = 200_000;
    let host = Host::new(HostConfig::default().with_fuel(budget));
    let bytes = wasm(r#"(module (func $s (loop $l (br $l))) (start $s))"#);
    let e = host.load(&bytes, Grant::none()).expect_err("fuel");
    match e {
        LoadError::StartFuelExhausted { fuel_used } => {
            assert!(
                fuel_used > 0 && fuel_used <= budget,
                "fuel_used {fuel_used}"
            );
        }
        other => panic!("expected StartFuelExhausted, got {other:?}"),
    }
    assert_eq!(e.kind(), "fuel_exhausted");
}

#[test]
fn start_function_that_finishes_loads() {
    let plugin = load(
        r#"(module (global $g (mut i32) (i32.const 0))
            (func $s (global.set $g (i32.const 7))) (start $s)
            (func (export "run") (result i32) (global.get $g)))"#,
        Grant::none(),
    );
    let host = Host::new(HostConfig::default());
    let mut plugin = plugin.expect("loads");
    assert_eq!(host.call(&mut plugin, "run", b"").map(|c| c.status), Ok(7));
}

// --- Entry points ------------------------------------------------------------------------------

#[test]
fn missing_or_mistyped_entry_is_no_entry() {
    let host = Host::new(HostConfig::default());
    let mut plugin = host
        .load(
            &wasm(
                r#"(module (func (export "run") (param i32) (result i32) (local.get 0))
                    (func (export "other") (result i64) (i64.const 0)))"#,
            ),
            Grant::none(),
        )
        .expect("loads: entry points are checked at invocation");
    for name in ["run", "other", "absent"] {
        let e = host.call(&mut plugin, name, b"").expect_err("no entry");
        assert_eq!(e, InvokeError::NoEntry { name: name.into() });
        assert_eq!(e.kind(), "no_entry");
    }
}

// --- kind() --------------------------------------------------------------------------------------

#[test]
fn kind_strings() {
    let cases = [
        (LoadError::ModuleTooLarge { size: 2, limit: 1 }, "limit"),
        (LoadError::InvalidModule("x".into()), "invalid_module"),
        (LoadError::ModuleLimit("x".into()), "limit"),
        (
            LoadError::UnknownImport {
                module: "env".into(),
                name: "x".into(),
            },
            "unknown_import",
        ),
        (
            LoadError::NotGranted {
                capability: Capability::NetDial,
                import: "net_dial",
            },
            "not_granted",
        ),
        (
            LoadError::ImportSignature {
                import: "log",
                expected: "(i32, i32, i32) -> i32".into(),
                found: "()".into(),
            },
            "invalid_module",
        ),
        (LoadError::ResourceLimit("x".into()), "limit"),
        (
            LoadError::StartFuelExhausted { fuel_used: 1 },
            "fuel_exhausted",
        ),
        (LoadError::StartTrap(Trap::StackOverflow), "trap"),
        (LoadError::Engine("x".into()), "invalid_module"),
    ];
    for (error, kind) in cases {
        assert_eq!(error.kind(), kind, "{error:?}");
        assert!(!error.to_string().is_empty());
        // A rebuild failure reports the load error's kind.
        assert_eq!(InvokeError::Rebuild(error).kind(), kind);
    }
}
