//! The containment harness: a real sandbox around every hostile run.
//!
//! [`Sandbox::new`] builds, per case:
//!
//! ```text
//! <tmp>/outside/keys/device.key          SECRET (the sentinel no plugin may ever read)
//! <tmp>/outside/bin/ungranted            a program no grant admits; would create markers/ungranted
//! <tmp>/bin/tool                         the granted program; appends a line to markers/tool.log
//! <tmp>/bin/alias      -> root/data/tool (a way into the writable area from outside it)
//! <tmp>/markers/                         what programs leave behind (checked, not snapshotted)
//! <tmp>/root/                            guest "/" (DirFilesystem)
//! <tmp>/root/data/notes.txt              NOTES                 fs.read, fs.write prefix /data
//! <tmp>/root/data/tool                   executable; would create markers/data-tool
//! <tmp>/root/data/hardkey   == <tmp>/outside/keys/device.key  (a hard link: the same file)
//! <tmp>/root/data/keylink     -> <tmp>/outside/keys/device.key  (absolute)
//! <tmp>/root/data/rel_keylink -> ../../outside/keys/device.key
//! <tmp>/root/data/keysdir     -> <tmp>/outside/keys             (a directory outside)
//! <tmp>/root/data/rel_keysdir -> ../../outside/keys
//! <tmp>/root/data/dangling    -> <tmp>/outside/keys/planted.key (does not exist)
//! <tmp>/root/data/zones_link  -> ../zones                       (a sibling prefix)
//! <tmp>/root/zones/example.zone          ZONE                  fs.read prefix /zones
//! <tmp>/root/zones/keylink    -> ../../outside/keys/device.key
//! <tmp>/root/data2/x, DATA/x, etc/x, x   real targets for misspelled prefixes
//! ```
//!
//! with a host whose back-ends are real: [`DirFilesystem`] on `root`, [`TcpNetwork`] (loopback
//! allowed, a counting resolver) and [`CommandRunner`] refusing everything under `root`. Two
//! loopback listeners count the connections they accept: `granted` (the target grants name) and
//! `forbidden` (which must never see one). A bystander plugin is loaded on the host and run once
//! before the hostile plugin, and the whole tree is snapshotted.
//!
//! [`Sandbox::verify`] then checks, after the hostile run: host memory stayed under the case's
//! bound; no output holds any part of the secret; nothing in the tree changed outside the paths
//! the case may write; no file under the root holds the secret; no program ran but the expected
//! runs of the granted tool; each listener saw exactly the expected connections (all closed);
//! the resolver was asked exactly the expected names; the bystander runs exactly as before with
//! its counters moved by exactly one benign invocation; and the host still serves a fresh plugin.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use pluginhost::{
    Backends, Capability, CommandRunner, DirFilesystem, Grant, Host, HostConfig, Plugin,
    PluginStats, TcpNetwork,
};

use crate::support::alloc::{current_bytes, peak_bytes};
use crate::support::fixture::{Fixture, Outcome};
use crate::support::hosts::grant;
use crate::support::measure::{measure, Usage, MIB};
use crate::support::wat::{wasm, ECHO};

/// The sentinel secret outside the root. Any 12-byte window of it in an output is a leak.
pub const SECRET: &[u8] = b"K3Y:q9Zr#Vt7@Lm2$Xw8&Pc4/device-private-key/\x00\xffEND";
/// The window size of the secret search.
const SECRET_WINDOW: usize = 12;
/// `<root>/data/notes.txt`.
pub const NOTES: &[u8] = b"notes: inside the grant\n";
/// `<root>/zones/example.zone`.
pub const ZONE: &[u8] = b"example. 3600 IN SOA ns.example. hostmaster.example. 1 2 3 4 5\n";
/// What the granted listener says to every connection.
pub const GRANTED_GREETING: &[u8] = b"granted-listener:hello\n";
/// What the forbidden listener says to every connection.
pub const FORBIDDEN_GREETING: &[u8] = b"forbidden-listener:pwned\n";
/// The bystander's input on every run.
const BYSTANDER_INPUT: &[u8] = b"tick";
/// How long to wait for a listener's connections to close before calling it a leak.
const CLOSE_WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Loopback listeners
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct ListenState {
    accepted: Vec<SocketAddr>,
    finished: Vec<(SocketAddr, Vec<u8>)>,
    probes: Vec<SocketAddr>,
    stop: bool,
}

