//! `process.exec` grants through the real `process_exec` host function and a
//! `MemoryProcessRunner`: prefix checks, the argument vector, the exit status and standard output.

#![cfg(feature = "cap-process")]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{Grant, Host, HostConfig, MemoryProcessRunner, Plugin};
use support::abi::*;
use support::checks::*;
use support::fixture::*;
use support::hosts::*;

/// Prints its arguments joined with `|` and exits with the number of arguments.
fn joiner(argv: &[&str]) -> (i32, Vec<u8>) {
    (argv.len() as i32 - 1, argv[1..].join("|").into_bytes())
}

fn host_with(runner: MemoryProcessRunner) -> (Host, Arc<MemoryProcessRunner>) {
    let runner = Arc::new(runner);
    let host = host_with_process(HostConfig::default(), runner.clone());
    (host, runner)
}

/// Runs each argument vector with a `dst_len`-byte output buffer (pre-filled with `#`); returns
/// the codes and each buffer's contents.
fn exec_all(
    host: &Host,
    grant: Grant,
    argvs: &[(&[&str], usize)],
) -> (Vec<i32>, Vec<Vec<u8>>, Plugin) {
    let mut fx = Fixture::new();
    let mut dsts = Vec::new();
    for (args, dst_len) in argvs {
        let a = fx.put(argv(args));
        let dst = fx.put(vec![b'#'; *dst_len]);
        fx.call("process_exec", &[a.ptr, a.len, dst.ptr, dst.len]);
        fx.emit(dst);
        dsts.push(*dst_len);
    }
    let (plugin, out) = fx.load_and_run(host, grant);
    let mut rest = out.emitted.as_slice();
    let mut buffers = Vec::new();
    for len in dsts {
        let (head, tail) = rest.split_at(len);
        buffers.push(head.to_vec());
        rest = tail;
    }
    (out.codes, buffers, plugin)
}

fn status_and(status: i32, stdout: &[u8]) -> Vec<u8> {
    let mut out = status.to_le_bytes().to_vec();
    out.extend_from_slice(stdout);
    out
}

#[test]
fn an_exact_program_prefix_admits_that_program_only() {
    let mut runner = MemoryProcessRunner::new();
    for program in [
        "/usr/bin/true",
        "/usr/bin/true2",
        "/usr/bin/tru",
        "/usr/bin/true.d",
        "/usr/bin",
        "/USR/BIN/TRUE",
        "/usr/bin/false",
    ] {
        runner = runner.with_program(program, joiner);
    }
    let (host, runner) = host_with(runner);
    let cases: &[(&str, i32)] = &[
        ("/usr/bin/true", 4),
        ("/usr/bin/true2", DENIED),
        ("/usr/bin/tru", DENIED),
        ("/usr/bin/true.d", DENIED),
        ("/usr/bin", DENIED),
        ("/USR/BIN/TRUE", DENIED),
        ("/usr/bin/false", DENIED),
        ("/usr/bin/true", 4),
    ];
    let argvs: Vec<(&[&str], usize)> = cases
        .iter()
        .map(|(p, _)| (std::slice::from_ref(p), 8))
        .collect();
    let (codes, _, plugin) = exec_all(&host, grant(&["process.exec=/usr/bin/true"]), &argvs);
    let expected: Vec<i32> = cases.iter().map(|c| c.1).collect();
    assert_eq!(codes, expected);
    assert_eq!(
        runner.runs(),
        [vec!["/usr/bin/true"], vec!["/usr/bin/true"]]
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (2, 6)]);
}

