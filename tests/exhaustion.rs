//! Resource exhaustion: cases 9-17 of the hostile-plugin catalogue.
//!
//! Every case runs a hostile fixture and checks four things: the typed error or outcome, that the
//! host stays usable (a benign plugin loaded afterwards on the same host runs), that the hostile
//! plugin itself runs its next invocation (after a rebuild where the instance was discarded), and
//! that host memory stays bounded: the peak growth of the measuring thread's live allocations,
//! counted by the global allocator `support::alloc::Counting`, is held under a stated bound.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

use std::sync::Arc;

use pluginhost::{
    ErrorCode, Grant, Host, HostConfig, InvokeError, Limits, LoadError, MemoryNetwork,
    MemoryService, Plugin, Trap,
};
use support::checks::{assert_benign_runs, assert_stack_overflow};
use support::hosts::host_with_network;
use support::measure::{measure, KIB, MIB};
use support::modules::many_functions_module;
use support::wat::wasm;

/// Wasm page size.
const PAGE: usize = 64 * KIB;

/// Reads the little-endian `i32`s of an output.
fn words(output: &[u8]) -> Vec<i32> {
    output
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// An entry every fixture exports besides its hostile one: returns 0 and writes nothing.
const OK_ENTRY: &str = r#"(func (export "ok") (result i32) (i32.const 0))"#;

/// Asserts the plugin's benign entry runs.
fn assert_ok_entry_runs(host: &Host, plugin: &mut Plugin) {
    assert_eq!(
        host.invoke(plugin, "ok", b""),
        Ok(Vec::new()),
        "the hostile plugin's next invocation runs"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. memory.grow past the plugin's limit
// ---------------------------------------------------------------------------------------------

/// Grows memory one page at a time until `memory.grow` fails, then asks for 65,536 pages and for
/// 0xFFFF_FFFF pages. Writes `[pages grown, memory.size, grow(65536), grow(-1)]`.
const GROW_PAGE_BY_PAGE: &str = r#"(module
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (local $grown i32)
        (block $full (loop $more
            (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))
            (br $more)))
        (i32.store (i32.const 0) (local.get $grown))
        (i32.store (i32.const 4) (memory.size))
        (i32.store (i32.const 8) (memory.grow (i32.const 65536)))
        (i32.store (i32.const 12) (memory.grow (i32.const -1)))
        (drop (call $out (i32.const 0) (i32.const 16)))
        (i32.const 0))
    (func (export "ok") (result i32) (i32.const 0)))"#;

#[test]
fn memory_grow_past_the_limit_returns_minus_one() {
    let host = Host::new(HostConfig::default());
    let limit = host.config().limits.memory_bytes;
    let limit_pages = i32::try_from(limit / PAGE).unwrap();
    let mut plugin = host.load(&wasm(GROW_PAGE_BY_PAGE), Grant::none()).unwrap();

    let (output, usage) = measure(|| host.invoke(&mut plugin, "run", b""));
    let output = output.expect("memory.grow failing is not a trap");
    assert_eq!(words(&output), [limit_pages - 1, limit_pages, -1, -1]);
    // The 16 MiB buffer plus, while the last doubling reallocates, the 8 MiB one it replaces.
    assert!(
        usage.peak < limit + limit / 2 + MIB,
        "peak {} bytes for a {limit}-byte memory limit",
        usage.peak
    );

    // No trap, so the instance (and its full memory) stays: growth keeps failing.
    let output = host.invoke(&mut plugin, "run", b"").unwrap();
    assert_eq!(words(&output), [0, limit_pages, -1, -1]);
    assert_eq!(plugin.stats().rebuilds, 0);
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

/// Grows to one page below the limit in one step, then by one page: the pattern that makes a
/// doubling `Vec` over-reserve the most.
const GROW_TO_LIMIT_MINUS_ONE_THEN_ONE: &str = r#"(module
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (i32.store (i32.const 0) (memory.grow (i32.sub (call $pages) (i32.const 2))))
        (i32.store (i32.const 4) (memory.grow (i32.const 1)))
        (i32.store (i32.const 8) (memory.grow (i32.const 1)))
        (drop (call $out (i32.const 0) (i32.const 12)))
        (i32.const 0))
    (func $pages (result i32) (i32.const 256)))"#;

#[test]
fn adversarial_memory_growth_is_bounded() {
    let host = Host::new(HostConfig::default());
    let limit = host.config().limits.memory_bytes;
    assert_eq!(
        limit / PAGE,
        256,
        "the fixture assumes the default 256-page limit"
    );
    let mut plugin = host
        .load(&wasm(GROW_TO_LIMIT_MINUS_ONE_THEN_ONE), Grant::none())
        .unwrap();
    let (output, usage) = measure(|| host.invoke(&mut plugin, "run", b""));
    assert_eq!(words(&output.unwrap()), [1, 255, -1]);
    // Bounded, but by about three times the limit: wasmi's Vec-backed memory doubles its
    // capacity on the 255 -> 256 page step (510 pages reserved) while the 255-page buffer is
    // still live. `linear_memory_reservation_stays_within_memory_bytes` has the tight bound.
    assert!(usage.peak < 3 * limit + MIB, "peak {} bytes", usage.peak);
    assert!(
        usage.retained < 2 * limit as isize + MIB as isize,
        "{usage:?}"
    );
    assert_benign_runs(&host);
}