struct Shared {
    state: Mutex<ListenState>,
    changed: Condvar,
}

/// A loopback TCP listener that greets every connection, records what it sends until it
/// closes, and counts connections. No timing: [`Listener::connections`] synchronises with a
/// probe connection of its own.
pub struct Listener {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Listener {
    /// Binds `ip:port` (`port` 0 for any) and serves on a thread.
    pub fn bind(ip: Ipv4Addr, port: u16, greeting: &'static [u8]) -> io::Result<Listener> {
        let listener = TcpListener::bind((ip, port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ListenState::default()),
            changed: Condvar::new(),
        });
        let serving = Arc::clone(&shared);
        thread::Builder::new()
            .name(format!("listener-{addr}"))
            .spawn(move || serve(&listener, &serving, greeting))?;
        Ok(Listener { addr, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every connection made to this listener so far (not counting its own probes), in accept
    /// order, each with the bytes its client sent. Waits until all of them are closed: first a
    /// probe connection is made and waited for (accepts are sequential, so every earlier
    /// connection has then been accepted), then until every accepted connection has reached
    /// end-of-stream. A connection still open after [`CLOSE_WAIT`] fails the case: a handle the
    /// host should have closed at the end of the invocation.
    pub fn connections(&self) -> Vec<Vec<u8>> {
        let probe = TcpStream::connect(self.addr).expect("probe connection");
        let probe_addr = probe.local_addr().expect("probe address");
        drop(probe);
        let deadline = Instant::now() + CLOSE_WAIT;
        let mut state = self.shared.state.lock().expect("listener state");
        state.probes.push(probe_addr);
        loop {
            if state.accepted.contains(&probe_addr) && state.finished.len() == state.accepted.len()
            {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "listener {}: {} connections accepted, {} closed: a connection was left open",
                self.addr,
                state.accepted.len(),
                state.finished.len()
            );
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .expect("listener state")
                .0;
        }
        state
            .accepted
            .iter()
            .filter(|peer| !state.probes.contains(peer))
            .map(|peer| {
                state
                    .finished
                    .iter()
                    .find(|(p, _)| p == peer)
                    .map(|(_, bytes)| bytes.clone())
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.stop = true;
        }
        // Wakes the accept loop, which sees `stop` and returns.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>, greeting: &'static [u8]) {
    loop {
        let Ok((stream, peer)) = listener.accept() else {
            continue;
        };
        {
            let mut state = shared.state.lock().expect("listener state");
            if state.stop {
                return;
            }
            state.accepted.push(peer);
            shared.changed.notify_all();
        }
        let shared = Arc::clone(shared);
        thread::spawn(move || {
            let received = talk(stream, greeting);
            let mut state = shared.state.lock().expect("listener state");
            state.finished.push((peer, received));
            shared.changed.notify_all();
        });
    }
}

/// Greets, then reads until the client closes (or resets) the connection.
fn talk(mut stream: TcpStream, greeting: &[u8]) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(CLOSE_WAIT * 3));
    let _ = stream.write_all(greeting);
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolver
// ---------------------------------------------------------------------------------------------

/// One call of the sandbox's resolver, as the case's answer function sees it.
pub struct ResolveCall<'a> {
    pub name: &'a str,
    pub port: u16,
    pub granted: SocketAddr,
    pub forbidden: SocketAddr,
}

/// How the sandbox's resolver answers.
pub type Answer = Arc<dyn Fn(&ResolveCall<'_>) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// Tree snapshots
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    /// A directory's own mtime is left out: an entry added or removed under it shows up as
    /// that entry, so a case may name exactly the files it writes.
    Dir {
        mode: u32,
    },
    File {
        len: u64,
        mode: u32,
        mtime: Option<SystemTime>,
        hash: u64,
    },
    Link {
        target: PathBuf,
    },
    /// A FIFO, socket or device: never opened (opening a FIFO waits for a peer).
    Special {
        mode: u32,
    },
}

/// Every path under a directory (symlinks not followed) with its kind, length, mode, mtime and
/// a content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<PathBuf, Node>);

impl Snapshot {
    fn take(dir: &Path, skip: &Path) -> Snapshot {
        let mut nodes = BTreeMap::new();
        walk(dir, skip, &mut nodes);
        Snapshot(nodes)
    }

    /// Paths added, removed or changed since `self`.
    fn changes(&self, after: &Snapshot) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for (path, node) in &self.0 {
            match after.0.get(path) {
                None => out.push((path.clone(), "removed".to_string())),
                Some(now) if now != node => {
                    out.push((path.clone(), format!("changed: {node:?} -> {now:?}")));
                }
                Some(_) => {}
            }
        }
        for (path, node) in &after.0 {
            if !self.0.contains_key(path) {
                out.push((path.clone(), format!("added: {node:?}")));
            }
        }
        out
    }
}

/// How much of a file the snapshot hashes and the secret scan reads. A plugin writes at most
/// `Limits::call_bytes` per call and `fs_write` truncates, so no file a plugin can produce is
/// longer; a change past this point in a bigger file still shows in its length or mtime.
const SCAN_BYTES: u64 = 16 * MIB as u64;

/// The first [`SCAN_BYTES`] of a file.
fn head(path: &Path) -> Vec<u8> {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut bytes = Vec::new();
    file.take(SCAN_BYTES)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    bytes
}

fn content_hash(path: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    head(path).hash(&mut hasher);
    hasher.finish()
}

fn walk(dir: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path == skip {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("symlink_metadata");
        let node = if meta.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(&path).expect("read_link"),
            }
        } else if meta.is_dir() {
            walk(&path, skip, out);
            Node::Dir { mode: meta.mode() }
        } else if !meta.is_file() {
            Node::Special { mode: meta.mode() }
        } else {
            Node::File {
                len: meta.len(),
                mode: meta.mode(),
                mtime: meta.modified().ok(),
                hash: content_hash(&path),
            }
        };
        out.insert(path, node);
    }
}

