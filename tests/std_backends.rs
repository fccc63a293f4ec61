//! The `std` back-ends through the real host and WAT plugins: `DirFilesystem` on a temporary
//! directory (catalogue 22, 23), `TcpNetwork` on a loopback listener, and `CommandRunner`
//! (catalogue 29).

#![cfg(all(
    feature = "std",
    feature = "cap-fs",
    feature = "cap-net",
    feature = "cap-process",
    unix
))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pluginhost::{
    CommandRunner, Completion, DirFilesystem, Grant, Host, HostConfig, Plugin, TcpNetwork,
};
use support::abi::*;
use support::checks::*;
use support::fifo_race::*;
use support::fixture::*;
use support::hosts::*;
use support::wat::*;

// --- DirFilesystem --------------------------------------------------------------------------------

/// ```text
/// <tmp>/outside/secret.txt          "secret"
/// <tmp>/root/                       guest "/"
/// <tmp>/root/other/file             "other"   (inside the root, outside the /data scope)
/// <tmp>/root/data/a.txt             "inside"
/// <tmp>/root/data/link      -> <tmp>/outside/secret.txt        (absolute, made before the run)
/// <tmp>/root/data/rel_link  -> ../../outside/secret.txt        (relative, out of the root)
/// <tmp>/root/data/dirlink   -> <tmp>/outside                   (a directory outside)
/// <tmp>/root/data/sib       -> ../other/file                   (a sibling of the scope)
/// <tmp>/root/data/dangling  -> <tmp>/outside/created           (does not exist yet)
/// ```
struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    let data = root.join("data");
    fs::create_dir_all(&data).expect("data");
    fs::create_dir_all(root.join("other")).expect("other");
    fs::create_dir_all(&outside).expect("outside");
    fs::write(outside.join("secret.txt"), "secret").expect("secret");
    fs::write(root.join("other/file"), "other").expect("other file");
    fs::write(data.join("a.txt"), "inside").expect("a.txt");
    symlink(outside.join("secret.txt"), data.join("link")).expect("link");
    symlink("../../outside/secret.txt", data.join("rel_link")).expect("rel_link");
    symlink(&outside, data.join("dirlink")).expect("dirlink");
    symlink("../other/file", data.join("sib")).expect("sib");
    symlink(outside.join("created"), data.join("dangling")).expect("dangling");
    Tree {
        _tmp: tmp,
        root,
        outside,
    }
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn dir_host(tree: &Tree) -> Host {
    let fs = DirFilesystem::open(&tree.root).expect("open root");
    host_with_fs(HostConfig::default(), Arc::new(fs))
}

#[test]
fn symlinks_out_of_the_scope_are_refused_and_nothing_outside_changes() {
    let tree = tree();
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let p = |fx: &mut Fixture, s: &str| fx.put(s);
    let a = p(&mut fx, "/data/a.txt");
    let link = p(&mut fx, "/data/link");
    let rel_link = p(&mut fx, "/data/rel_link");
    let dir_new = p(&mut fx, "/data/dirlink/new");
    let dangling = p(&mut fx, "/data/dangling");
    let sib = p(&mut fx, "/data/sib");
    let moved = p(&mut fx, "/data/dirlink/moved");
    let body = p(&mut fx, "pwned");
    let buf = fx.put("################");
    fx.call("fs_read", &[a.ptr, a.len, buf.ptr, 8]) // 0: allowed, 6 bytes
        .call("fs_read", &[link.ptr, link.len, buf.ptr + 8, 8]) // 1: catalogue 22
        .call("fs_size", &[link.ptr, link.len]) // 2
        .call("fs_write", &[link.ptr, link.len, body.ptr, body.len]) // 3: catalogue 22
        .call("fs_read", &[rel_link.ptr, rel_link.len, buf.ptr + 8, 8]) // 4
        .call(
            "fs_write",
            &[rel_link.ptr, rel_link.len, body.ptr, body.len],
        ) // 5
        .call("fs_write", &[dir_new.ptr, dir_new.len, body.ptr, body.len]) // 6: catalogue 23
        .call(
            "fs_write",
            &[dangling.ptr, dangling.len, body.ptr, body.len],
        ) // 7: catalogue 23
        .call("fs_read", &[sib.ptr, sib.len, buf.ptr + 8, 8]) // 8: a sibling scope
        .call("fs_write", &[sib.ptr, sib.len, body.ptr, body.len]) // 9
        .call("fs_rename", &[a.ptr, a.len, moved.ptr, moved.len]) // 10: rename out
        .emit(buf);
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data", "fs.write=/data"]));
    assert_eq!(
        out.codes,
        [6, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED]
    );
    assert_eq!(
        out.emitted, b"inside##########",
        "nothing of the secret was copied"
    );

    // Nothing outside the root changed or appeared; the sibling and the scope are intact.
    assert_eq!(listing(&tree.outside), ["secret.txt"]);
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret.txt")).expect("secret"),
        "secret"
    );
    assert_eq!(
        fs::read_to_string(tree.root.join("other/file")).expect("other"),
        "other"
    );
    assert_eq!(
        fs::read_to_string(tree.root.join("data/a.txt")).expect("a"),
        "inside"
    );
    assert_eq!(listing(&tree.root), ["data", "other"]);
    assert_eq!(
        listing(&tree.root.join("data")),
        ["a.txt", "dangling", "dirlink", "link", "rel_link", "sib"]
    );
    // The grant admitted every call; the back-end's refusals are counted as denials.
    assert_counts(&plugin, [(1, 4), (0, 6), (0, 0), (0, 0)]);
    assert_eq!(
        denials(&plugin),
        [
            ("fs_read", 3),
            ("fs_size", 1),
            ("fs_write", 5),
            ("fs_rename", 1)
        ]
    );
}