#[test]
/// wasmi grows a linear memory's buffer geometrically, so a plugin at its limit can leave up to
/// about twice `memory_bytes` reserved on the host (documented in docs/limits.md; not something
/// the host can change without patching wasmi). This pins that bound.
fn linear_memory_reservation_is_at_most_twice_memory_bytes() {
    let host = Host::new(HostConfig::default());
    let limit = host.config().limits.memory_bytes;
    let mut plugin = host
        .load(&wasm(GROW_TO_LIMIT_MINUS_ONE_THEN_ONE), Grant::none())
        .unwrap();
    let (output, usage) = measure(|| host.invoke(&mut plugin, "run", b""));
    assert_eq!(words(&output.unwrap()), [1, 255, -1]);
    assert!(
        usage.retained < 2 * limit as isize + MIB as isize,
        "a {limit}-byte memory limit left {} bytes reserved",
        usage.retained
    );
}

// ---------------------------------------------------------------------------------------------
// 10. 65,536 initial pages
// ---------------------------------------------------------------------------------------------

#[test]
fn initial_memory_of_65536_pages_fails_to_load_with_a_limit_error() {
    let host = Host::new(HostConfig::default());
    let hostile = wasm(&format!(
        r#"(module (memory (export "memory") 65536) {OK_ENTRY})"#
    ));
    let (result, usage) = measure(|| host.load(&hostile, Grant::none()));
    let error = result.expect_err("a 4 GiB memory must not load");
    assert!(matches!(error, LoadError::ResourceLimit(_)), "{error:?}");
    assert_eq!(error.kind(), "limit");
    // Refused by the limiter before anything near 4 GiB (or even the 16 MiB limit) is allocated.
    assert!(usage.peak < MIB, "peak {} bytes", usage.peak);

    // The boundary is the limit itself.
    let pages = host.config().limits.memory_bytes / PAGE;
    let over = wasm(&format!(
        r#"(module (memory (export "memory") {}) {OK_ENTRY})"#,
        pages + 1
    ));
    assert_eq!(host.load(&over, Grant::none()).unwrap_err().kind(), "limit");
    let at = wasm(&format!(
        r#"(module (memory (export "memory") {pages}) {OK_ENTRY})"#
    ));
    let mut plugin = host
        .load(&at, Grant::none())
        .expect("exactly the limit loads");
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

// ---------------------------------------------------------------------------------------------
// 11. table.grow by a million, repeatedly
// ---------------------------------------------------------------------------------------------

/// Asks 1,000 times to grow a table by a million elements, then by 0xFFFF_FFFF, then fills it
/// to the limit and asks for one more. Writes
/// `[failures of the million-grows, grow(-1), grow(to limit), grow(1), table.size]`.
const TABLE_GROW: &str = r#"(module
    (import "pluginhost" "input_len" (func $len (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (table $t 1 funcref)
    (func (export "run") (result i32)
        (local $i i32) (local $failed i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const 1000)))
            (if (i32.eq (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1))
                (then (local.set $failed (i32.add (local.get $failed) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 0) (local.get $failed))
        (i32.store (i32.const 4) (table.grow $t (ref.null func) (i32.const -1)))
        ;; input_len is the number of elements that brings the table to the limit
        (i32.store (i32.const 8) (table.grow $t (ref.null func) (call $len)))
        (i32.store (i32.const 12) (table.grow $t (ref.null func) (i32.const 1)))
        (i32.store (i32.const 16) (table.size $t))
        (drop (call $out (i32.const 0) (i32.const 20)))
        (i32.const 0))
    (func (export "ok") (result i32) (i32.const 0)))"#;

#[test]
fn table_grow_by_a_million_returns_minus_one_and_stays_bounded() {
    let host = Host::new(HostConfig::default());
    let limit = host.config().limits.table_elements;
    let mut plugin = host.load(&wasm(TABLE_GROW), Grant::none()).unwrap();
    let fill = vec![0u8; limit - 1];
    let (output, usage) = measure(|| host.invoke(&mut plugin, "run", &fill));
    let limit_i32 = i32::try_from(limit).unwrap();
    assert_eq!(words(&output.unwrap()), [1000, -1, 1, -1, limit_i32]);
    // 10,000 table elements and the input buffer; nothing proportional to the million asked for.
    assert!(usage.peak < MIB, "peak {} bytes", usage.peak);

    // Not a trap: the table stays full and growth keeps failing.
    let output = host.invoke(&mut plugin, "run", b"").unwrap();
    assert_eq!(words(&output), [1000, -1, limit_i32, -1, limit_i32]);
    assert_ok_entry_runs(&host, &mut plugin);

    // A table declared over the limit does not load.
    let over = wasm(&format!("(module (table {} funcref))", limit + 1));
    assert_eq!(host.load(&over, Grant::none()).unwrap_err().kind(), "limit");
    assert_benign_runs(&host);
}

#[test]
fn tables_and_memories_over_the_store_limits_do_not_load() {
    let host = Host::new(HostConfig::default());
    let limits = host.config().limits;
    let tables = |n: usize| wasm(&format!("(module {})", "(table 1 funcref) ".repeat(n)));
    let over = host.load(&tables(limits.tables + 1), Grant::none());
    assert!(matches!(over, Err(LoadError::ResourceLimit(_))), "{over:?}");
    host.load(&tables(limits.tables), Grant::none())
        .expect("exactly the table limit loads");
    let elements = wasm(&format!(
        "(module (table {} funcref))",
        limits.table_elements + 1
    ));
    let over = host.load(&elements, Grant::none());
    assert!(matches!(over, Err(LoadError::ResourceLimit(_))), "{over:?}");
    // A second memory is refused by validation (multi-memory is off) before any limit applies.
    let two = host.load(&wasm("(module (memory 1) (memory 1))"), Grant::none());
    assert!(matches!(two, Err(LoadError::InvalidModule(_))), "{two:?}");
    let wide = format!("(module (func (param {})))", "i32 ".repeat(33));
    let wide = host.load(&wasm(&wide), Grant::none());
    assert!(matches!(wide, Err(LoadError::ModuleLimit(_))), "{wide:?}");
}

// ---------------------------------------------------------------------------------------------
// 12. Unbounded recursion
// ---------------------------------------------------------------------------------------------

/// Native stack of the thread that runs the recursion cases. A debug build needs less than
/// 64 KiB to invoke a plugin; if wasm calls nested native frames, 512 of them would need far
/// more than this. (Parsing WAT and compiling need more, so fixtures are loaded beforehand.)
const SMALL_NATIVE_STACK: usize = 256 * KIB;

/// Runs `f` with `host` and `plugin` on a thread with a [`SMALL_NATIVE_STACK`].
fn on_small_stack<R: Send + 'static>(
    host: &Arc<Host>,
    mut plugin: Plugin,
    f: impl FnOnce(&Host, &mut Plugin) -> R + Send + 'static,
) -> (R, Plugin) {
    let host = Arc::clone(host);
    std::thread::Builder::new()
        .stack_size(SMALL_NATIVE_STACK)
        .spawn(move || (f(&host, &mut plugin), plugin))
        .unwrap()
        .join()
        .expect("the thread with a small native stack survived")
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap_not_a_native_overflow() {
    let host = Arc::new(Host::new(HostConfig::default()));
    let hostile = wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func $down (call $down))
            (func (export "run") (result i32) (call $down) (i32.const 0))
            {OK_ENTRY})"#
    ));
    let plugin = host.load(&hostile, Grant::none()).unwrap();
    let ((first, second, usage), mut plugin) = on_small_stack(&host, plugin, |host, plugin| {
        let (first, usage) = measure(|| host.invoke(plugin, "run", b""));
        let second = host.invoke(plugin, "run", b"");
        (first, second, usage)
    });
    for result in [&first, &second] {
        assert_stack_overflow(result);
    }
    assert!(usage.peak < 4 * MIB, "peak {} bytes", usage.peak);
    assert_ok_entry_runs(&host, &mut plugin);
    let stats = plugin.stats();
    assert_eq!(stats.traps, 2);
    assert_eq!(
        stats.rebuilds, 2,
        "rebuilt before the second run and before `ok`"
    );
    assert_benign_runs(&host);
}