/// Whether any `SECRET_WINDOW`-byte window of [`SECRET`] occurs in `bytes`.
pub fn holds_secret(bytes: &[u8]) -> bool {
    SECRET
        .windows(SECRET_WINDOW)
        .any(|w| bytes.windows(SECRET_WINDOW).any(|b| b == w))
}

/// Panics if `bytes` holds any part of the secret.
#[track_caller]
pub fn assert_no_secret(bytes: &[u8]) {
    assert!(
        !holds_secret(bytes),
        "the secret leaked: {:?}",
        String::from_utf8_lossy(bytes)
    );
}

// ---------------------------------------------------------------------------------------------
// The bystander
// ---------------------------------------------------------------------------------------------

/// Reads its input and `/zones/example.zone` (a real fs.read through the same back-ends) and
/// outputs `bystander:` + input + the zone file.
const BYSTANDER_WAT: &str = r#"(module
  (import "pluginhost" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (import "pluginhost" "fs_read" (func $fs_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/zones/example.zone")
  (data (i32.const 32) "bystander:")
  (func (export "run") (result i32)
    (local $n i32) (local $size i32)
    (drop (call $out (i32.const 32) (i32.const 10)))
    (local.set $n (call $input_read (i32.const 1024) (i32.const 1024)))
    (drop (call $out (i32.const 1024) (local.get $n)))
    (local.set $size (call $fs_read (i32.const 0) (i32.const 19) (i32.const 4096) (i32.const 1024)))
    (if (i32.lt_s (local.get $size) (i32.const 0)) (then (return (local.get $size))))
    (drop (call $out (i32.const 4096) (local.get $size)))
    (i32.const 0)))"#;

struct Bystander {
    /// The plugin and its counters after its last run.
    plugin: Mutex<(Plugin, PluginStats)>,
    output: Vec<u8>,
}

fn bystander_output() -> Vec<u8> {
    let mut out = b"bystander:".to_vec();
    out.extend_from_slice(BYSTANDER_INPUT);
    out.extend_from_slice(ZONE);
    out
}

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

/// How a case wants its sandbox.
#[derive(Clone)]
pub struct Setup {
    pub config: HostConfig,
    pub deadline: Duration,
    pub answer: Option<Answer>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            config: HostConfig::default(),
            deadline: Duration::from_secs(10),
            answer: None,
        }
    }
}