#[test]
fn a_directory_prefix_admits_programs_below_it_only() {
    let mut runner = MemoryProcessRunner::new();
    for program in [
        "/opt/tools/a",
        "/opt/tools/sub/b",
        "/opt/toolsx/a",
        "/opt/tool",
        "/opt/a",
    ] {
        runner = runner.with_program(program, joiner);
    }
    let (host, runner) = host_with(runner);
    let argvs: Vec<(&[&str], usize)> = vec![
        (&["/opt/tools/a"], 4),
        (&["/opt/tools/sub/b"], 4),
        (&["/opt/toolsx/a"], 4),
        (&["/opt/tool"], 4),
        (&["/opt/a"], 4),
        (&["/opt/tools/missing"], 4),
    ];
    let (codes, _, plugin) = exec_all(&host, grant(&["process.exec=/opt/tools"]), &argvs);
    assert_eq!(codes, [4, 4, DENIED, DENIED, DENIED, NOT_FOUND]);
    assert_eq!(
        runner.runs().len(),
        3,
        "the missing program reached the runner: it was admitted"
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (3, 3)]);
}

#[test]
fn the_argument_vector_is_passed_exactly() {
    let (host, runner) =
        host_with(MemoryProcessRunner::new().with_program("/usr/bin/true", joiner));
    let args: &[&str] = &[
        "/usr/bin/true",
        "a",
        "",
        "b c",
        "",
        "--x=\"y\"",
        "../etc/passwd",
        "\u{fc}",
        "$(id)",
    ];
    let trailing_empty: &[&str] = &["/usr/bin/true", "", ""];
    let (codes, buffers, _) = exec_all(
        &host,
        grant(&["process.exec=/usr/bin/true"]),
        &[(args, 64), (trailing_empty, 8)],
    );
    let joined = args[1..].join("|");
    assert_eq!(codes, [4 + joined.len() as i32, 4 + 1]);
    assert_eq!(
        &buffers[0][..4 + joined.len()],
        status_and(8, joined.as_bytes())
    );
    assert_eq!(buffers[1], status_and(2, b"|###"));
    let runs = runner.runs();
    assert_eq!(runs[0], args);
    assert_eq!(
        runs[1], trailing_empty,
        "empty arguments, even trailing ones, are kept"
    );
}

#[test]
fn status_and_stdout_round_trip() {
    let runner = MemoryProcessRunner::new()
        .with_program("/bin/hello", |_: &[&str]| (42, b"hello world".to_vec()))
        .with_program("/bin/killed", |_: &[&str]| (-1, Vec::new()))
        .with_program("/bin/min", |_: &[&str]| (i32::MIN, b"x".to_vec()));
    let (host, _) = host_with(runner);
    let (codes, buffers, _) = exec_all(
        &host,
        grant(&["process.exec=/bin"]),
        &[
            (&["/bin/hello"], 32),
            (&["/bin/killed"], 8),
            (&["/bin/min"], 8),
        ],
    );
    assert_eq!(codes, [15, 4, 5]);
    assert_eq!(buffers[0][..15], status_and(42, b"hello world")[..]);
    assert_eq!(
        &buffers[0][15..],
        &[b'#'; 17][..],
        "nothing past the output was touched"
    );
    assert_eq!(buffers[1], [0xff, 0xff, 0xff, 0xff, b'#', b'#', b'#', b'#']);
    assert_eq!(buffers[2], status_and(i32::MIN, b"x###"));
}

#[test]
fn output_is_truncated_to_the_buffer() {
    let runner = MemoryProcessRunner::new()
        .with_program("/bin/hello", |_: &[&str]| (3, b"hello world".to_vec()));
    let (host, runner) = host_with(runner);
    let hello: &[&str] = &["/bin/hello"];
    let (codes, buffers, _) = exec_all(
        &host,
        grant(&["process.exec=/bin/hello"]),
        &[(hello, 4), (hello, 9), (hello, 15), (hello, 16)],
    );
    assert_eq!(codes, [4, 9, 15, 15]);
    assert_eq!(buffers[0], status_and(3, b""));
    assert_eq!(buffers[1], status_and(3, b"hello"));
    assert_eq!(buffers[2], status_and(3, b"hello world"));
    assert_eq!(buffers[3], status_and(3, b"hello world#"));
    assert_eq!(
        runner.runs().len(),
        4,
        "a short buffer still runs the program"
    );
}