#[test]
fn recursion_with_large_frames_is_stopped_with_bounded_memory() {
    // The default cap refuses 10,000 locals at load; loosen it to show the stack limit holds too.
    let host = Arc::new(Host::new(
        HostConfig::default().with_limits(Limits::DEFAULT.with_max_locals_per_function(20_000)),
    ));
    // 10,000 locals per frame: the interpreter's value stack runs out long before 512 frames.
    let hostile = wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func $down (local {}) (call $down))
            (func (export "run") (result i32) (call $down) (i32.const 0))
            {OK_ENTRY})"#,
        "i64 ".repeat(10_000)
    ));
    let plugin = host.load(&hostile, Grant::none()).unwrap();
    let ((result, usage), mut plugin) = on_small_stack(&host, plugin, |host, plugin| {
        measure(|| host.invoke(plugin, "run", b""))
    });
    assert_stack_overflow(&result);
    // The value stack is capped (`Limits::value_stack_bytes`, 1 MiB by default) whatever the
    // frame size.
    assert!(usage.peak < 4 * MIB, "peak {} bytes", usage.peak);
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

/// `run` calls `$down(n)` with n the input's length, which nests n more calls.
const RECURSE_INPUT_LEN: &str = r#"(module
    (import "pluginhost" "input_len" (func $len (result i32)))
    (memory (export "memory") 1)
    (func $down (param $n i32)
        (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
    (func (export "run") (result i32) (call $down (call $len)) (i32.const 0)))"#;

/// Recursion whose frames hold 1,000 `i64` locals each (8,000 bytes of value stack per call).
fn recursion_with_1000_locals() -> Vec<u8> {
    wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func $down (local {}) (call $down))
            (func (export "run") (result i32) (call $down) (i32.const 0))
            {OK_ENTRY})"#,
        "i64 ".repeat(1_000)
    ))
}