impl Setup {
    #[must_use]
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.config = self.config.with_fuel(fuel);
        self
    }

    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    #[must_use]
    pub fn blocking_time(mut self, blocking_time: Duration) -> Self {
        self.config = self
            .config
            .with_limits(self.config.limits.with_blocking_time(blocking_time));
        self
    }

    #[must_use]
    pub fn answer(mut self, answer: Answer) -> Self {
        self.answer = Some(answer);
        self
    }
}

/// What a case expects [`Sandbox::verify`] to find.
#[derive(Clone, Debug)]
pub struct Expect {
    /// The case's name, for messages.
    pub case: &'static str,
    /// Peak growth of the measured thread's live allocations must stay under this.
    pub bound: usize,
    /// Host paths that may change, with everything under them (what the case legitimately
    /// writes).
    pub writable: Vec<PathBuf>,
    /// Connections the granted listener must have accepted (the forbidden one: none).
    pub granted_connections: usize,
    /// Lines the granted tool must have appended to `markers/tool.log`.
    pub tool_runs: usize,
    /// Names the resolver must have been asked, in order.
    pub resolutions: Vec<(String, u16)>,
}

/// See the module documentation.
pub struct Sandbox {
    _tmp: tempfile::TempDir,
    pub base: PathBuf,
    pub root: PathBuf,
    pub data: PathBuf,
    pub zones: PathBuf,
    pub outside: PathBuf,
    pub secret_path: PathBuf,
    pub markers: PathBuf,
    /// The granted program, `<tmp>/bin/tool`.
    pub tool: String,
    /// A program no grant admits, `<tmp>/outside/bin/ungranted`.
    pub ungranted: String,
    /// `<tmp>/bin/alias`, a symlink to `<root>/data/tool`.
    pub alias: String,
    /// `<root>/data/tool` as a host path.
    pub data_tool: String,
    pub granted: Listener,
    pub forbidden: Listener,
    pub host: Arc<Host>,
    resolutions: Arc<Mutex<Vec<(String, u16)>>>,
    bystander: Bystander,
    before: Snapshot,
}

