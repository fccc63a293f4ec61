//! Filesystem grants through the real `fs_*` host functions (catalogue 21, 24, 25).

#![cfg(all(feature = "cap-fs", feature = "cap-process"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{Backends, Capability, Host, HostConfig, LoadError, MemoryProcessRunner};
use support::abi::*;
use support::backends::*;
use support::checks::*;
use support::fixture::*;
use support::hosts::*;
use support::wat::*;

/// A recording memory filesystem with `/data` (and a few decoys outside it).
fn seeded() -> (Host, Arc<RecordingFs>) {
    let fs = RecordingFs::new();
    for (path, data) in [
        ("/data/a", "in data"),
        ("/data2/x", "data2"),
        ("/DATA/x", "upper"),
        ("/etc/x", "etc"),
        ("/x/data", "x/data"),
        ("/d\u{e4}t\u{e4}/x", "umlaut"),
    ] {
        assert!(fs.inner.insert(path, data), "{path}");
    }
    let host = host_with_fs(HostConfig::default(), fs.clone());
    (host, fs)
}

/// Catalogue 21 and friends: `(path, code for a path outside fs.write=/data)`.
const HOSTILE_PATHS: &[(&str, i32)] = &[
    ("/data2/x", DENIED),
    ("/data/../etc/x", INVALID),
    ("//data/../x", INVALID),
    ("/data/./../x", INVALID),
    ("data/x", INVALID),
    ("/DATA/x", DENIED),
    ("/data2", DENIED),
    ("/dat", DENIED),
    ("/", DENIED),
    ("/x/data", DENIED),
    ("/d\u{e4}t\u{e4}/x", DENIED),
    ("/data\\x", DENIED), // a backslash is part of the name "data\x", not a separator
    ("./data/x", INVALID),
    ("../data/x", INVALID),
    ("/data/x/..", INVALID),
    ("\\data\\x", INVALID),
];

fn denied_count() -> u64 {
    HOSTILE_PATHS.iter().filter(|(_, c)| *c == DENIED).count() as u64
}

#[test]
fn catalogue_21_hostile_paths_cannot_be_written() {
    let (host, fs) = seeded();
    let before = fs.snapshot();
    let mut fx = Fixture::new();
    let body = fx.put("pwned");
    for (path, _) in HOSTILE_PATHS {
        let p = fx.put(path);
        fx.call("fs_write", &[p.ptr, p.len, body.ptr, body.len]);
    }
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    let expected: Vec<i32> = HOSTILE_PATHS.iter().map(|(_, c)| *c).collect();
    for ((path, _), (got, want)) in HOSTILE_PATHS.iter().zip(out.codes.iter().zip(&expected)) {
        assert_eq!(got, want, "fs_write {path:?}");
    }
    assert_eq!(out.codes, expected);
    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
    assert_eq!(fs.snapshot(), before);
    assert_counts(&plugin, [(0, 0), (0, denied_count()), (0, 0), (0, 0)]);
}