#[test]
fn dot_dot_and_the_scope_itself_are_refused_with_nothing_touched() {
    let tree = tree();
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let escape = fx.put("/data/../outside/x");
    let escape_root = fx.put("/data/../../outside/x");
    let data = fx.put("/data");
    let body = fx.put("pwned");
    fx.call("fs_write", &[escape.ptr, escape.len, body.ptr, body.len])
        .call(
            "fs_write",
            &[escape_root.ptr, escape_root.len, body.ptr, body.len],
        )
        .call("fs_write", &[data.ptr, data.len, body.ptr, body.len]);
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    // `..` never reaches the back-end; the scope itself is admitted (a prefix may name one file)
    // and the back-end refuses to write over a directory: IO, and nothing is touched.
    assert_eq!(out.codes, [INVALID, INVALID, IO]);
    assert_eq!(listing(&tree.outside), ["secret.txt"]);
    assert_eq!(listing(&tree.root), ["data", "other"]);
    assert!(tree.root.join("data").is_dir());
    assert_counts(&plugin, [(0, 0), (1, 0), (0, 0), (0, 0)]);
}

#[test]
fn ordinary_files_under_the_scope_work() {
    let tree = tree();
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let new = fx.put("/data/new.txt");
    let renamed = fx.put("/data/renamed.txt");
    let body = fx.put("written by the plugin");
    let buf = fx.reserve(32);
    fx.call("fs_write", &[new.ptr, new.len, body.ptr, body.len])
        .call("fs_rename", &[new.ptr, new.len, renamed.ptr, renamed.len])
        .call("fs_size", &[renamed.ptr, renamed.len])
        .call("fs_read", &[renamed.ptr, renamed.len, buf.ptr, 7])
        .call("fs_read", &[new.ptr, new.len, buf.ptr, 7])
        .emit(buf.prefix(7));
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data", "fs.write=/data"]));
    assert_eq!(out.codes, [21, 0, 21, 21, NOT_FOUND]);
    assert_eq!(out.emitted, b"written");
    assert_eq!(
        fs::read_to_string(tree.root.join("data/renamed.txt")).expect("renamed"),
        "written by the plugin"
    );
    assert!(!tree.root.join("data/new.txt").exists());
    assert_counts(&plugin, [(3, 0), (2, 0), (0, 0), (0, 0)]);
}

#[test]
fn a_scope_that_is_itself_a_symlink_out_of_the_root_is_refused() {
    let tree = tree();
    symlink(&tree.outside, tree.root.join("abs_scope")).expect("abs_scope");
    symlink("../outside", tree.root.join("rel_scope")).expect("rel_scope");
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let body = fx.put("pwned");
    let buf = fx.reserve(8);
    for scope in ["/abs_scope", "/rel_scope"] {
        let secret = fx.put(format!("{scope}/secret.txt"));
        let new = fx.put(format!("{scope}/new"));
        fx.call("fs_read", &[secret.ptr, secret.len, buf.ptr, buf.len])
            .call("fs_write", &[secret.ptr, secret.len, body.ptr, body.len])
            .call("fs_write", &[new.ptr, new.len, body.ptr, body.len]);
    }
    fx.emit(buf);
    let grant = grant(&[
        "fs.read=/abs_scope",
        "fs.write=/abs_scope",
        "fs.read=/rel_scope",
        "fs.write=/rel_scope",
    ]);
    let (_, out) = fx.load_and_run(&host, grant);
    assert_eq!(out.codes, [DENIED; 6]);
    assert_eq!(out.emitted, [0; 8]);
    assert_eq!(listing(&tree.outside), ["secret.txt"]);
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret.txt")).expect("secret"),
        "secret"
    );
}