fn write_file(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn write_script(path: &Path, body: &str) {
    write_file(path, format!("#!/bin/sh\n{body}").as_bytes());
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn link(target: impl AsRef<Path>, at: &Path) {
    symlink(target, at).unwrap_or_else(|e| panic!("symlink {}: {e}", at.display()));
}

fn utf8(path: &Path) -> String {
    path.to_str().expect("a UTF-8 temp path").to_string()
}

impl Sandbox {
    /// A sandbox with the default host configuration.
    pub fn new() -> Sandbox {
        Sandbox::with(Setup::default())
    }

    /// A sandbox as `setup` asks.
    pub fn with(setup: Setup) -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().to_path_buf();
        let root = base.join("root");
        let data = root.join("data");
        let zones = root.join("zones");
        let outside = base.join("outside");
        let keys = outside.join("keys");
        let markers = base.join("markers");
        for dir in [
            &data,
            &zones,
            &keys,
            &outside.join("bin"),
            &base.join("bin"),
            &markers,
            &root.join("data2"),
            &root.join("DATA"),
            &root.join("etc"),
        ] {
            fs::create_dir_all(dir).expect("mkdir");
        }
        let secret_path = keys.join("device.key");
        write_file(&secret_path, SECRET);
        fs::set_permissions(&secret_path, fs::Permissions::from_mode(0o600)).expect("chmod");
        write_file(&keys.join("README"), b"outside the sandbox\n");
        let m = utf8(&markers);
        write_script(
            &outside.join("bin/ungranted"),
            &format!("echo ran > '{m}/ungranted'\necho ungranted\n"),
        );
        write_script(
            &base.join("bin/tool"),
            &format!("echo run >> '{m}/tool.log'\nprintf 'tool:%s\\n' \"$*\"\n"),
        );
        write_script(
            &data.join("tool"),
            &format!("echo ran > '{m}/data-tool'\necho data-tool\n"),
        );
        link(data.join("tool"), &base.join("bin/alias"));
        write_file(&data.join("notes.txt"), NOTES);
        write_file(&zones.join("example.zone"), ZONE);
        write_file(&root.join("data2/x"), b"data2\n");
        write_file(&root.join("DATA/x"), b"DATA\n");
        write_file(&root.join("etc/x"), b"etc\n");
        write_file(&root.join("x"), b"root x\n");
        fs::hard_link(&secret_path, data.join("hardkey")).expect("hard link to the secret");
        link(&secret_path, &data.join("keylink"));
        link("../../outside/keys/device.key", &data.join("rel_keylink"));
        link(&keys, &data.join("keysdir"));
        link("../../outside/keys", &data.join("rel_keysdir"));
        link(keys.join("planted.key"), &data.join("dangling"));
        link("../zones", &data.join("zones_link"));
        link("../../outside/keys/device.key", &zones.join("keylink"));

        let granted = Listener::bind(Ipv4Addr::LOCALHOST, 0, GRANTED_GREETING).expect("bind");
        let forbidden = Listener::bind(Ipv4Addr::LOCALHOST, 0, FORBIDDEN_GREETING).expect("bind");

        let resolutions = Arc::new(Mutex::new(Vec::new()));
        let answer = setup.answer.clone().unwrap_or_else(|| {
            // Every name is the granted listener's address (on the port asked for).
            Arc::new(|call: &ResolveCall<'_>| {
                Ok(vec![SocketAddr::new(call.granted.ip(), call.port)])
            })
        });
        let resolver = {
            let resolutions = Arc::clone(&resolutions);
            let (granted_addr, forbidden_addr) = (granted.addr(), forbidden.addr());
            Arc::new(move |name: &str, port: u16| {
                resolutions
                    .lock()
                    .expect("resolutions")
                    .push((name.to_string(), port));
                answer(&ResolveCall {
                    name,
                    port,
                    granted: granted_addr,
                    forbidden: forbidden_addr,
                })
            })
        };
        let network = TcpNetwork::new()
            .allow_loopback(true)
            .connect_timeout(Duration::from_secs(5))
            .io_timeout(Duration::from_secs(5))
            .resolve_with(resolver);
        let runner = CommandRunner::new()
            .refuse_under(&root)
            .deadline(setup.deadline);
        let backends = Backends::unavailable()
            .with_filesystem(Arc::new(DirFilesystem::open(&root).expect("open root")))
            .with_network(Arc::new(network))
            .with_process(Arc::new(runner));
        let host = Arc::new(Host::with_backends(setup.config, backends));

        // The bystander is loaded and run first, on the same host.
        let mut plugin = host
            .load(&wasm(BYSTANDER_WAT), grant(&["fs.read=/zones"]))
            .expect("bystander loads");
        let output = host
            .invoke(&mut plugin, "run", BYSTANDER_INPUT)
            .expect("bystander runs");
        assert_eq!(output, bystander_output());
        let stats = plugin.stats();
        let bystander = Bystander {
            plugin: Mutex::new((plugin, stats)),
            output,
        };

        let before = Snapshot::take(&base, &markers);
        Sandbox {
            _tmp: tmp,
            tool: utf8(&base.join("bin/tool")),
            ungranted: utf8(&outside.join("bin/ungranted")),
            alias: utf8(&base.join("bin/alias")),
            data_tool: utf8(&data.join("tool")),
            base,
            root,
            data,
            zones,
            outside,
            secret_path,
            markers,
            granted,
            forbidden,
            host,
            resolutions,
            bystander,
            before,
        }
    }

    /// Takes the before-snapshot again, after the case prepared extra files.
    pub fn rebaseline(&mut self) {
        self.before = Snapshot::take(&self.base, &self.markers);
    }

    /// The granted listener's `127.0.0.1:port` as a grant spec.
    pub fn granted_spec(&self) -> String {
        format!("net.dial=127.0.0.1:{}", self.granted.port())
    }

    /// The grant most hostile plugins get: fs.read of /data and /zones, fs.write of /data, the
    /// granted listener, and the granted tool.
    pub fn standard_grant(&self) -> Grant {
        grant(&[
            "fs.read=/data",
            "fs.read=/zones",
            "fs.write=/data",
            &self.granted_spec(),
            &format!("process.exec={}", self.tool),
        ])
    }

    /// The default expectations: nothing written, connected, run or resolved, and peak growth
    /// under `Limits::memory_bytes + 4 MiB`.
    pub fn expect(&self, case: &'static str) -> Expect {
        Expect {
            case,
            bound: self.host.config().limits.memory_bytes + 4 * MIB,
            writable: Vec::new(),
            granted_connections: 0,
            tool_runs: 0,
            resolutions: Vec::new(),
        }
    }

    /// Whether `path` is the harness's own hard link to the secret, `<root>/data/hardkey`, still
    /// naming the secret file itself (the one file under the root allowed to hold it). Any other
    /// path holding the secret, even another link to the same file, is a leak.
    fn is_planted_hard_link(&self, path: &Path) -> bool {
        let same_file =
            |a: &fs::Metadata, b: &fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        path == self.data.join("hardkey")
            && matches!(
                (fs::metadata(path), fs::metadata(&self.secret_path)),
                (Ok(a), Ok(b)) if same_file(&a, &b)
            )
    }

    /// The names the resolver was asked so far.
    pub fn resolutions(&self) -> Vec<(String, u16)> {
        self.resolutions.lock().expect("resolutions").clone()
    }

    /// The granted tool's stdout for `args`.
    pub fn tool_stdout(args: &[&str]) -> Vec<u8> {
        format!("tool:{}\n", args.join(" ")).into_bytes()
    }

    /// Checks everything listed in the module documentation; `outputs` are every byte string
    /// the hostile plugin produced. Returns the bytes each granted connection sent.
    pub fn verify(&self, usage: Usage, expect: &Expect, outputs: &[&[u8]]) -> Vec<Vec<u8>> {
        let case = expect.case;
        // Memory: at the peak, and what the run left allocated.
        assert!(
            usage.peak < expect.bound,
            "{case}: host memory grew by {} bytes at peak, over the bound of {} bytes ({usage:?}; \
             process-wide now {} bytes, peak {} bytes)",
            usage.peak,
            expect.bound,
            current_bytes(),
            peak_bytes()
        );
        assert!(
            usage.retained < isize::try_from(expect.bound).unwrap_or(isize::MAX),
            "{case}: the run left {} bytes allocated, over the bound of {} bytes",
            usage.retained,
            expect.bound
        );
        // No output holds the secret.
        for output in outputs {
            assert!(
                !holds_secret(output),
                "{case}: the secret leaked into an output: {:?}",
                String::from_utf8_lossy(output)
            );
        }
        // The tree: nothing outside the writable paths changed; the secret is intact and was
        // copied nowhere under the root.
        let after = Snapshot::take(&self.base, &self.markers);
        let stray: Vec<String> = self
            .before
            .changes(&after)
            .into_iter()
            .filter(|(path, _)| !expect.writable.iter().any(|w| path.starts_with(w)))
            .map(|(path, what)| format!("{}: {what}", path.display()))
            .collect();
        assert!(
            stray.is_empty(),
            "{case}: the tree changed outside {:?}:\n{}",
            expect.writable,
            stray.join("\n")
        );
        assert_eq!(
            fs::read(&self.secret_path).expect("secret"),
            SECRET,
            "{case}: secret"
        );
        for (path, node) in &after.0 {
            if matches!(node, Node::File { .. })
                && path.starts_with(&self.root)
                && !self.is_planted_hard_link(path)
            {
                assert!(
                    !holds_secret(&head(path)),
                    "{case}: {} holds the secret",
                    path.display()
                );
            }
        }
        // Programs: only the granted tool ran, exactly as often as expected.
        let mut left: Vec<String> = fs::read_dir(&self.markers)
            .expect("markers")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let runs = fs::read_to_string(self.markers.join("tool.log"))
            .map(|log| log.lines().count())
            .unwrap_or(0);
        left.retain(|name| name != "tool.log");
        assert!(
            left.is_empty(),
            "{case}: a program that must not run left {left:?}"
        );
        assert_eq!(runs, expect.tool_runs, "{case}: runs of the granted tool");
        // Network.
        assert_eq!(
            self.resolutions(),
            expect.resolutions,
            "{case}: names resolved"
        );
        let forbidden = self.forbidden.connections();
        assert!(
            forbidden.is_empty(),
            "{case}: the forbidden listener accepted {} connection(s)",
            forbidden.len()
        );
        let granted = self.granted.connections();
        assert_eq!(
            granted.len(),
            expect.granted_connections,
            "{case}: connections to the granted listener"
        );
        // The bystander and the host.
        self.assert_bystander_unaffected(case);
        self.assert_host_serves(case);
        granted
    }

    /// Runs the bystander once more: the same output, and its counters moved by exactly one more
    /// benign invocation (one more allowed fs.read, nothing denied or refused, no fault).
    pub fn assert_bystander_unaffected(&self, case: &str) {
        let mut guard = self.bystander.plugin.lock().expect("bystander");
        let (plugin, last) = &mut *guard;
        let output = self
            .host
            .invoke(plugin, "run", BYSTANDER_INPUT)
            .unwrap_or_else(|e| panic!("{case}: the bystander failed: {e}"));
        assert_eq!(output, self.bystander.output, "{case}: bystander output");
        let (was, now) = (*last, plugin.stats());
        assert_eq!(now.invocations, was.invocations + 1, "{case}: bystander");
        assert_eq!(now.completed, was.completed + 1, "{case}: bystander");
        assert_eq!(now.last_fuel_used, was.last_fuel_used, "{case}: bystander");
        assert_eq!(
            now.fuel_used,
            was.fuel_used + was.last_fuel_used,
            "{case}: bystander"
        );
        assert_eq!(
            (now.traps, now.fuel_exhausted, now.rebuilds, now.refused),
            (0, 0, 0, 0),
            "{case}: bystander faults"
        );
        for cap in Capability::ALL {
            let one_more = u64::from(cap == Capability::FsRead);
            assert_eq!(
                (now.calls.allowed(cap), now.calls.denied(cap)),
                (was.calls.allowed(cap) + one_more, 0),
                "{case}: bystander {cap} counts"
            );
        }
        assert!(plugin.denials().is_empty(), "{case}: bystander denials");
        assert!(plugin.is_live(), "{case}: bystander instance");
        *last = now;
    }

    /// A fresh benign plugin loads and runs on the same host; no invocation is left in flight.
    pub fn assert_host_serves(&self, case: &str) {
        let mut benign = self
            .host
            .load(&wasm(ECHO), Grant::none())
            .unwrap_or_else(|e| panic!("{case}: a benign plugin no longer loads: {e}"));
        let out = self
            .host
            .invoke(&mut benign, "run", b"still serving")
            .unwrap_or_else(|e| panic!("{case}: a benign plugin no longer runs: {e}"));
        assert_eq!(out, b"ok:still serving", "{case}");
        assert_eq!(self.host.stats().in_flight, 0, "{case}: in flight");
    }
}