#[test]
fn value_stack_bytes_caps_the_value_stack() {
    // Under the device limits the value stack stops at 32 KiB: 4 frames of these, far fewer than
    // `max_recursion_depth`; set to 256 KiB, at 32 frames. Under the default 1 MiB the same
    // module takes more than a MiB.
    for (limits, bound) in [
        (
            Limits::EMBEDDED.with_max_locals_per_function(1_000),
            256 * KIB,
        ),
        (Limits::DEFAULT.with_value_stack_bytes(256 * KIB), MIB),
    ] {
        let host = Arc::new(Host::new(HostConfig::default().with_limits(limits)));
        let plugin = host
            .load(&recursion_with_1000_locals(), Grant::none())
            .unwrap();
        let ((result, usage), mut plugin) = on_small_stack(&host, plugin, |host, plugin| {
            measure(|| host.invoke(plugin, "run", b""))
        });
        assert_stack_overflow(&result);
        let cap = limits.value_stack_bytes;
        assert!(
            usage.peak >= cap / 2 && usage.peak < bound,
            "value stack capped at {cap} bytes: peak {} bytes",
            usage.peak
        );
        assert_ok_entry_runs(&host, &mut plugin);
    }
    let host = Arc::new(Host::new(
        HostConfig::default().with_limits(Limits::DEFAULT.with_max_locals_per_function(1_000)),
    ));
    let plugin = host
        .load(&recursion_with_1000_locals(), Grant::none())
        .unwrap();
    let ((result, usage), _) = on_small_stack(&host, plugin, |host, plugin| {
        measure(|| host.invoke(plugin, "run", b""))
    });
    assert_stack_overflow(&result);
    assert!(usage.peak > MIB, "peak {} bytes", usage.peak);
    // Below wasmi's 1,000-byte starting size, down to nothing: still a trap, never a panic.
    for bytes in [0, 16, 999] {
        let limits = Limits::DEFAULT.with_value_stack_bytes(bytes);
        let host = Host::new(HostConfig::default().with_limits(limits));
        let mut plugin = host.load(&wasm(RECURSE_INPUT_LEN), Grant::none()).unwrap();
        let result = host.invoke(&mut plugin, "run", &[0; 200]);
        assert_stack_overflow(&result);
    }
}

#[test]
fn a_value_stack_not_kept_is_released_after_each_invocation() {
    // 100 frames of a few slots each.
    let fixture = wasm(RECURSE_INPUT_LEN);
    let input = vec![0; 100];
    for keep in [true, false] {
        let limits = Limits::DEFAULT.with_keep_value_stack(keep);
        let host = Arc::new(Host::new(HostConfig::default().with_limits(limits)));
        let plugin = host.load(&fixture, Grant::none()).unwrap();
        let input = input.clone();
        let ((first, second), _) = on_small_stack(&host, plugin, move |host, plugin| {
            let first = measure(|| host.call(plugin, "run", &input).unwrap());
            let second = measure(|| host.call(plugin, "run", &input).unwrap());
            (first.1, second.1)
        });
        if keep {
            assert!(first.retained >= 1_000, "kept: {first:?}");
            assert_eq!((second.peak, second.retained), (0, 0), "kept: {second:?}");
        } else {
            // What the first invocation keeps is one-time host state, not a stack.
            assert!(first.retained < 1_000, "released: {first:?}");
            assert!(second.peak >= 1_000, "released: {second:?}");
            assert_eq!(second.retained, 0, "released: {second:?}");
        }
    }
}

#[test]
fn recursion_limit_is_max_recursion_depth_frames() {
    let host = Arc::new(Host::new(HostConfig::default()));
    let depth = host.config().limits.max_recursion_depth;
    // `run` is one frame and `$down(n)` nests n + 1 more.
    let fixture = wasm(RECURSE_INPUT_LEN);
    let plugin = host.load(&fixture, Grant::none()).unwrap();
    let ((at_limit, over_limit), _) = on_small_stack(&host, plugin, move |host, plugin| {
        let at_limit = host.invoke(plugin, "run", &vec![0; depth - 2]);
        let over_limit = host.invoke(plugin, "run", &vec![0; depth - 1]);
        (at_limit, over_limit)
    });
    assert_eq!(at_limit, Ok(Vec::new()), "{depth} frames are allowed");
    assert!(
        matches!(
            over_limit,
            Err(InvokeError::Trap {
                trap: Trap::StackOverflow,
                ..
            })
        ),
        "{} frames trap: {over_limit:?}",
        depth + 1
    );
}

// ---------------------------------------------------------------------------------------------
// 13. Thousands of locals, called in a loop
// ---------------------------------------------------------------------------------------------