#[test]
fn benign_symlinks_inside_the_scope_still_work() {
    // The control for the refusals above: the back-end refuses escapes, not symlinks.
    let tree = tree();
    symlink("a.txt", tree.root.join("data/alias")).expect("alias");
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let alias = fx.put("/data/alias");
    let buf = fx.reserve(8);
    fx.call("fs_read", &[alias.ptr, alias.len, buf.ptr, buf.len])
        .emit(buf);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    assert_eq!(out.codes, [6]);
    assert_eq!(out.emitted, b"inside\0\0");
}

#[test]
fn renaming_onto_an_outward_symlink_never_touches_its_target() {
    let tree = tree();
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let a = fx.put("/data/a.txt");
    let link = fx.put("/data/link");
    let dirlink = fx.put("/data/dirlink");
    fx.call("fs_rename", &[a.ptr, a.len, link.ptr, link.len])
        .call("fs_rename", &[link.ptr, link.len, dirlink.ptr, dirlink.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    // Replacing the link itself (rename does not follow it) or refusing are both safe; writing
    // through it is not.
    for code in &out.codes {
        assert!([0, DENIED, IO].contains(code), "{:?}", out.codes);
    }
    assert_eq!(listing(&tree.outside), ["secret.txt"]);
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret.txt")).expect("secret"),
        "secret"
    );
}

#[test]
fn a_hard_link_to_a_file_outside_is_refused_and_counted_as_a_denial() {
    let tree = tree();
    fs::hard_link(tree.outside.join("secret.txt"), tree.root.join("data/hard")).expect("hard link");
    let host = dir_host(&tree);
    let mut fx = Fixture::new();
    let hard = fx.put("/data/hard");
    let moved = fx.put("/data/moved");
    let body = fx.put("pwned");
    let buf = fx.reserve(16);
    fx.call("fs_read", &[hard.ptr, hard.len, buf.ptr, buf.len])
        .call("fs_size", &[hard.ptr, hard.len])
        .call("fs_write", &[hard.ptr, hard.len, body.ptr, body.len])
        .call("fs_rename", &[hard.ptr, hard.len, moved.ptr, moved.len])
        .emit(buf);
    let grant = || grant(&["fs.read=/data", "fs.write=/data"]);
    let (plugin, out) = fx.load_and_run(&host, grant());
    assert_eq!(out.codes, [DENIED; 4]);
    assert_eq!(out.emitted, [0; 16]);
    assert_counts(&plugin, [(0, 2), (0, 2), (0, 0), (0, 0)]);
    assert_eq!(
        denials(&plugin),
        [
            ("fs_read", 1),
            ("fs_size", 1),
            ("fs_write", 1),
            ("fs_rename", 1)
        ]
    );
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret.txt")).expect("secret"),
        "secret"
    );
    assert_eq!(
        listing(&tree.root.join("data")),
        ["a.txt", "dangling", "dirlink", "hard", "link", "rel_link", "sib"]
    );

    // The embedder's opt-in lets reads through (and only reads).
    let fs = DirFilesystem::open(&tree.root)
        .expect("open root")
        .dangerously_allow_reading_hard_linked_files();
    let host = host_with_fs(HostConfig::default(), Arc::new(fs));
    let (_, out) = fx.load_and_run(&host, grant());
    assert_eq!(out.codes, [6, 6, DENIED, DENIED]);
    assert_eq!(&out.emitted[..6], b"secret");
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret.txt")).expect("secret"),
        "secret"
    );
}

#[test]
fn a_fifo_renamed_onto_a_file_mid_call_never_blocks_a_read_or_write() {
    // Before the fix, `fs_read`/`fs_write` looked at the path and then opened it by path: a FIFO
    // renamed in between made the open wait for a peer that never comes, forever. Here a thread
    // keeps swapping a regular file and a FIFO at the target while a plugin reads and writes it
    // thousands of times: every call must come back (with a size, NOT_FOUND or IO).
    let tree = tree();
    let renamer = Renamer::start(&tree.root.join("data/target"));
    let host = dir_host(&tree);
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let grant = grant(&["fs.read=/data", "fs.write=/data"]);
        let mut plugin = host
            .load(&racing_plugin("/data/target"), grant)
            .expect("load");
        let mut tally = RaceTally::default();
        for _ in 0..5 {
            tally.add(&host.invoke(&mut plugin, "run", b"").expect("run"));
        }
        let _ = done.send(tally);
    });
    // A watchdog, not a timing claim: five invocations take seconds; a blocked open never ends.
    let tally = finished.recv_timeout(Duration::from_secs(120));
    let swaps = renamer.stop();
    let tally = tally.expect("a host call blocked: the plugin never finished");
    tally.assert_every_call_returned(5);
    assert!(swaps > 0);
    assert_eq!(listing(&tree.outside), ["secret.txt"]);
}

