//! Catalogue 26-29: network grants against real loopback listeners through `TcpNetwork` (with a
//! counting resolver), and process grants through the real `CommandRunner`; 35: the blocking
//! time ends invocations blocked on a silent peer or a sleeping program.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pluginhost::{Grant, InvokeError, Plugin};

use crate::harness::{run_fixture, within_watchdog, Listener, ResolveCall, Sandbox, Setup};
use crate::support::abi::{argv, DENIED, INVALID, IO, NOT_FOUND};
use crate::support::checks::{assert_counts, denials};
use crate::support::fixture::{Arg, Fixture, Outcome};
use crate::support::hosts::grant;
use crate::support::measure::{measure, Usage};

/// Stands for "a handle (>= 0)" in an expected list of dial results.
const HANDLE: i32 = i32::MAX;

/// Dials every `(host, port)` in one invocation (handles are left to the host to close).
fn dial_all(sb: &Sandbox, grant: Grant, targets: &[(&[u8], i32, i32)]) -> (Plugin, Outcome, Usage) {
    let mut fx = Fixture::new();
    for (host, port, _) in targets {
        let h = fx.put(host);
        fx.call("net_dial", &[h.ptr, h.len, *port]);
    }
    run_fixture(sb, &fx, grant, b"")
}

/// Checks dial results against the expected codes ([`HANDLE`] for any handle).
fn assert_dials(targets: &[(&[u8], i32, i32)], codes: &[i32]) {
    assert_eq!(codes.len(), targets.len());
    for ((host, port, expected), code) in targets.iter().zip(codes) {
        let what = format!("{:?}:{port}", String::from_utf8_lossy(host));
        if *expected == HANDLE {
            assert!(*code >= 0, "{what}: expected a handle, got {code}");
        } else {
            assert_eq!(code, expected, "{what}");
        }
    }
}

fn count(targets: &[(&[u8], i32, i32)], code: i32) -> u64 {
    targets.iter().filter(|t| t.2 == code).count() as u64
}

#[test]
fn case_26_dial_hosts_matched_exactly() {
    let sb = Sandbox::new();
    let (gp, fp) = (i32::from(sb.granted.port()), i32::from(sb.forbidden.port()));
    // The resolver answers every name with 127.0.0.1, so any wrong admission would really
    // connect (to the granted listener, or on fp to the forbidden one).
    let targets: [(&[u8], i32, i32); 19] = [
        (b"ca.example.com.evil.net", gp, DENIED),
        (b"evilca.example.com", gp, DENIED),
        (b"ca.example.com", 22, DENIED),
        (b"ca.example.com", fp, DENIED),
        (b"ca.example.com\0.x", gp, INVALID),
        (b"ca.example.com\0", gp, INVALID),
        (b"a.ca.example.com", gp, DENIED),
        (b"example.com", gp, DENIED),
        (b"ca.example.com..", gp, INVALID),
        (b"ca.example.com:443", gp, INVALID),
        (b"ca.example.com/", gp, INVALID),
        (b"ca-example.com", gp, DENIED),
        (b"ca.example.com.", fp, DENIED),
        (b"svc.test", gp, DENIED), // a wildcard needs exactly one more label
        (b"a.b.svc.test", gp, DENIED), // ... not two
        (b"evilsvc.test", gp, DENIED), // ... at a label boundary
        (b"*.svc.test", gp, INVALID),
        (b"CA.Example.COM.", gp, HANDLE), // case-insensitive, one trailing dot
        (b"Api.SVC.test", gp, HANDLE),
    ];
    let grant = grant(&[
        &format!("net.dial=ca.example.com:{gp}"),
        &format!("net.dial=*.svc.test:{gp}"),
    ]);
    let (plugin, out, usage) = dial_all(&sb, grant, &targets);
    assert_dials(&targets, &out.codes);
    let denied = count(&targets, DENIED);
    assert_counts(&plugin, [(0, 0), (0, 0), (2, denied), (0, 0)]);
    assert_eq!(denials(&plugin), [("net_dial", denied)]);
    assert_eq!(plugin.stats().refused, count(&targets, INVALID));

    let port = sb.granted.port();
    let mut expect = sb.expect("case 26");
    expect.granted_connections = 2;
    // Only the admitted names were ever resolved, normalised.
    expect.resolutions = vec![
        ("ca.example.com".to_string(), port),
        ("api.svc.test".to_string(), port),
    ];
    let connections = sb.verify(usage, &expect, &[]);
    assert_eq!(connections, [Vec::<u8>::new(), Vec::new()]);
}