fn many_locals_loop(locals: usize, calls: Option<u32>) -> Vec<u8> {
    let stop = match calls {
        Some(n) => format!("(br_if $done (i32.ge_u (local.get $i) (i32.const {n})))"),
        None => String::new(),
    };
    wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func $wide (local {locals}))
            (func (export "run") (result i32)
                (local $i i32)
                (block $done (loop $next
                    {stop}
                    (call $wide)
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $next)))
                (i32.const 0))
            {OK_ENTRY})"#,
        locals = "i64 ".repeat(locals)
    ))
}

#[test]
fn thousands_of_locals_in_a_loop_are_stopped_by_fuel() {
    let budget = 50_000;
    // The default cap refuses 20,000 locals at load (see the next test); loosen it to show that
    // fuel alone still stops the loop.
    let host = Host::new(
        HostConfig::default()
            .with_fuel(budget)
            .with_limits(Limits::DEFAULT.with_max_locals_per_function(20_000)),
    );
    let mut plugin = host
        .load(&many_locals_loop(20_000, None), Grant::none())
        .unwrap();
    let (result, usage) = measure(|| host.invoke(&mut plugin, "run", b""));
    match result {
        Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used <= budget),
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    // 20,000 locals are 160 KB of value stack, reused call after call.
    assert!(usage.peak < 2 * MIB, "peak {} bytes", usage.peak);
    let again = host.invoke(&mut plugin, "run", b"");
    assert!(
        matches!(again, Err(InvokeError::FuelExhausted { .. })),
        "{again:?}"
    );
    assert_ok_entry_runs(&host, &mut plugin);
    assert_eq!(plugin.stats().fuel_exhausted, 2);
    assert_benign_runs(&host);
}

#[test]
fn functions_with_more_locals_than_the_cap_are_refused_at_load() {
    // wasmi charges no fuel for zeroing a callee's locals, so wide frames are capped at load
    // instead (Limits::max_locals_per_function) to keep fuel a fair measure of work.
    let host = Host::new(HostConfig::default());
    let cap = host.config().limits.max_locals_per_function;
    let error = host
        .load(
            &many_locals_loop(cap as usize + 1, Some(1000)),
            Grant::none(),
        )
        .expect_err("over the locals cap");
    assert!(
        matches!(error, LoadError::ModuleLimit(ref m) if m.contains("locals")),
        "{error:?}"
    );
    let mut plugin = host
        .load(&many_locals_loop(cap as usize, Some(1000)), Grant::none())
        .expect("at the cap");
    host.call(&mut plugin, "run", b"").expect("runs");
    assert_benign_runs(&host);
}

// ---------------------------------------------------------------------------------------------
// 14. A huge module, or a million tiny functions
// ---------------------------------------------------------------------------------------------

#[test]
fn a_million_tiny_functions_are_refused_by_strict_module_limits() {
    let host = Host::new(HostConfig::default());
    let module = many_functions_module(1_000_000, 0);
    assert!(
        module.len() < host.config().limits.module_bytes,
        "small enough that only the strict limits can refuse it"
    );
    let (result, usage) = measure(|| host.load(&module, Grant::none()));
    let error = result.expect_err("a million functions must not load");
    assert!(matches!(error, LoadError::ModuleLimit(_)), "{error:?}");
    assert_eq!(error.kind(), "limit");
    // Refused from the section headers: nothing proportional to the 4 MB module is allocated.
    assert!(usage.peak < 64 * KIB, "peak {} bytes", usage.peak);
    assert_benign_runs(&host);
}

#[test]
fn the_strict_function_count_limit_is_10_000() {
    let host = Host::new(HostConfig::default());
    // Bodies of 40 `nop`s keep the average body size above the strict limits' minimum.
    let over = many_functions_module(10_001, 40);
    let (result, usage) = measure(|| host.load(&over, Grant::none()));
    let error = result.expect_err("10,001 functions must not load");
    assert!(matches!(error, LoadError::ModuleLimit(_)), "{error:?}");
    assert!(usage.peak < 64 * KIB, "peak {} bytes", usage.peak);
    host.load(&many_functions_module(10_000, 40), Grant::none())
        .expect("10,000 functions load");
    // Tiny bodies are refused even at a legal count (average body size under 40 bytes).
    let tiny = host.load(&many_functions_module(1_000, 0), Grant::none());
    assert!(matches!(tiny, Err(LoadError::ModuleLimit(_))), "{tiny:?}");
}

#[test]
fn a_module_over_module_bytes_is_refused_before_parsing() {
    let host = Host::new(HostConfig::default());
    let limit = host.config().limits.module_bytes;
    let mut huge = b"\0asm\x01\0\0\0".to_vec();
    huge.resize(limit + 1, 0xff); // not even valid past the header
    let (result, usage) = measure(|| host.load(&huge, Grant::none()));
    assert_eq!(
        result.unwrap_err(),
        LoadError::ModuleTooLarge {
            size: limit + 1,
            limit
        }
    );
    assert!(usage.peak < 4 * KIB, "peak {} bytes", usage.peak);
    assert_benign_runs(&host);
}