// --- TcpNetwork -----------------------------------------------------------------------------------

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// Dials 127.0.0.1 on the port given as the 4-byte input, sends [`REQUEST`] in full, and
/// outputs everything received until the peer closes. Returns a negative code if a call fails.
fn http_plugin() -> Vec<u8> {
    wasm(&format!(
        r#"(module
  (import "pluginhost" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_close" (func $close (param i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "127.0.0.1")
  (data (i32.const 64) "{request}")
  (func (export "run") (result i32)
    (local $h i32) (local $n i32) (local $sent i32)
    (drop (call $input_read (i32.const 0) (i32.const 4)))
    (local.set $h (call $dial (i32.const 16) (i32.const 9) (i32.load (i32.const 0))))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (local.get $h))))
    (block $sent_all (loop $send_more
      (br_if $sent_all (i32.ge_u (local.get $sent) (i32.const {len})))
      (local.set $n (call $send (local.get $h)
        (i32.add (i32.const 64) (local.get $sent))
        (i32.sub (i32.const {len}) (local.get $sent))))
      (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
      (if (i32.eqz (local.get $n)) (then (return (i32.const 100))))
      (local.set $sent (i32.add (local.get $sent) (local.get $n)))
      (br $send_more)))
    (block $eof (loop $recv_more
      (local.set $n (call $recv (local.get $h) (i32.const 1024) (i32.const 1024)))
      (br_if $eof (i32.eqz (local.get $n)))
      (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
      (drop (call $out (i32.const 1024) (local.get $n)))
      (br $recv_more)))
    (call $close (local.get $h))))"#,
        request = wat_bytes(REQUEST),
        len = REQUEST.len()
    ))
}

fn tcp_host(network: TcpNetwork) -> Host {
    host_with_network(HostConfig::default(), Arc::new(network))
}

fn loopback_network() -> TcpNetwork {
    TcpNetwork::new()
        .allow_loopback(true)
        .connect_timeout(Duration::from_secs(5))
        .io_timeout(Duration::from_secs(5))
}

/// Serves one connection: reads a request up to the blank line, answers [`RESPONSE`], closes.
fn serve_once(listener: TcpListener) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut request = Vec::new();
        let mut chunk = [0u8; 256];
        while !request.ends_with(b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => request.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("server read: {e}"),
            }
        }
        stream.write_all(RESPONSE).expect("respond");
        request
    })
}

fn port_input(port: u16) -> [u8; 4] {
    u32::from(port).to_le_bytes()
}

/// Loads [`http_plugin`] on `host` granted `net.dial=127.0.0.1:{granted}` and runs it against
/// `port`.
fn run_http(host: &Host, granted: u16, port: u16) -> (Completion, Plugin) {
    let mut plugin = host
        .load(
            &http_plugin(),
            grant(&[&format!("net.dial=127.0.0.1:{granted}")]),
        )
        .expect("load");
    let completion = host
        .call(&mut plugin, "run", &port_input(port))
        .expect("run");
    (completion, plugin)
}

/// Whether the listener has a connection waiting (without waiting for one).
fn has_pending_connection(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).expect("nonblocking");
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn tcp_request_and_response_round_trip_on_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = serve_once(listener);
    let host = tcp_host(loopback_network());
    let (completion, plugin) = run_http(&host, port, port);
    assert_eq!(
        completion.status,
        0,
        "output so far: {:?}",
        String::from_utf8_lossy(&completion.output)
    );
    assert_eq!(completion.output, RESPONSE);
    assert_eq!(server.join().expect("server"), REQUEST);
    // The dial, then sends and receives on the open connection (each a gated call).
    assert_counts(&plugin, [(0, 0), (0, 0), (4, 0), (0, 0)]);
}