/// How long [`within_watchdog`] waits: far longer than any case takes, far shorter than forever.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `work` on a thread of its own (measured there) and returns its result and usage, failing
/// the case if it has not returned within [`WATCHDOG`]: for work that a blocked host call would
/// keep from ever returning. Not a timing claim.
pub fn within_watchdog<R: Send + 'static>(
    case: &str,
    work: impl FnOnce() -> R + Send + 'static,
) -> (R, Usage) {
    let (done, finished) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name(format!("{case} (watched)"))
        .spawn(move || {
            let _ = done.send(measure(work));
        })
        .expect("spawn");
    finished
        .recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("{case}: still blocked after {WATCHDOG:?}"))
}

/// Loads `fx` under `grant` and runs it once with `input`, measuring both.
pub fn run_fixture(
    sb: &Sandbox,
    fx: &Fixture,
    grant: Grant,
    input: &[u8],
) -> (Plugin, Outcome, Usage) {
    let bytes = fx.wasm();
    let ((plugin, outcome), usage) = measure(|| {
        let mut plugin = sb
            .host
            .load(&bytes, grant)
            .unwrap_or_else(|e| panic!("load failed: {e}\n{}", fx.wat()));
        let outcome = fx.run_with_input(&sb.host, &mut plugin, input);
        (plugin, outcome)
    });
    (plugin, outcome, usage)
}