#[test]
fn case_27_ip_literals_parsed_strictly() {
    let sb = Sandbox::new();
    let (gp, fp) = (i32::from(sb.granted.port()), i32::from(sb.forbidden.port()));
    let targets: [(&[u8], i32, i32); 21] = [
        (b"2130706433", gp, INVALID),
        (b"0x7f000001", gp, INVALID),
        (b"0177.0.0.1", gp, INVALID),
        (b"017700000001", gp, INVALID),
        (b"127.1", gp, INVALID),
        (b"127.0.1", gp, INVALID),
        (b"127.0.0.01", gp, INVALID),
        (b"127.000.000.001", gp, INVALID),
        (b"0x7f.0.0.1", gp, INVALID),
        (b"127.0.0.1.", gp, INVALID),
        (b"127.0.0.1 ", gp, INVALID),
        (b"[::ffff:127.0.0.1]", gp, DENIED),
        (b"::ffff:127.0.0.1", gp, DENIED),
        (b"[::ffff:7f00:1]", gp, DENIED),
        (b"64:ff9b::7f00:1", gp, DENIED),
        (b"[::1]", gp, DENIED),
        (b"localhost", gp, DENIED),
        (b"127.0.0.2", gp, DENIED),
        (b"127.0.0.1", fp, DENIED),
        (b"[127.0.0.1]", gp, INVALID),
        (b"127.0.0.1", gp, HANDLE), // exactly the grant
    ];
    // A name grant does not admit the address it resolves to, nor the reverse.
    let by_name: [(&[u8], i32, i32); 3] = [
        (b"127.0.0.1", gp, DENIED),
        (b"[::1]", gp, DENIED),
        (b"LOCALHOST.", gp, HANDLE),
    ];
    let literal_grant = grant(&[&sb.granted_spec()]);
    let name_grant = grant(&[&format!("net.dial=localhost:{gp}")]);
    let ((a, b), usage) = measure(|| {
        (
            dial_all(&sb, literal_grant, &targets),
            dial_all(&sb, name_grant, &by_name),
        )
    });
    let ((pa, oa, _), (pb, ob, _)) = (a, b);
    assert_dials(&targets, &oa.codes);
    assert_dials(&by_name, &ob.codes);
    assert_counts(&pa, [(0, 0), (0, 0), (1, count(&targets, DENIED)), (0, 0)]);
    assert_eq!(pa.stats().refused, count(&targets, INVALID));
    assert_counts(&pb, [(0, 0), (0, 0), (1, 2), (0, 0)]);

    let mut expect = sb.expect("case 27");
    expect.granted_connections = 2;
    // IP literals never reach the resolver; the one name did, once.
    expect.resolutions = vec![("localhost".to_string(), sb.granted.port())];
    sb.verify(usage, &expect, &[]);
}