#[test]
fn a_grant_for_another_port_is_denied_and_nothing_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let other = if port == u16::MAX { port - 1 } else { port + 1 };
    let host = tcp_host(loopback_network());
    let (completion, plugin) = run_http(&host, other, port);
    assert_eq!(completion.status, DENIED);
    assert!(completion.output.is_empty());
    assert!(
        !has_pending_connection(&listener),
        "the listener saw a connection"
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 1), (0, 0)]);
}

#[test]
fn loopback_refused_by_the_backend_counts_as_a_denial() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Granted by the plugin's grant, refused by the back-end's address policy.
    let host = tcp_host(TcpNetwork::new().connect_timeout(Duration::from_secs(5)));
    let (completion, plugin) = run_http(&host, port, port);
    assert_eq!(completion.status, DENIED);
    assert!(
        !has_pending_connection(&listener),
        "the listener saw a connection"
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 1), (0, 0)]);
    // Sanity: the listener does accept connections when one is made.
    let _client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    listener.set_nonblocking(false).expect("blocking");
    assert!(listener.accept().is_ok());
}

// --- CommandRunner ----------------------------------------------------------------------------------

fn exec(
    host: &Host,
    grant: Grant,
    args: &[&str],
    dst_len: usize,
) -> (i32, Vec<u8>, pluginhost::Plugin) {
    let mut fx = Fixture::new();
    let a = fx.put(argv(args));
    let dst = fx.reserve(dst_len);
    fx.call("process_exec", &[a.ptr, a.len, dst.ptr, dst.len])
        .emit(dst);
    let (plugin, out) = fx.load_and_run(host, grant);
    (out.codes[0], out.emitted, plugin)
}

fn command_host(runner: CommandRunner) -> Host {
    host_with_process(HostConfig::default(), Arc::new(runner))
}

#[test]
fn echo_runs_with_its_arguments() {
    let host = command_host(CommandRunner::new());
    let (code, dst, plugin) = exec(
        &host,
        grant(&["process.exec=/bin/echo"]),
        &["/bin/echo", "hello", "", "$HOME;", "world"],
        64,
    );
    // No shell: "$HOME;" arrives as it is, and the empty argument is kept.
    let stdout = b"hello  $HOME; world\n";
    assert_eq!(code, 4 + stdout.len() as i32);
    assert_eq!(&dst[..4], 0i32.to_le_bytes());
    assert_eq!(&dst[4..code as usize], stdout);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (1, 0)]);
}

#[test]
fn the_environment_is_empty() {
    assert!(
        std::env::vars_os().next().is_some(),
        "the test itself has an environment"
    );
    let host = command_host(CommandRunner::new());
    let (code, dst, _) = exec(
        &host,
        grant(&["process.exec=/usr/bin/env"]),
        &["/usr/bin/env"],
        4096,
    );
    assert_eq!(
        code,
        4,
        "env printed: {:?}",
        String::from_utf8_lossy(&dst[4..])
    );
    assert_eq!(&dst[..4], 0i32.to_le_bytes());
}

#[test]
fn exit_status_and_truncated_output() {
    let host = command_host(CommandRunner::new());
    let (code, dst, _) = exec(
        &host,
        grant(&["process.exec=/bin/sh"]),
        &["/bin/sh", "-c", "echo 0123456789; exit 3"],
        8,
    );
    assert_eq!(code, 8);
    assert_eq!(dst, [3, 0, 0, 0, b'0', b'1', b'2', b'3']);
}

#[test]
fn a_hard_linked_program_is_a_backend_denial() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tool = tmp.path().join("tool");
    fs::write(&tool, "#!/bin/sh\necho ran\n").expect("script");
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).expect("chmod");
    let tool = tool.to_str().expect("utf-8 path").to_string();
    let host = command_host(CommandRunner::new());
    let grant = || grant(&[&format!("process.exec={tool}")]);
    // A second name (as a plugin-writable directory could hold) makes it unrunnable.
    fs::hard_link(&tool, tmp.path().join("second")).expect("hard link");
    let (code, dst, plugin) = exec(&host, grant(), &[&tool], 16);
    assert_eq!(code, DENIED);
    assert_eq!(dst, [0; 16], "nothing ran, nothing was written");
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (0, 1)]);
    // With the second name gone, it runs.
    fs::remove_file(tmp.path().join("second")).expect("unlink");
    let (code, dst, _) = exec(&host, grant(), &[&tool], 16);
    assert_eq!(code, 8);
    assert_eq!(&dst[4..8], b"ran\n");
}