// ---------------------------------------------------------------------------------------------
// 15. A start function that loops forever
// ---------------------------------------------------------------------------------------------

#[test]
fn a_start_function_looping_forever_is_stopped_by_fuel() {
    let budget = 1_000_000;
    let host = Host::new(HostConfig::default().with_fuel(budget));
    let hostile = wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func $forever (loop $again (br $again)))
            (start $forever)
            {OK_ENTRY})"#
    ));
    let (result, usage) = measure(|| host.load(&hostile, Grant::none()));
    match result {
        Err(LoadError::StartFuelExhausted { fuel_used }) => {
            assert!(fuel_used <= budget, "{fuel_used} > {budget}");
            assert!(fuel_used > budget - 10, "stopped early at {fuel_used}");
        }
        other => panic!("expected StartFuelExhausted, got {other:?}"),
    }
    assert_eq!(
        host.load(&hostile, Grant::none()).unwrap_err().kind(),
        "fuel_exhausted"
    );
    assert!(usage.peak < MIB, "peak {} bytes", usage.peak);
    assert_benign_runs(&host);
}

// ---------------------------------------------------------------------------------------------
// 16. Network handles: opened without closing, forged, closed
// ---------------------------------------------------------------------------------------------

struct Echo;

impl MemoryService for Echo {
    fn respond(&self, request: &[u8]) -> Vec<u8> {
        request.to_vec()
    }
}

/// Dials `svc.test:80` 20 times without closing, then probes forged and closed handles.
/// Writes 32 words: the 20 dial results, then
/// `send(12345)`, `recv(999)`, `close(-1)`, `send(input word)`, `close(h0)`, `close(h0)`,
/// `send(h0)`, `recv(h0)`, `dial()` (into the freed slot), `send(h1)`, `dial()`, `close(h_new)`.
const HANDLES: &str = r#"(module
    (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
    (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
    (import "pluginhost" "net_recv" (func $recv (param i32 i32 i32) (result i32)))
    (import "pluginhost" "net_close" (func $close (param i32) (result i32)))
    (import "pluginhost" "input_read" (func $input (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "svc.test")
    (func $dial_svc (result i32) (call $dial (i32.const 0) (i32.const 8) (i32.const 80)))
    (func $put (param $slot i32) (param $value i32)
        (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $slot) (i32.const 2)))
                   (local.get $value)))
    (func $handle (param $slot i32) (result i32)
        (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $slot) (i32.const 2)))))
    (func (export "run") (result i32)
        (local $i i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const 20)))
            (call $put (local.get $i) (call $dial_svc))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        ;; the input is a forged handle, or one from an earlier invocation
        (i32.store (i32.const 512) (i32.const 0))
        (drop (call $input (i32.const 512) (i32.const 4)))
        (call $put (i32.const 20) (call $send (i32.const 12345) (i32.const 0) (i32.const 1)))
        (call $put (i32.const 21) (call $recv (i32.const 999) (i32.const 16) (i32.const 8)))
        (call $put (i32.const 22) (call $close (i32.const -1)))
        (call $put (i32.const 23) (call $send (i32.load (i32.const 512)) (i32.const 0) (i32.const 1)))
        (call $put (i32.const 24) (call $close (call $handle (i32.const 0))))
        (call $put (i32.const 25) (call $close (call $handle (i32.const 0))))
        (call $put (i32.const 26) (call $send (call $handle (i32.const 0)) (i32.const 0) (i32.const 1)))
        (call $put (i32.const 27) (call $recv (call $handle (i32.const 0)) (i32.const 16) (i32.const 8)))
        (call $put (i32.const 28) (call $dial_svc))
        (call $put (i32.const 29) (call $send (call $handle (i32.const 1)) (i32.const 0) (i32.const 3)))
        (call $put (i32.const 30) (call $dial_svc))
        (call $put (i32.const 31) (call $close (call $handle (i32.const 28))))
        (drop (call $out (i32.const 1024) (i32.const 128)))
        (i32.const 0))
    (func (export "ok") (result i32) (i32.const 0)))"#;

fn network_host(limits: Limits) -> (Host, Arc<MemoryNetwork>) {
    let network = Arc::new(MemoryNetwork::new().with_service("svc.test:80", Arc::new(Echo)));
    let config = HostConfig::default().with_limits(limits);
    (host_with_network(config, network.clone()), network)
}