#[test]
fn case_28_resolve_once_connect_to_checked_address() {
    // A decoy on 127.0.0.2 at the granted listener's port: where a second resolution of
    // `rebind.containment.test` would lead.
    let rebinds = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&rebinds);
    let answer = Arc::new(move |call: &ResolveCall<'_>| {
        let at = |ip: [u8; 4]| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), call.port);
        match call.name {
            // A private address (refused by the policy), then loopback on the *forbidden*
            // listener's port: the host must keep the checked port.
            "svc.containment.test" => Ok(vec![
                at([10, 0, 0, 1]),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), call.forbidden.port()),
            ]),
            // Nothing the policy allows.
            "internal.containment.test" => Ok(vec![
                at([10, 1, 2, 3]),
                at([169, 254, 169, 254]),
                at([0, 0, 0, 0]),
            ]),
            // DNS rebinding: the first answer is the granted listener, every later one the
            // decoy.
            "rebind.containment.test" => Ok(vec![if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                at([127, 0, 0, 1])
            } else {
                at([127, 0, 0, 2])
            }]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such name")),
        }
    });
    let sb = Sandbox::with(Setup::default().answer(answer));
    let (gp, fp) = (sb.granted.port(), i32::from(sb.forbidden.port()));
    let decoy = Listener::bind(Ipv4Addr::new(127, 0, 0, 2), gp, b"decoy:pwned\n")
        .expect("bind 127.0.0.2 on the granted port (Linux routes 127/8 to loopback)");
    let gp = i32::from(gp);

    let mut fx = Fixture::new();
    let svc = fx.put("svc.containment.test");
    let internal = fx.put("internal.containment.test");
    let rebind = fx.put("rebind.containment.test");
    let missing = fx.put("missing.containment.test");
    for _ in 0..3 {
        let dial = fx.len();
        fx.call("net_dial", &[svc.ptr, svc.len, gp])
            .call_args("net_close", vec![crate::support::fixture::Arg::Ret(dial)]);
    }
    fx.call("net_dial", &[internal.ptr, internal.len, gp])
        .call("net_dial", &[rebind.ptr, rebind.len, gp])
        .call("net_dial", &[missing.ptr, missing.len, gp])
        .call("net_dial", &[svc.ptr, svc.len, fp]); // not granted: never resolved
    let names = [
        "svc.containment.test",
        "internal.containment.test",
        "rebind.containment.test",
        "missing.containment.test",
    ];
    let grant = names.iter().fold(Grant::none(), |g, n| {
        g.with_host(&format!("{n}:{gp}")).unwrap()
    });

    let (plugin, out, usage) = run_fixture(&sb, &fx, grant, b"");

    let c = &out.codes;
    assert!(c[0] >= 0 && c[2] >= 0 && c[4] >= 0 && c[7] >= 0, "{c:?}");
    assert_eq!(
        [c[1], c[3], c[5], c[6], c[8], c[9]],
        [0, 0, 0, DENIED, NOT_FOUND, DENIED],
        "{c:?}"
    );
    // Admitted: 3 + rebind + missing; denied: the policy's refusal and the ungranted port.
    assert_counts(&plugin, [(0, 0), (0, 0), (5, 2), (0, 0)]);
    assert_eq!(denials(&plugin), [("net_dial", 2)]);
    assert_eq!(plugin.stats().refused, 1);

    let port = sb.granted.port();
    let mut expect = sb.expect("case 28");
    // One resolution per dial, each of the checked name and port.
    expect.resolutions = [names[0], names[0], names[0], names[1], names[2], names[3]]
        .iter()
        .map(|n| (n.to_string(), port))
        .collect();
    // Every dial landed on the listener at the address its one resolution returned.
    expect.granted_connections = 4;
    sb.verify(usage, &expect, &[]);
    assert!(
        decoy.connections().is_empty(),
        "a rebinding answer was used"
    );
}

/// The first of `candidates` that exists.
fn program(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("none of {candidates:?} exists"))
        .to_string()
}

#[test]
fn case_29_exec_argv_only_no_shell_empty_env_deadline() {
    let deadline = Duration::from_millis(500);
    let sb = Sandbox::with(Setup::default().deadline(deadline));
    let echo = program(&["/bin/echo", "/usr/bin/echo"]);
    let env = program(&["/usr/bin/env", "/bin/env"]);
    let cat = program(&["/bin/cat", "/usr/bin/cat"]);
    let sleep = program(&["/bin/sleep", "/usr/bin/sleep"]);
    let sh = program(&["/bin/sh", "/usr/bin/sh"]);
    let marker = format!("{}/shell", sb.markers.display());
    // Shell syntax that would create a marker if anything interpreted it.
    let echo_args = [
        echo.as_str(),
        &format!("$(echo pwned > {marker})"),
        &format!("`echo pwned > {marker}`"),
        &format!("; echo pwned > {marker}"),
        &format!("| tee {marker}"),
        &format!("&& echo pwned > {marker}"),
        "",
        "*",
        "$HOME",
    ];
    let slashed = echo.replacen('/', "//", 2);
    let dotted = echo.replacen("/echo", "/./echo", 1);
    let mut fx = Fixture::new();
    let a_echo = fx.put(argv(&echo_args));
    let a_env = fx.put(argv(&[&env]));
    let a_cat = fx.put(argv(&[&cat]));
    let a_sleep = fx.put(argv(&[&sleep, "30"]));
    let a_slashed = fx.put(argv(&[&slashed, "x"]));
    let a_relative = fx.put(argv(&["echo", "x"]));
    let a_dotted = fx.put(argv(&[&dotted, "x"]));
    let a_dotdot = fx.put(argv(&[&format!("{echo}/../sh"), "-c", "true"]));
    let a_sh = fx.put(argv(&[&sh, "-c", &format!("echo pwned > {marker}")]));
    let a_ungranted = fx.put(argv(&[&sb.ungranted]));
    let out_echo = fx.reserve(512);
    let out_env = fx.reserve(256);
    let out_cat = fx.reserve(64);
    let small = fx.reserve(16);
    for (args, dst) in [
        (a_echo, out_echo),
        (a_env, out_env),
        (a_cat, out_cat),
        (a_sleep, small),
        (a_slashed, small),
        (a_relative, small),
        (a_dotted, small),
        (a_dotdot, small),
        (a_sh, small),
        (a_ungranted, small),
    ] {
        fx.call("process_exec", &[args.ptr, args.len, dst.ptr, dst.len]);
    }
    fx.emit(out_echo)
        .emit(out_env.prefix(8))
        .emit(out_cat.prefix(8));
    let grant = grant(&[
        &format!("process.exec={echo}"),
        &format!("process.exec={env}"),
        &format!("process.exec={cat}"),
        &format!("process.exec={sleep}"),
    ]);

    let started = Instant::now();
    let (plugin, out, usage) = run_fixture(&sb, &fx, grant, b"stdin must not reach the program");
    let elapsed = started.elapsed();

    let stdout = format!("{}\n", echo_args[1..].join(" "));
    assert_eq!(
        out.codes,
        [
            4 + stdout.len() as i32,
            4,
            4,
            IO,
            INVALID,
            INVALID,
            INVALID,
            INVALID,
            DENIED,
            DENIED
        ]
    );
    let (echo_out, rest) = out.emitted.split_at(512);
    assert_eq!(&echo_out[..4], 0i32.to_le_bytes(), "echo's exit status");
    assert_eq!(
        String::from_utf8_lossy(&echo_out[4..4 + stdout.len()]),
        stdout,
        "the arguments arrive verbatim: no shell, no expansion"
    );
    assert_eq!(
        rest, [0u8; 16],
        "env printed nothing (empty environment); cat read no stdin"
    );
    // The deadline stopped `sleep 30` (killed, reported as IO).
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (4, 2)]);
    assert_eq!(denials(&plugin), [("process_exec", 2)]);
    assert_eq!(plugin.stats().refused, 5);
    // No marker: verify fails on any file in markers/ but the tool's log.
    sb.verify(usage, &sb.expect("case 29"), &[&out.emitted]);
}