#[test]
fn a_program_under_a_refused_directory_is_a_backend_denial() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tool = tmp.path().join("tool");
    fs::write(&tool, "#!/bin/sh\necho ran\n").expect("script");
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).expect("chmod");
    let tool = tool.to_str().expect("utf-8 path").to_string();
    let host = command_host(CommandRunner::new().refuse_under(tmp.path()));
    let (code, dst, plugin) = exec(
        &host,
        grant(&[&format!("process.exec={tool}")]),
        &[&tool],
        16,
    );
    assert_eq!(code, DENIED);
    assert_eq!(dst, [0; 16], "nothing ran, nothing was written");
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (0, 1)]);
    // Without the refusal the same script runs (so the denial above was the runner's).
    let host = command_host(CommandRunner::new());
    let (code, dst, _) = exec(
        &host,
        grant(&[&format!("process.exec={tool}")]),
        &[&tool],
        16,
    );
    assert_eq!(code, 8);
    assert_eq!(&dst[4..8], b"ran\n");
}

// --- Blocking time (Limits::blocking_time) ---------------------------------------------------------

/// The blocking time of the hosts below: short, so that each case ends in about a second.
const BLOCKING_TIME: Duration = Duration::from_secs(1);

/// A watchdog, not a timing claim: an invocation the blocking time bounds ends in about
/// [`BLOCKING_TIME`]; one it does not bound would block for an hour or more.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Entries `recv` and `send`: dial `127.0.0.1` on the port in the input's first 4 bytes, then
/// receive into a 1 KiB buffer (or send 64 KiB) as many times as the input's next 4 bytes say.
/// Entry `exec`: run the input as an argument vector with a 64-byte output buffer. Each entry's
/// last host call is followed by nothing but its own loop's bookkeeping, in the same block, so a
/// run that stops in its k-th call has been charged exactly the fuel of a run that makes k calls.
fn blocking_plugin() -> Vec<u8> {
    wasm(
        r#"(module
  (import "pluginhost" "input_len" (func $input_len (result i32)))
  (import "pluginhost" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "pluginhost" "process_exec" (func $exec (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "127.0.0.1")
  (func $dial_input (result i32)
    (drop (call $input_read (i32.const 0) (i32.const 8)))
    (call $dial (i32.const 16) (i32.const 9) (i32.load (i32.const 0))))
  (func (export "recv") (result i32)
    (local $h i32) (local $i i32)
    (local.set $h (call $dial_input))
    (loop $more (result i32)
      (drop (call $recv (local.get $h) (i32.const 1024) (i32.const 1024)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.load (i32.const 4))))
      (i32.const 0)))
  (func (export "send") (result i32)
    (local $h i32) (local $i i32)
    (local.set $h (call $dial_input))
    (loop $more (result i32)
      (drop (call $send (local.get $h) (i32.const 65536) (i32.const 65536)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.load (i32.const 4))))
      (i32.const 0)))
  (func (export "exec") (result i32)
    (drop (call $input_read (i32.const 256) (i32.const 256)))
    (drop (call $exec (i32.const 256) (call $input_len) (i32.const 1024) (i32.const 64)))
    (i32.const 0)))"#,
    )
}

/// The input of the `recv` and `send` entries.
fn io_input(port: u16, count: u32) -> Vec<u8> {
    let mut input = u32::from(port).to_le_bytes().to_vec();
    input.extend_from_slice(&count.to_le_bytes());
    input
}

/// A host with [`BLOCKING_TIME`], one pool slot, and back-ends whose own timeouts are an hour.
fn blocking_host(backends: pluginhost::Backends) -> Host {
    let limits = pluginhost::Limits::DEFAULT.with_blocking_time(BLOCKING_TIME);
    let config = HostConfig::default()
        .with_limits(limits)
        .with_max_concurrent(1);
    let network = TcpNetwork::new()
        .allow_loopback(true)
        .connect_timeout(Duration::from_secs(3600))
        .io_timeout(Duration::from_secs(3600));
    let runner = CommandRunner::new().deadline(Duration::from_secs(3600));
    Host::with_backends(
        config,
        backends
            .with_network(Arc::new(network))
            .with_process(Arc::new(runner)),
    )
}

/// Runs `entry` of `plugin` on a worker thread and returns its result, failing the test if it
/// has not ended within [`WATCHDOG`].
fn call_with_watchdog(
    host: &Arc<Host>,
    plugin: Plugin,
    entry: &'static str,
    input: Vec<u8>,
) -> (Result<Completion, pluginhost::InvokeError>, Plugin) {
    let (done, finished) = std::sync::mpsc::channel();
    let host = Arc::clone(host);
    thread::spawn(move || {
        let mut plugin = plugin;
        let result = host.call(&mut plugin, entry, &input);
        let _ = done.send((result, plugin));
    });
    finished
        .recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("`{entry}` was still blocked after {WATCHDOG:?}"))
}