#[test]
fn network_handles_are_capped_and_forged_or_closed_ones_are_bad_handle() {
    for net_handles in [Limits::DEFAULT.net_handles, Limits::EMBEDDED.net_handles] {
        let limits = Limits::DEFAULT.with_net_handles(net_handles);
        let (host, network) = network_host(limits);
        let grant = Grant::none().with_host("svc.test:80").unwrap();
        let mut plugin = host.load(&wasm(HANDLES), grant).unwrap();

        // Slot 0 with generation 5: never handed out.
        let forged = (5i32 << 8).to_le_bytes();
        let (output, usage) = measure(|| host.invoke(&mut plugin, "run", &forged));
        let w = words(&output.unwrap());
        let (opened, refused) = w[..20].split_at(net_handles);
        assert!(opened.iter().all(|h| *h >= 0), "{opened:?}");
        let mut distinct = opened.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            net_handles,
            "handles are distinct: {opened:?}"
        );
        let limit = ErrorCode::Limit.code();
        let bad = ErrorCode::BadHandle.code();
        assert!(refused.iter().all(|r| *r == limit), "{refused:?}");
        assert_eq!(&w[20..24], [bad, bad, bad, bad], "forged handles");
        assert_eq!(w[24], 0, "closing an open handle");
        assert_eq!(&w[25..28], [bad, bad, bad], "a closed handle");
        assert!(
            w[28] >= 0 && w[28] != w[0],
            "a freed slot is reused with a new handle"
        );
        assert_eq!(w[29], 3, "other handles still work");
        assert_eq!(w[30], limit, "full again");
        assert_eq!(w[31], 0);
        // Refused dials never reach the back-end.
        assert_eq!(network.dial_count(), net_handles + 1);
        assert!(usage.peak < MIB, "peak {} bytes", usage.peak);

        // Handles are per invocation: the next one starts with every slot free, and a handle
        // from this one is stale.
        let stale = w[1].to_le_bytes();
        let w = words(&host.invoke(&mut plugin, "run", &stale).unwrap());
        assert!(w[..net_handles].iter().all(|h| *h >= 0), "{w:?}");
        assert_eq!(w[23], bad, "a handle from an earlier invocation");
        assert_ok_entry_runs(&host, &mut plugin);
        assert_benign_runs(&host);
    }
}

// ---------------------------------------------------------------------------------------------
// 17. Output and log without end
// ---------------------------------------------------------------------------------------------

/// `run` emits 1,000-byte chunks until the host returns a negative code, then evaluates
/// `on_error` (locals: `$r` the code, `$ok` the successes); given any input it ignores the codes
/// and loops forever. `once` emits one chunk as long as its input.
fn endless(import: &str, call: &str, on_error: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module
            {import}
            (import "pluginhost" "input_len" (func $len (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32)
                (local $r i32) (local $ok i32)
                (loop $again
                    (local.set $r {call})
                    (if (call $len) (then (br $again)))
                    (if (i32.ge_s (local.get $r) (i32.const 0))
                        (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))
                              (br $again))))
                {on_error})
            ;; one chunk of input_len bytes
            (func (export "once") (result i32) (local $n i32)
                (local.set $n (call $len))
                {once})
            {OK_ENTRY})"#,
        once = call.replace("(i32.const 1000)", "(local.get $n)"),
    ))
}

const OUTPUT_IMPORT: &str =
    r#"(import "pluginhost" "output_write" (func $emit_raw (param i32 i32) (result i32)))"#;
const OUTPUT_CALL: &str = "(call $emit_raw (i32.const 0) (i32.const 1000))";
const LOG_IMPORT: &str =
    r#"(import "pluginhost" "log" (func $emit_raw (param i32 i32 i32) (result i32)))"#;
const LOG_CALL: &str = "(call $emit_raw (i32.const 2) (i32.const 0) (i32.const 1000))";

