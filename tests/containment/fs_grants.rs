//! Catalogue 21-25: filesystem grants on a real directory (`DirFilesystem`) with real outward
//! symlinks, and write-then-exec through the real `CommandRunner`; 33-34: hard links out of the
//! root, and FIFOs (also swapped in mid-call).

use std::fs;
use std::sync::Arc;

use pluginhost::{Capability, LoadError};

use crate::harness::{assert_no_secret, run_fixture, within_watchdog, Sandbox, NOTES, ZONE};
use crate::support::abi::{argv, DENIED, INVALID, IO};
use crate::support::checks::{assert_counts, denials};
use crate::support::fifo_race::{mkfifo, racing_plugin, RaceTally, Renamer};
use crate::support::fixture::Fixture;
use crate::support::hosts::grant;
use crate::support::measure::measure;
use crate::support::wat::wasm;

#[test]
fn case_21_hostile_path_spellings_refused() {
    let sb = Sandbox::new();
    // Every misspelling that parses names a real file or directory under the root, so a wrong
    // admission would really read, write or rename it.
    let hostile: [(&str, i32); 12] = [
        ("/data2/x", DENIED),
        ("/data/../etc/x", INVALID),
        ("//data/../x", INVALID),
        ("/data/./../x", INVALID),
        ("data/x", INVALID),
        ("/DATA/x", DENIED),
        ("/Data/x", DENIED),
        ("/./data2/x", DENIED),
        ("/data/x/../../etc/x", INVALID),
        ("/data\\..\\etc\\x", DENIED),
        ("/data%2f..%2fetc/x", DENIED),
        ("/etc/x", DENIED),
    ];
    let mut fx = Fixture::new();
    let notes = fx.put("/data/notes.txt");
    let moved = fx.put("/data/moved");
    let body = fx.put("pwned");
    let buf = fx.reserve(16);
    let mut expected = Vec::new();
    for (path, code) in hostile {
        let p = fx.put(path);
        fx.call("fs_write", &[p.ptr, p.len, body.ptr, body.len])
            .call("fs_read", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_size", &[p.ptr, p.len])
            .call("fs_rename", &[notes.ptr, notes.len, p.ptr, p.len])
            .call("fs_rename", &[p.ptr, p.len, moved.ptr, moved.len]);
        expected.extend([code; 5]);
    }
    // Controls: spellings that normalise into /data are admitted.
    let ok = fx.put("//data/./ok.txt/");
    let ok_again = fx.put("/data//ok.txt");
    fx.call("fs_write", &[ok.ptr, ok.len, body.ptr, 2])
        .call("fs_read", &[ok_again.ptr, ok_again.len, buf.ptr, buf.len])
        .emit(buf);
    expected.extend([2, 2]);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    assert_eq!(out.codes, expected);
    assert_eq!(&out.emitted[..2], b"pw");
    let denied = hostile.iter().filter(|(_, c)| *c == DENIED).count() as u64;
    let invalid = hostile.len() as u64 - denied;
    assert_counts(&plugin, [(1, 2 * denied), (1, 3 * denied), (0, 0), (0, 0)]);
    assert_eq!(
        denials(&plugin),
        [
            ("fs_write", denied),
            ("fs_read", denied),
            ("fs_size", denied),
            ("fs_rename", 2 * denied)
        ]
    );
    assert_eq!(plugin.stats().refused, 5 * invalid);
    assert_eq!(fs::read(sb.data.join("ok.txt")).unwrap(), b"pw");
    assert_eq!(fs::read(sb.data.join("notes.txt")).unwrap(), NOTES);

    let mut expect = sb.expect("case 21");
    expect.writable = vec![sb.data.join("ok.txt")];
    sb.verify(usage, &expect, &[&out.emitted]);
}

#[test]
fn case_22_symlink_out_of_prefix_refused() {
    let sb = Sandbox::new();
    let links = [
        "/data/keylink",                 // absolute, to the secret
        "/data/rel_keylink",             // relative, to the secret
        "/data/keysdir/device.key",      // through a directory link
        "/data/rel_keysdir/device.key",  // through a relative directory link
        "/data/zones_link/example.zone", // to a sibling prefix inside the root
    ];
    let mut fx = Fixture::new();
    let stolen = fx.put("/data/stolen");
    let body = fx.put("pwned");
    let buf = fx.reserve(128);
    let mut expected = Vec::new();
    for link in links {
        let p = fx.put(link);
        fx.call("fs_read", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_size", &[p.ptr, p.len])
            .call("fs_write", &[p.ptr, p.len, body.ptr, body.len]);
        expected.extend([DENIED; 3]);
        if link.matches('/').count() > 2 {
            // Moving the target (not the link) into the scope.
            fx.call("fs_rename", &[p.ptr, p.len, stolen.ptr, stolen.len]);
            expected.push(DENIED);
        }
    }
    let zone_link = fx.put("/zones/keylink");
    let notes = fx.put("/data/notes.txt");
    fx.call("fs_read", &[zone_link.ptr, zone_link.len, buf.ptr, buf.len])
        .call("fs_read", &[notes.ptr, notes.len, buf.ptr, buf.len])
        .emit(buf);
    expected.extend([DENIED, NOTES.len() as i32]);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    assert_eq!(out.codes, expected);
    assert_no_secret(&out.emitted);
    assert_eq!(&out.emitted[..NOTES.len()], NOTES);
    assert!(out.emitted[NOTES.len()..].iter().all(|b| *b == 0));
    // Admitted by the grant, refused by the back-end: counted as denials, not as allowed.
    assert_counts(&plugin, [(1, 11), (0, 8), (0, 0), (0, 0)]);
    assert_eq!(
        denials(&plugin),
        [
            ("fs_read", 6),
            ("fs_size", 5),
            ("fs_write", 5),
            ("fs_rename", 3)
        ]
    );
    sb.verify(usage, &sb.expect("case 22"), &[&out.emitted]);
}

#[test]
fn case_23_create_through_outward_symlink_refused() {
    let sb = Sandbox::new();
    let mut fx = Fixture::new();
    let body = fx.put("planted");
    let mut expected = Vec::new();
    for target in [
        "/data/keysdir/new.key",     // a new file in a directory outside
        "/data/rel_keysdir/new.key", // the same through a relative link
        "/data/dangling",            // a dangling link whose target does not exist yet
        "/data/keysdir/sub/new.key", // a new file below a directory outside
    ] {
        let p = fx.put(target);
        fx.call("fs_write", &[p.ptr, p.len, body.ptr, body.len]);
        expected.push(DENIED);
    }
    for (from, to) in [
        ("/data/notes.txt", "/data/keysdir/stolen"),
        ("/data/keysdir/device.key", "/data/got.key"),
        ("/data/keysdir/README", "/data/readme"),
    ] {
        let (f, t) = (fx.put(from), fx.put(to));
        fx.call("fs_rename", &[f.ptr, f.len, t.ptr, t.len]);
        expected.push(DENIED);
    }

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    assert_eq!(out.codes, expected);
    assert_counts(&plugin, [(0, 0), (0, 7), (0, 0), (0, 0)]);
    assert_eq!(denials(&plugin), [("fs_write", 4), ("fs_rename", 3)]);
    let keys = sb.outside.join("keys");
    for name in ["new.key", "planted.key", "stolen", "sub"] {
        assert!(!keys.join(name).exists(), "{name} appeared outside");
    }
    sb.verify(usage, &sb.expect("case 23"), &[]);
}

#[test]
fn case_24_read_only_grant_never_modifies() {
    let sb = Sandbox::new();
    let read_only = grant(&["fs.read=/zones"]);
    // (a) Under a read-only grant, the writing imports do not even link.
    let importing = |name: &str| {
        wasm(&format!(
            r#"(module
              (import "pluginhost" "{name}" (func $f (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "/zones/example.zone")
              (func $start (drop (call $f (i32.const 0) (i32.const 19) (i32.const 0) (i32.const 0))))
              (start $start)
              (func (export "run") (result i32) (i32.const 0)))"#
        ))
    };
    let (write, rename) = (importing("fs_write"), importing("fs_rename"));

    // (b) With fs.write elsewhere, nothing under the read-only prefix can be truncated, created,
    // renamed away or replaced, and no link from the writable prefix reaches it.
    let mut fx = Fixture::new();
    let zone = fx.put("/zones/example.zone");
    let new_zone = fx.put("/zones/new.zone");
    let zones = fx.put("/zones");
    let renamed = fx.put("/zones/renamed.zone");
    let stolen = fx.put("/data/stolen.zone");
    let notes = fx.put("/data/notes.txt");
    let via_link = fx.put("/data/zones_link/example.zone");
    let new_via_link = fx.put("/data/zones_link/new.zone");
    let key_link = fx.put("/zones/keylink");
    let body = fx.put("pwned");
    let buf = fx.reserve(128);
    fx.call("fs_write", &[zone.ptr, zone.len, body.ptr, 0]) // truncate
        .call(
            "fs_write",
            &[new_zone.ptr, new_zone.len, body.ptr, body.len],
        ) // create
        .call("fs_write", &[zones.ptr, zones.len, body.ptr, body.len])
        .call("fs_rename", &[zone.ptr, zone.len, stolen.ptr, stolen.len])
        .call("fs_rename", &[notes.ptr, notes.len, zone.ptr, zone.len]) // replace
        .call("fs_rename", &[zone.ptr, zone.len, renamed.ptr, renamed.len])
        .call("fs_write", &[via_link.ptr, via_link.len, body.ptr, 0])
        .call(
            "fs_write",
            &[new_via_link.ptr, new_via_link.len, body.ptr, body.len],
        )
        .call(
            "fs_rename",
            &[via_link.ptr, via_link.len, stolen.ptr, stolen.len],
        )
        .call("fs_read", &[zone.ptr, zone.len, buf.ptr, 0]) // a read never truncates
        .call("fs_size", &[zone.ptr, zone.len])
        .call("fs_read", &[key_link.ptr, key_link.len, buf.ptr, buf.len])
        .call("fs_read", &[zone.ptr, zone.len, buf.ptr, buf.len])
        .emit(buf);
    let mixed = grant(&["fs.read=/zones", "fs.write=/data"]);

    let ((write, rename, (plugin, out)), usage) = measure(|| {
        let write = sb.host.load(&write, read_only.clone());
        let rename = sb.host.load(&rename, read_only.clone());
        let ran = fx.load_and_run(&sb.host, mixed);
        (write, rename, ran)
    });
    for (import, result) in [("fs_write", write), ("fs_rename", rename)] {
        assert_eq!(
            result.unwrap_err(),
            LoadError::NotGranted {
                capability: Capability::FsWrite,
                import
            }
        );
    }
    let z = ZONE.len() as i32;
    assert_eq!(
        out.codes,
        [DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, z, z, DENIED, z]
    );
    assert_eq!(&out.emitted[..ZONE.len()], ZONE);
    assert_no_secret(&out.emitted);
    assert_counts(&plugin, [(3, 1), (0, 9), (0, 0), (0, 0)]);
    assert_eq!(
        denials(&plugin),
        [("fs_write", 5), ("fs_rename", 4), ("fs_read", 1)]
    );
    assert_eq!(fs::read(sb.zones.join("example.zone")).unwrap(), ZONE);
    sb.verify(usage, &sb.expect("case 24"), &[&out.emitted]);
}

#[test]
fn case_25_no_write_then_exec() {
    let sb = Sandbox::new();
    let script = format!(
        "#!/bin/sh\necho pwned > '{}/data-tool'\n",
        sb.markers.display()
    );

    // (a) When the exec path and the write prefix are in the same namespace, the grant itself
    // refuses a program under (or above) a writable prefix. Nothing exists at these host paths,
    // so DENIED (not NOT_FOUND) shows the runner was never asked.
    let mut a = Fixture::new();
    let under = a.put(argv(&["/data/bin/tool"]));
    let above = a.put(argv(&["/data"]));
    let dst = a.reserve(16);
    a.call("process_exec", &[under.ptr, under.len, dst.ptr, dst.len])
        .call("process_exec", &[above.ptr, above.len, dst.ptr, dst.len]);
    let grant_a = grant(&["fs.write=/data/bin", "process.exec=/data"]);

    // (b) The real write-then-exec: guest /data is host <root>/data, a namespace the grant's
    // check cannot compare with host program paths, so an embedder granting exec of the host
    // directory behind a writable prefix is protected by `CommandRunner::refuse_under(root)`.
    // The plugin overwrites an existing executable (its mode survives the truncate), writes a new
    // one, and tries to run both, and the same file through a symlink from outside the root.
    let mut b = Fixture::new();
    let tool_guest = b.put("/data/tool");
    let new_guest = b.put("/data/new-tool");
    let body = b.put(script.as_bytes());
    let run_tool = b.put(argv(&[&sb.data_tool]));
    let new_host = format!("{}/new-tool", sb.data.display());
    let run_new = b.put(argv(&[&new_host]));
    let run_alias = b.put(argv(&[&sb.alias]));
    let dst = b.reserve(64);
    b.call(
        "fs_write",
        &[tool_guest.ptr, tool_guest.len, body.ptr, body.len],
    )
    .call(
        "process_exec",
        &[run_tool.ptr, run_tool.len, dst.ptr, dst.len],
    )
    .call(
        "fs_write",
        &[new_guest.ptr, new_guest.len, body.ptr, body.len],
    )
    .call(
        "process_exec",
        &[run_new.ptr, run_new.len, dst.ptr, dst.len],
    )
    .call(
        "process_exec",
        &[run_alias.ptr, run_alias.len, dst.ptr, dst.len],
    )
    .emit(dst);
    let grant_b = grant(&[
        "fs.write=/data",
        &format!("process.exec={}", sb.data.display()),
        &format!("process.exec={}", sb.alias),
    ]);

    let (((pa, oa), (pb, ob)), usage) = measure(|| {
        (
            a.load_and_run(&sb.host, grant_a),
            b.load_and_run(&sb.host, grant_b),
        )
    });
    assert_eq!(oa.codes, [DENIED, DENIED]);
    assert_counts(&pa, [(0, 0), (0, 0), (0, 0), (0, 2)]);
    assert_eq!(denials(&pa), [("process_exec", 2)]);

    let len = script.len() as i32;
    assert_eq!(ob.codes, [len, DENIED, len, DENIED, DENIED]);
    assert_eq!(ob.emitted, [0; 64], "nothing ran, nothing was written back");
    // Admitted by the grant, refused by the runner: denials, not allowed calls.
    assert_counts(&pb, [(0, 0), (2, 0), (0, 0), (0, 3)]);
    assert_eq!(denials(&pb), [("process_exec", 3)]);
    // The writes themselves were legitimate and happened.
    assert_eq!(fs::read(sb.data.join("tool")).unwrap(), script.as_bytes());
    assert_eq!(
        fs::read(sb.data.join("new-tool")).unwrap(),
        script.as_bytes()
    );

    let mut expect = sb.expect("case 25");
    expect.writable = vec![sb.data.join("tool"), sb.data.join("new-tool")];
    sb.verify(usage, &expect, &[&ob.emitted]);
}

/// Catalogue 22 through a scope instead of a path: a symlink must never lead outside the
/// admitting prefix (docs/abi.md, "Paths"). `DirFilesystem::in_scope` opens the *scope*
/// directory with `root.open_dir(scope)`, which follows symlinks as long as they stay inside the
/// root; only the path below the scope is resolved beneath the scope. A plugin whose grant has
/// a prefix nested inside one of its `fs.write` prefixes can move a pre-existing symlink (here
/// the operator's `/data/zones_link -> ../zones`) onto that nested prefix with `fs_rename`
/// (legitimate: it only moves a link inside `/data`), and from then on the nested prefix *is*
/// `/zones`:
///
/// * with `fs.read=/data/in`, `fs_read /data/in/example.zone` returns `/zones/example.zone`,
///   which no prefix of the grant admits (observed: 63 bytes of the zone file);
/// * with `fs.write=/data/out/inner`, renaming the link to `/data/out` makes
///   `fs_write /data/out/inner/records` truncate `/zones/inner/records`.
///
/// The reach is bounded by the root (a link out of the root is still refused), but any other
/// plugin's files under the root are exposed, and a plugin that only *reads* a nested prefix
/// can be redirected by one that writes its parent.
///
/// Suggested fix, in `DirFilesystem::in_scope`: open the scope one component at a time without
/// following symlinks (cap-fs-ext's `OpenOptionsFollowExt::follow(FollowSymlinks::No)` with
/// `OpenOptionsMaybeDirExt::maybe_dir(true)`, or per component `symlink_metadata` refusing a
/// symlink, then `open_dir`, then comparing the opened directory's dev/ino with the checked
/// metadata so a concurrent swap is caught), returning `Denied` for a scope reached through a
/// symlink. A grant-level guard would also close the plugin-driven path: refuse (or warn about)
/// any path prefix lying strictly under an `fs.write` prefix of the same grant, as
/// `Grant::is_writable_area` already does for `process.exec`.
#[test]
fn case_22_symlink_renamed_onto_a_nested_prefix_is_not_followed() {
    let mut sb = Sandbox::new();
    fs::create_dir(sb.zones.join("inner")).unwrap();
    fs::write(sb.zones.join("inner/records"), b"inner records\n").unwrap();
    sb.rebaseline();
    let mut fx = Fixture::new();
    let link = fx.put("/data/zones_link");
    let inbox = fx.put("/data/in");
    let out = fx.put("/data/out");
    let read_via = fx.put("/data/in/example.zone");
    let write_via = fx.put("/data/out/inner/records");
    let body = fx.put("pwned");
    let buf = fx.reserve(80);
    fx.call("fs_rename", &[link.ptr, link.len, inbox.ptr, inbox.len])
        .call("fs_read", &[read_via.ptr, read_via.len, buf.ptr, buf.len])
        .call("fs_rename", &[inbox.ptr, inbox.len, out.ptr, out.len])
        .call(
            "fs_write",
            &[write_via.ptr, write_via.len, body.ptr, body.len],
        )
        .emit(buf);
    let grant = grant(&[
        "fs.write=/data",
        "fs.read=/data/in",
        "fs.write=/data/out/inner",
    ]);

    let (plugin, out, usage) = run_fixture(&sb, &fx, grant, b"");

    // Moving the link inside /data is allowed; following it from a scope is not.
    assert_eq!(
        out.codes,
        [0, DENIED, 0, DENIED],
        "zone file read: {:?}",
        String::from_utf8_lossy(&out.emitted)
    );
    assert!(
        out.emitted.iter().all(|b| *b == 0),
        "read /zones: {:?}",
        String::from_utf8_lossy(&out.emitted)
    );
    assert_eq!(
        fs::read(sb.zones.join("inner/records")).unwrap(),
        b"inner records\n"
    );
    assert_counts(&plugin, [(0, 1), (2, 1), (0, 0), (0, 0)]);
    let mut expect = sb.expect("case 22 (nested prefix)");
    expect.writable = vec![
        sb.data.join("zones_link"),
        sb.data.join("in"),
        sb.data.join("out"),
    ];
    sb.verify(usage, &expect, &[&out.emitted]);
}

#[test]
fn case_33_hard_link_out_of_the_root_refused() {
    // `data/hardkey` is a hard link to the secret outside the root (planted by the harness):
    // nothing about it says so. Reading, sizing, writing and moving it are refused, and so is
    // running a granted program that has a second name under the writable root.
    let mut sb = Sandbox::new();
    fs::hard_link(&sb.tool, sb.data.join("tool_link")).expect("hard link to the tool");
    sb.rebaseline();
    let mut fx = Fixture::new();
    let hardkey = fx.put("/data/hardkey");
    let moved = fx.put("/data/moved");
    let body = fx.put("pwned");
    let buf = fx.reserve(128);
    let tool = fx.put(argv(&[&sb.tool, "x"]));
    let out = fx.reserve(64);
    fx.call("fs_read", &[hardkey.ptr, hardkey.len, buf.ptr, buf.len])
        .call("fs_size", &[hardkey.ptr, hardkey.len])
        .call("fs_write", &[hardkey.ptr, hardkey.len, body.ptr, body.len])
        .call(
            "fs_rename",
            &[hardkey.ptr, hardkey.len, moved.ptr, moved.len],
        )
        .call("process_exec", &[tool.ptr, tool.len, out.ptr, out.len])
        .emit(buf)
        .emit(out);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    assert_eq!(out.codes, [DENIED; 5]);
    assert_no_secret(&out.emitted);
    assert!(out.emitted.iter().all(|b| *b == 0), "nothing was copied");
    // Admitted by the grant, refused by the back-ends: counted as denials.
    assert_counts(&plugin, [(0, 2), (0, 2), (0, 0), (0, 1)]);
    assert_eq!(
        denials(&plugin),
        [
            ("fs_read", 1),
            ("fs_size", 1),
            ("fs_write", 1),
            ("fs_rename", 1),
            ("process_exec", 1)
        ]
    );
    // `verify` checks the secret's content, that the tree (the link included) is unchanged and
    // that the tool never ran.
    sb.verify(usage, &sb.expect("case 33"), &[&out.emitted]);
}

#[test]
fn case_34_fifo_in_the_grant_never_blocks_a_call() {
    // A FIFO in the grant: opening it would wait for a peer forever. One lies there from the
    // start; another is swapped onto a file, over and over, while the plugin reads and writes
    // it. Every call returns (`IO` for the FIFO).
    let mut sb = Sandbox::new();
    mkfifo(&sb.data.join("fifo"));
    sb.rebaseline();
    let mut fx = Fixture::new();
    let fifo = fx.put("/data/fifo");
    let body = fx.put("pwned");
    let buf = fx.reserve(16);
    fx.call("fs_read", &[fifo.ptr, fifo.len, buf.ptr, buf.len])
        .call("fs_size", &[fifo.ptr, fifo.len])
        .call("fs_write", &[fifo.ptr, fifo.len, body.ptr, body.len]);
    let (host, grant) = (Arc::clone(&sb.host), sb.standard_grant());
    let ((plugin, out), usage) = within_watchdog("case 34", move || {
        let mut plugin = host.load(&fx.wasm(), grant).expect("load");
        let out = fx.run(&host, &mut plugin);
        (plugin, out)
    });
    assert_eq!(out.codes, [IO; 3]);
    assert_counts(&plugin, [(2, 0), (1, 0), (0, 0), (0, 0)]);

    let target = sb.data.join("race");
    let renamer = Renamer::start(&target);
    let (host, grant) = (Arc::clone(&sb.host), sb.standard_grant());
    let (tally, race_usage) = within_watchdog("case 34 race", move || {
        let mut plugin = host
            .load(&racing_plugin("/data/race"), grant)
            .expect("load");
        let mut tally = RaceTally::default();
        for _ in 0..2 {
            tally.add(&host.invoke(&mut plugin, "run", b"").expect("run"));
        }
        tally
    });
    assert!(renamer.stop() > 0);
    tally.assert_every_call_returned(2);

    let mut expect = sb.expect("case 34");
    expect.writable = ["race", "race.fifo", "race.file"]
        .iter()
        .map(|name| sb.data.join(name))
        .collect();
    sb.verify(usage, &expect, &[]);
    sb.verify(race_usage, &expect, &[]);
}