/// The typed timeout, with the fuel it reports.
#[track_caller]
fn timed_out_fuel(result: &Result<Completion, pluginhost::InvokeError>) -> u64 {
    match result {
        Err(error @ pluginhost::InvokeError::TimedOut { fuel_used }) => {
            assert_eq!(error.kind(), "timeout");
            *fuel_used
        }
        other => panic!("expected InvokeError::TimedOut, got {other:?}"),
    }
}

/// After a timeout: the plugin's instance was discarded and counted, and the host's one pool
/// slot is free again (a benign plugin runs at once).
#[track_caller]
fn assert_timed_out_and_slot_freed(host: &Host, plugin: &Plugin, timeouts: u64) {
    assert!(
        !plugin.is_live(),
        "the instance is rebuilt like after a trap"
    );
    assert_eq!(plugin.stats().timeouts, timeouts);
    assert_eq!(host.stats().in_flight, 0);
    let mut benign = host.load(&wasm(ECHO), Grant::none()).expect("load echo");
    assert_eq!(
        host.invoke(&mut benign, "run", b"next")
            .expect("next invocation"),
        b"ok:next"
    );
}

/// A listener that accepts every connection and keeps it open without ever sending, until the
/// returned sender is dropped.
fn silent_peer() -> (u16, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let _ = stopped.recv();
        drop(stream);
    });
    (port, stop)
}

/// A listener that greets every connection and then reads and discards all it is sent.
fn chatty_peer() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let _ = stream.write_all(b"hello");
                let mut sink = [0u8; 64 << 10];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// `net.dial` of each of `ports` on 127.0.0.1 (at least one), and `process.exec=/bin/sleep`.