#[test]
fn output_without_end_is_cut_off_with_limit() {
    let host = Host::new(HostConfig::default());
    let cap = host.config().limits.output_bytes;
    let mut plugin = host
        .load(
            &endless(OUTPUT_IMPORT, OUTPUT_CALL, "(local.get $r)"),
            Grant::none(),
        )
        .unwrap();
    let (completion, usage) = measure(|| host.call(&mut plugin, "run", b""));
    let completion = completion.unwrap();
    assert_eq!(completion.status, ErrorCode::Limit.code());
    assert_eq!(completion.output.len(), cap / 1000 * 1000);
    // The output buffer doubles as it grows, so it can reach twice the cap (plus the buffer it
    // replaces while reallocating); `output_buffer_capacity_stays_within_output_bytes` has the
    // tight bound.
    assert!(usage.peak < 3 * cap + MIB, "peak {} bytes", usage.peak);
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

#[test]
fn output_buffer_capacity_stays_within_output_bytes() {
    let host = Host::new(HostConfig::default());
    let cap = host.config().limits.output_bytes;
    let mut plugin = host
        .load(
            &endless(OUTPUT_IMPORT, OUTPUT_CALL, "(local.get $r)"),
            Grant::none(),
        )
        .unwrap();
    let completion = host.call(&mut plugin, "run", b"").unwrap();
    assert_eq!(completion.output.len(), cap / 1000 * 1000);
    assert!(
        completion.output.capacity() <= cap,
        "{} bytes of output held in a buffer of {} for a cap of {cap}",
        completion.output.len(),
        completion.output.capacity()
    );
}

#[test]
fn output_without_end_ignoring_limit_is_stopped_by_fuel() {
    let host = Host::new(HostConfig::default());
    let budget = host.config().fuel_per_invocation;
    let cap = host.config().limits.output_bytes;
    let mut plugin = host
        .load(
            &endless(OUTPUT_IMPORT, OUTPUT_CALL, "(local.get $r)"),
            Grant::none(),
        )
        .unwrap();
    let (result, usage) = measure(|| host.call(&mut plugin, "run", b"x"));
    match result {
        Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used <= budget),
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    assert!(usage.peak < 3 * cap + MIB, "peak {} bytes", usage.peak);
    assert!(
        usage.retained < 64 * KIB as isize,
        "the output was dropped: {usage:?}"
    );
    assert_ok_entry_runs(&host, &mut plugin);
    assert_eq!(plugin.stats().rebuilds, 1);
    assert_benign_runs(&host);
}

#[test]
fn log_without_end_is_cut_off_with_limit() {
    let host = Host::new(HostConfig::default());
    let limits = host.config().limits;
    // Returns the number of messages logged when the first refusal is LIMIT.
    let on_error = format!(
        "(if (result i32) (i32.eq (local.get $r) (i32.const {limit})) (then (local.get $ok)) (else (local.get $r)))",
        limit = ErrorCode::Limit.code()
    );
    let mut plugin = host
        .load(&endless(LOG_IMPORT, LOG_CALL, &on_error), Grant::none())
        .unwrap();
    let expected = i32::try_from(limits.log_bytes / 1000).unwrap();
    let (completion, usage) = measure(|| host.call(&mut plugin, "run", b""));
    assert_eq!(
        completion.unwrap().status,
        expected,
        "16 KiB of 1,000-byte messages"
    );
    assert!(
        usage.peak < 64 * KIB,
        "log lines are not buffered: peak {}",
        usage.peak
    );
    // The log budget is per invocation.
    assert_eq!(host.call(&mut plugin, "run", b"").unwrap().status, expected);

    // One message may be at most log_message_bytes long.
    let max = limits.log_message_bytes;
    let at = vec![b'a'; max];
    let over = vec![b'a'; max + 1];
    assert_eq!(host.call(&mut plugin, "once", &at).unwrap().status, 0);
    assert_eq!(
        host.call(&mut plugin, "once", &over).unwrap().status,
        ErrorCode::Limit.code()
    );
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

#[test]
fn log_without_end_ignoring_limit_is_stopped_by_fuel() {
    let host = Host::new(HostConfig::default());
    let budget = host.config().fuel_per_invocation;
    let mut plugin = host
        .load(
            &endless(LOG_IMPORT, LOG_CALL, "(local.get $r)"),
            Grant::none(),
        )
        .unwrap();
    let (result, usage) = measure(|| host.call(&mut plugin, "run", b"x"));
    match result {
        Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used <= budget),
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    assert!(usage.peak < 64 * KIB, "peak {} bytes", usage.peak);
    assert_ok_entry_runs(&host, &mut plugin);
    assert_benign_runs(&host);
}

// ---------------------------------------------------------------------------------------------
// Repeated faults
// ---------------------------------------------------------------------------------------------

#[test]
fn repeated_faults_and_dropped_calls_do_not_leak() {
    let host = Host::new(HostConfig::default());
    let trapping = wasm(&format!(
        r#"(module (memory (export "memory") 1) (table 10 funcref)
            (global $g (mut i32) (i32.const 0))
            (func (export "run") (result i32) (global.set $g (i32.const 1)) unreachable)
            {OK_ENTRY})"#
    ));
    let spinning = wasm(&format!(
        r#"(module (memory (export "memory") 1)
            (func (export "run") (result i32) (loop $again (br $again)) (i32.const 0))
            {OK_ENTRY})"#
    ));
    let mut trap = host.load(&trapping, Grant::none()).unwrap();
    let mut spin = host.load(&spinning, Grant::none()).unwrap();
    let cycle = |trap: &mut Plugin, spin: &mut Plugin| {
        let result = host.invoke(trap, "run", b"x");
        assert!(
            matches!(result, Err(InvokeError::Trap { .. })),
            "{result:?}"
        );
        let mut call = host.start(spin, "run", b"x").unwrap();
        assert_eq!(call.resume(10), Ok(pluginhost::Step::Paused));
    };
    // Warm up: wasmi caches a few stacks for reuse.
    for _ in 0..10 {
        cycle(&mut trap, &mut spin);
    }
    let ((), usage) = measure(|| {
        for _ in 0..1000 {
            cycle(&mut trap, &mut spin);
        }
    });
    // Each cycle discards and rebuilds two instances (a 64 KiB memory each).
    assert!(
        usage.retained < 4 * KIB as isize,
        "{usage:?} after 1,000 cycles"
    );
    assert!(usage.peak < 512 * KIB, "{usage:?}");
    assert_eq!(trap.stats().rebuilds, 1009);
    assert_eq!(spin.stats().rebuilds, 1009);
    assert_ok_entry_runs(&host, &mut trap);
    assert_eq!(host.stats().in_flight, 0);
    assert_benign_runs(&host);
}