#[test]
fn case_35_blocking_time_ends_invocations_blocked_on_a_peer_or_a_program() {
    // The back-ends' own deadlines are generous (the harness's network: 5 s per read; the
    // runner: 10 s); the blocking time of 1 s is what ends these invocations, with the typed
    // timeout, their pool slots freed and their connections closed.
    let sb = Sandbox::with(Setup::default().blocking_time(Duration::from_secs(1)));
    let sleep = program(&["/bin/sleep", "/usr/bin/sleep"]);

    // The granted listener greets, then never sends again: the second receive waits on it.
    let mut fx = Fixture::new();
    let host_name = fx.put("127.0.0.1");
    let buf = fx.reserve(64);
    let recv = || vec![Arg::Ret(0), Arg::C(buf.ptr), Arg::C(buf.len)];
    fx.call(
        "net_dial",
        &[host_name.ptr, host_name.len, i32::from(sb.granted.port())],
    )
    .call_args("net_recv", recv())
    .call_args("net_recv", recv());
    // A program that sleeps for an hour.
    let mut sleeper = Fixture::new();
    let args = sleeper.put(argv(&[&sleep, "3600"]));
    let out = sleeper.reserve(16);
    sleeper.call("process_exec", &[args.ptr, args.len, out.ptr, out.len]);

    let sleep_grant = grant(&[&format!("process.exec={sleep}")]);
    let (host, standard) = (Arc::clone(&sb.host), sb.standard_grant());
    let (plugins, usage) = within_watchdog("case 35", move || {
        let mut results = Vec::new();
        for (fx, grant) in [(fx, standard), (sleeper, sleep_grant)] {
            let mut plugin = host.load(&fx.wasm(), grant).expect("load");
            let result = host.call(&mut plugin, "run", b"");
            results.push((plugin, result));
        }
        results
    });
    for (plugin, result) in &plugins {
        match result {
            Err(error @ InvokeError::TimedOut { fuel_used }) => {
                assert_eq!(error.kind(), "timeout");
                assert!(*fuel_used > 0);
            }
            other => panic!("expected the typed timeout, got {other:?}"),
        }
        assert_eq!(plugin.stats().timeouts, 1);
        assert!(
            !plugin.is_live(),
            "the instance is rebuilt like after a trap"
        );
    }
    // The dial and both receives (calls on an open connection count as allowed net.dial calls).
    assert_counts(&plugins[0].0, [(0, 0), (0, 0), (3, 0), (0, 0)]);
    assert_counts(&plugins[1].0, [(0, 0), (0, 0), (0, 0), (1, 0)]);

    let mut expect = sb.expect("case 35");
    expect.granted_connections = 1;
    // The connection was closed by the host at the timeout, having sent nothing.
    let received = sb.verify(usage, &expect, &[]);
    assert_eq!(received, [Vec::<u8>::new()]);
}