fn blocking_grant(ports: &[u16]) -> Grant {
    let mut specs: Vec<String> = ports
        .iter()
        .chain(ports.is_empty().then_some(&9))
        .map(|port| format!("net.dial=127.0.0.1:{port}"))
        .collect();
    specs.push("process.exec=/bin/sleep".into());
    grant(&specs.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Runs `entry` to completion (status 0) and returns its fuel.
fn fast_fuel(
    host: &Arc<Host>,
    plugin: Plugin,
    entry: &'static str,
    input: Vec<u8>,
) -> (u64, Plugin) {
    let (result, plugin) = call_with_watchdog(host, plugin, entry, input);
    let completion = result.expect("fast run");
    assert_eq!(completion.status, 0, "{entry}");
    (completion.fuel_used, plugin)
}

#[test]
fn a_peer_that_never_sends_ends_the_invocation_at_its_blocking_time() {
    let host = Arc::new(blocking_host(pluginhost::Backends::unavailable()));
    let (silent, _keep_open) = silent_peer();
    let (silent_again, _keep_open_too) = silent_peer();
    let chatty = chatty_peer();
    let grant = blocking_grant(&[silent, silent_again, chatty]);
    let plugin = host.load(&blocking_plugin(), grant).expect("load");
    // A thousand receives: at the back-end's own timeout, an hour each.
    let (result, plugin) = call_with_watchdog(&host, plugin, "recv", io_input(silent, 1_000));
    let slow = timed_out_fuel(&result);
    assert_timed_out_and_slot_freed(&host, &plugin, 1);
    // The same one receive, answered at once, costs exactly the same fuel.
    let (fast, plugin) = fast_fuel(&host, plugin, "recv", io_input(chatty, 1));
    assert_eq!(fast, slow);
    // The budget is per invocation: the next silent peer times the next invocation out again.
    let (result, plugin) = call_with_watchdog(&host, plugin, "recv", io_input(silent_again, 1_000));
    assert_eq!(timed_out_fuel(&result), slow);
    assert_timed_out_and_slot_freed(&host, &plugin, 2);
}

#[test]
fn without_a_clock_a_receive_is_still_bounded_and_its_timeout_ends_the_invocation() {
    let backends = pluginhost::Backends::unavailable().without_monotonic_clock();
    let host = Arc::new(blocking_host(backends));
    let (silent, _keep_open) = silent_peer();
    let plugin = host
        .load(&blocking_plugin(), blocking_grant(&[silent]))
        .expect("load");
    let (result, plugin) = call_with_watchdog(&host, plugin, "recv", io_input(silent, 1_000));
    timed_out_fuel(&result);
    assert_timed_out_and_slot_freed(&host, &plugin, 1);
}

#[test]
fn a_peer_that_never_reads_ends_the_invocations_sends_at_its_blocking_time() {
    let host = Arc::new(blocking_host(pluginhost::Backends::unavailable()));
    // Never accepted, never read: the connection completes in the backlog, then the socket
    // buffers fill (a few MiB on loopback) long before 1,000 sends of 64 KiB.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let deaf = listener.local_addr().expect("addr").port();
    let chatty = chatty_peer();
    let plugin = host
        .load(&blocking_plugin(), blocking_grant(&[deaf, chatty]))
        .expect("load");
    let (result, plugin) = call_with_watchdog(&host, plugin, "send", io_input(deaf, 1_000));
    let slow = timed_out_fuel(&result);
    assert_timed_out_and_slot_freed(&host, &plugin, 1);
    drop(listener);

    // Fast runs of 1 and 2 sends give the fuel of the prologue and of one send; the slow run
    // made a whole number k of them, and a fast run of k sends costs exactly what it did.
    let (one, plugin) = fast_fuel(&host, plugin, "send", io_input(chatty, 1));
    let (two, plugin) = fast_fuel(&host, plugin, "send", io_input(chatty, 2));
    let per_send = two - one;
    let prologue = one - per_send;
    assert_eq!(
        (slow - prologue) % per_send,
        0,
        "slow {slow}, one {one}, two {two}"
    );
    let sends = u32::try_from((slow - prologue) / per_send).expect("sends");
    assert!((1..1_000).contains(&sends), "{sends} sends");
    let (fast, _) = fast_fuel(&host, plugin, "send", io_input(chatty, sends));
    assert_eq!(fast, slow);
}

#[test]
fn a_program_that_sleeps_ends_the_invocation_at_its_blocking_time() {
    let host = Arc::new(blocking_host(pluginhost::Backends::unavailable()));
    let plugin = host
        .load(&blocking_plugin(), blocking_grant(&[]))
        .expect("load");
    let (result, plugin) = call_with_watchdog(&host, plugin, "exec", argv(&["/bin/sleep", "3600"]));
    let slow = timed_out_fuel(&result);
    assert_timed_out_and_slot_freed(&host, &plugin, 1);
    // The same call of a program that ends at once (an argument vector of the same length).
    let (fast, _) = fast_fuel(&host, plugin, "exec", argv(&["/bin/sleep", "0000"]));
    assert_eq!(fast, slow);
}

/// A clock that leaps a minute at every read: a call measured with it spends any blocking time.
struct Leaping(std::sync::atomic::AtomicU64);

impl pluginhost::MonotonicClock for Leaping {
    fn now(&self) -> Duration {
        let reads = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Duration::from_secs(60 * reads)
    }
}

#[test]
fn file_calls_are_measured_on_disk_and_not_in_memory() {
    let mut fx = Fixture::new();
    let path = fx.put("/data/f");
    let body = fx.put("x");
    for _ in 0..8 {
        fx.call("fs_write", &[path.ptr, path.len, body.ptr, body.len]);
    }
    let limits = pluginhost::Limits::DEFAULT.with_blocking_time(BLOCKING_TIME);
    let host = |filesystem: Arc<dyn pluginhost::Filesystem>| {
        let clock = Arc::new(Leaping(std::sync::atomic::AtomicU64::new(0)));
        let backends = pluginhost::Backends::unavailable()
            .with_filesystem(filesystem)
            .with_monotonic_clock(clock);
        Host::with_backends(HostConfig::default().with_limits(limits), backends)
    };

    // In memory (`may_block` is false): no clock read, all eight writes return.
    let memory = pluginhost::MemoryFilesystem::new();
    assert!(memory.create_dir("/data"));
    let memory = Arc::new(memory);
    let (_, out) = fx.load_and_run(&host(memory.clone()), grant(&["fs.write=/data"]));
    assert_eq!(out.codes, [1; 8]);
    assert_eq!(memory.get("/data/f").as_deref(), Some(&b"x"[..]));

    // On disk: the first write is measured, takes a minute and ends the invocation.
    let tree = tree();
    let disk = Arc::new(DirFilesystem::open(&tree.root).expect("open root"));
    let host = host(disk);
    let mut plugin = host
        .load(&fx.wasm(), grant(&["fs.write=/data"]))
        .expect("load");
    let result = host.call(&mut plugin, "run", b"");
    timed_out_fuel(&result);
    assert_eq!(plugin.stats().timeouts, 1);
    assert_eq!(
        fs::read(tree.root.join("data/f")).expect("written once"),
        b"x"
    );
}