#[test]
fn catalogue_21_hostile_paths_cannot_be_read_or_sized() {
    let (host, fs) = seeded();
    let mut fx = Fixture::new();
    let buf = fx.reserve(16);
    for (path, _) in HOSTILE_PATHS {
        let p = fx.put(path);
        fx.call("fs_read", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_size", &[p.ptr, p.len]);
    }
    fx.emit(buf);
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    let expected: Vec<i32> = HOSTILE_PATHS.iter().flat_map(|(_, c)| [*c, *c]).collect();
    assert_eq!(out.codes, expected);
    assert_eq!(out.emitted, [0; 16], "nothing was copied");
    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
    assert_counts(&plugin, [(0, 2 * denied_count()), (0, 0), (0, 0), (0, 0)]);
}

#[test]
fn hostile_paths_cannot_be_renamed_from_or_to() {
    let (host, fs) = seeded();
    let before = fs.snapshot();
    let mut fx = Fixture::new();
    let inside = fx.put("/data/a");
    for (path, _) in HOSTILE_PATHS {
        let p = fx.put(path);
        fx.call("fs_rename", &[inside.ptr, inside.len, p.ptr, p.len])
            .call("fs_rename", &[p.ptr, p.len, inside.ptr, inside.len]);
    }
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    let expected: Vec<i32> = HOSTILE_PATHS.iter().flat_map(|(_, c)| [*c, *c]).collect();
    assert_eq!(out.codes, expected);
    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
    assert_eq!(fs.snapshot(), before);
}

#[test]
fn prefix_admits_paths_below_it_in_normal_form() {
    let (host, fs) = seeded();
    assert!(fs.inner.create_dir("/data/sub"));
    let mut fx = Fixture::new();
    let body = fx.put("ok");
    for path in [
        "/data/x",
        "/data//y/",
        "/data/./z",
        "/./data/w",
        "///data///v",
        "/data/sub/deep",
    ] {
        let p = fx.put(path);
        fx.call("fs_write", &[p.ptr, p.len, body.ptr, body.len]);
    }
    let missing_parent = fx.put("/data/nope/x");
    fx.call(
        "fs_write",
        &[missing_parent.ptr, missing_parent.len, body.ptr, body.len],
    );
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    assert_eq!(out.codes, [2, 2, 2, 2, 2, 2, NOT_FOUND]);
    // The back-end only ever sees normalised paths, and the prefix that admitted them.
    assert_eq!(
        fs.ops(),
        [
            "write /data/x (scope /data) 2",
            "write /data/y (scope /data) 2",
            "write /data/z (scope /data) 2",
            "write /data/w (scope /data) 2",
            "write /data/v (scope /data) 2",
            "write /data/sub/deep (scope /data) 2",
            "write /data/nope/x (scope /data) 2",
        ]
    );
    for path in [
        "/data/v",
        "/data/w",
        "/data/x",
        "/data/y",
        "/data/z",
        "/data/sub/deep",
    ] {
        assert_eq!(fs.inner.get(path).as_deref(), Some(&b"ok"[..]), "{path}");
    }
    assert_counts(&plugin, [(0, 0), (7, 0), (0, 0), (0, 0)]);
}

#[test]
fn the_longest_granted_prefix_is_the_scope() {
    let (host, fs) = seeded();
    assert!(fs.inner.create_dir("/data/sub"));
    let mut fx = Fixture::new();
    let body = fx.put("ok");
    let deep = fx.put("/data/sub/x");
    let shallow = fx.put("/data/x");
    fx.call("fs_write", &[deep.ptr, deep.len, body.ptr, body.len])
        .call("fs_write", &[shallow.ptr, shallow.len, body.ptr, body.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data", "fs.write=/data/sub"]));
    assert_eq!(out.codes, [2, 2]);
    assert_eq!(
        fs.ops(),
        [
            "write /data/sub/x (scope /data/sub) 2",
            "write /data/x (scope /data) 2"
        ]
    );
}

#[test]
fn the_prefix_itself_is_a_directory_and_cannot_be_written_as_a_file() {
    let (host, fs) = seeded();
    let before = fs.snapshot();
    let mut fx = Fixture::new();
    let body = fx.put("clobber");
    let data = fx.put("/data");
    let data_slash = fx.put("/data/");
    let a = fx.put("/data/a");
    fx.call("fs_write", &[data.ptr, data.len, body.ptr, body.len])
        .call(
            "fs_write",
            &[data_slash.ptr, data_slash.len, body.ptr, body.len],
        )
        .call("fs_rename", &[a.ptr, a.len, data.ptr, data.len])
        .call("fs_rename", &[data.ptr, data.len, a.ptr, a.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    // The grant admits "/data" (a prefix admits itself); the back-end refuses to treat the
    // directory as a file. Either way nothing may change.
    assert_eq!(out.codes, [IO, IO, IO, NOT_FOUND]);
    assert_eq!(fs.snapshot(), before);
}

// --- Catalogue 24: a read-only grant -------------------------------------------------------------

#[test]
fn a_read_only_grant_does_not_even_link_write_functions() {
    let host = Host::new(HostConfig::default());
    for (name, capability) in [
        ("fs_write", Capability::FsWrite),
        ("fs_rename", Capability::FsWrite),
    ] {
        let wat = format!(
            r#"(module {} (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
            import_line(name)
        );
        let e = host
            .load(&wasm(&wat), grant(&["fs.read=/data"]))
            .expect_err("not granted");
        assert_eq!(
            e,
            LoadError::NotGranted {
                capability,
                import: name
            },
            "{name}"
        );
    }
    for name in ["fs_read", "fs_size"] {
        let wat = format!(
            r#"(module {} (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
            import_line(name)
        );
        assert!(
            host.load(&wasm(&wat), grant(&["fs.read=/data"])).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn a_read_only_prefix_is_never_created_truncated_or_renamed() {
    let fs = RecordingFs::new();
    assert!(fs.inner.insert("/data/a", "keep"));
    assert!(fs.inner.insert("/other/y", "y"));
    let host = host_with_fs(HostConfig::default(), fs.clone());
    let mut fx = Fixture::new();
    let a = fx.put("/data/a");
    let new = fx.put("/data/new");
    let b = fx.put("/data/b");
    let data = fx.put("/data");
    let other_a = fx.put("/other/a");
    let other_y = fx.put("/other/y");
    let data_y = fx.put("/data/y");
    let other_z = fx.put("/other/z");
    let body = fx.put("ok");
    let empty = fx.reserve(0);
    let buf = fx.reserve(8);
    fx.call("fs_write", &[a.ptr, a.len, body.ptr, body.len]) // overwrite
        .call("fs_write", &[a.ptr, a.len, empty.ptr, 0]) // truncate
        .call("fs_write", &[new.ptr, new.len, body.ptr, body.len]) // create
        .call("fs_rename", &[a.ptr, a.len, b.ptr, b.len]) // rename within
        .call("fs_rename", &[a.ptr, a.len, other_a.ptr, other_a.len]) // move out
        .call(
            "fs_rename",
            &[other_y.ptr, other_y.len, data_y.ptr, data_y.len],
        ) // move in
        .call("fs_rename", &[other_y.ptr, other_y.len, a.ptr, a.len]) // replace
        .call("fs_write", &[data.ptr, data.len, body.ptr, body.len])
        .call("fs_write", &[other_z.ptr, other_z.len, body.ptr, body.len]) // writable: allowed
        .call("fs_read", &[a.ptr, a.len, buf.ptr, buf.len]) // readable: allowed
        .emit(buf);
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data", "fs.write=/other"]));
    assert_eq!(
        out.codes,
        [DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, 2, 4]
    );
    assert_eq!(out.emitted, b"keep\0\0\0\0");
    assert_counts(&plugin, [(1, 0), (1, 8), (0, 0), (0, 0)]);
    assert_eq!(
        fs.snapshot(),
        [
            ("/data/a".to_string(), b"keep".to_vec()),
            ("/other/y".to_string(), b"y".to_vec()),
            ("/other/z".to_string(), b"ok".to_vec()),
        ]
    );
}

#[test]
fn rename_across_prefixes_needs_both_sides_granted() {
    let fs = RecordingFs::new();
    assert!(fs.inner.insert("/data/a", "a"));
    assert!(fs.inner.insert("/data/b", "b"));
    assert!(fs.inner.create_dir("/out"));
    assert!(fs.inner.create_dir("/etc"));
    let host = host_with_fs(HostConfig::default(), fs.clone());
    let mut fx = Fixture::new();
    let a = fx.put("/data/a");
    let b = fx.put("/data/b");
    let c = fx.put("/data/c");
    let out_a = fx.put("/out/a");
    let etc_b = fx.put("/etc/b");
    let data2_b = fx.put("/data2/b");
    fx.call("fs_rename", &[a.ptr, a.len, out_a.ptr, out_a.len]) // both granted
        .call("fs_rename", &[b.ptr, b.len, etc_b.ptr, etc_b.len]) // to: not granted
        .call("fs_rename", &[b.ptr, b.len, data2_b.ptr, data2_b.len]) // to: a look-alike
        .call("fs_rename", &[out_a.ptr, out_a.len, c.ptr, c.len]); // back again
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.write=/data", "fs.write=/out"]));
    assert_eq!(out.codes, [0, DENIED, DENIED, 0]);
    assert_eq!(
        fs.ops(),
        [
            "rename /data/a (scope /data) -> /out/a (scope /out)",
            "rename /out/a (scope /out) -> /data/c (scope /data)",
        ]
    );
    assert_eq!(
        fs.snapshot(),
        [
            ("/data/b".to_string(), b"b".to_vec()),
            ("/data/c".to_string(), b"a".to_vec()),
        ]
    );
    assert_counts(&plugin, [(0, 0), (2, 2), (0, 0), (0, 0)]);
}

// --- Catalogue 25: no write-then-exec -------------------------------------------------------------

fn exec_outcome(
    specs: &[&str],
    programs: &[&str],
) -> (Vec<i32>, Vec<Vec<String>>, pluginhost::Plugin) {
    let mut runner = MemoryProcessRunner::new();
    for program in programs {
        runner = runner.with_program(program, |_argv: &[&str]| (0, b"ran".to_vec()));
    }
    let runner = Arc::new(runner);
    let fs = RecordingFs::new();
    let backends = Backends::unavailable()
        .with_process(runner.clone())
        .with_filesystem(fs);
    let host = Host::with_backends(HostConfig::default(), backends);
    let mut fx = Fixture::new();
    let dst = fx.reserve(16);
    for program in programs {
        let a = fx.put(argv(&[program]));
        fx.call("process_exec", &[a.ptr, a.len, dst.ptr, dst.len]);
    }
    let (plugin, out) = fx.load_and_run(&host, grant(specs));
    (out.codes, runner.runs(), plugin)
}

#[test]
fn catalogue_25_a_program_under_a_writable_prefix_is_never_run() {
    let (codes, runs, plugin) = exec_outcome(
        &["process.exec=/data/tool", "fs.write=/data"],
        &["/data/tool"],
    );
    assert_eq!(codes, [DENIED]);
    assert!(runs.is_empty());
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (0, 1)]);
}

#[test]
fn catalogue_25_writable_area_inside_an_exec_directory() {
    let (codes, runs, _) = exec_outcome(
        &["process.exec=/opt", "fs.write=/opt/plugin/out"],
        &["/opt/plugin/out/tool", "/opt/plugin/out", "/opt/bin/tool"],
    );
    assert_eq!(codes, [DENIED, DENIED, 7]);
    assert_eq!(runs, [vec!["/opt/bin/tool"]]);
}

#[test]
fn catalogue_25_a_program_above_a_writable_prefix_is_not_run() {
    // "/data/bin/tool" is an ancestor of the writable "/data/bin/tool/cache": if the plugin could
    // write there, "tool" is a directory it controls the contents of.
    let (codes, runs, _) = exec_outcome(
        &[
            "process.exec=/data/bin/tool",
            "fs.write=/data/bin/tool/cache",
        ],
        &["/data/bin/tool"],
    );
    assert_eq!(codes, [DENIED]);
    assert!(runs.is_empty());
}

#[test]
fn catalogue_25_write_anywhere_means_exec_nothing() {
    let runner = Arc::new(
        MemoryProcessRunner::new().with_program("/usr/bin/tool", |_: &[&str]| (0, Vec::new())),
    );
    let host = host_with_process(HostConfig::default(), runner.clone());
    let anywhere = grant(&["process.exec=/usr/bin/tool"])
        .dangerous_allow_any_path(Capability::FsWrite)
        .expect("grant");
    let mut fx = Fixture::new();
    let a = fx.put(argv(&["/usr/bin/tool"]));
    let dst = fx.reserve(8);
    fx.call("process_exec", &[a.ptr, a.len, dst.ptr, dst.len]);
    let (_, out) = fx.load_and_run(&host, anywhere);
    assert_eq!(out.codes, [DENIED]);
    assert!(runner.runs().is_empty());
}

#[test]
fn an_unrelated_writable_prefix_does_not_block_exec() {
    let (codes, runs, plugin) = exec_outcome(
        &[
            "process.exec=/usr/bin/tool",
            "fs.write=/data",
            "fs.write=/usr/bin/tools",
        ],
        &["/usr/bin/tool"],
    );
    assert_eq!(codes, [7]);
    assert_eq!(runs, [vec!["/usr/bin/tool"]]);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (1, 0)]);
}
