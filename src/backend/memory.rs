//! In-memory back-ends for tests, examples and firmware: no I/O, bounded growth.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;

use spin::Mutex;

use super::sorted::SortedMap;
use super::{BackendError, Connection, Filesystem, Network, ProcessOutput, ProcessRunner};
use crate::grant::{separator, DialTarget, GuestPath, HostName};

/// The default file-count cap of [`MemoryFilesystem::new`].
const DEFAULT_MAX_FILES: usize = 1024;
/// The default byte cap of [`MemoryFilesystem::new`] (16 MiB).
const DEFAULT_MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;
/// The default request cap of [`MemoryNetwork::new`] (1 MiB).
const DEFAULT_MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// How many runs [`MemoryProcessRunner`] remembers.
const MAX_RECORDED_RUNS: usize = 64;

// ---------------------------------------------------------------------------------------------
// Filesystem
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct FsState {
    /// File contents by normalised path.
    files: SortedMap<Vec<u8>>,
    /// Directories that exist without a file under them (created, or left empty by a rename).
    dirs: SortedMap<()>,
    /// Sum of the lengths of all files.
    total_bytes: usize,
}

impl FsState {
    /// Whether `path` is a directory: the root, an explicit directory, or an ancestor of a file
    /// or of an explicit directory.
    fn is_dir(&self, path: &str) -> bool {
        if path == "/" || self.dirs.contains_key(path) {
            return true;
        }
        let mut prefix = String::with_capacity(path.len().saturating_add(1));
        prefix.push_str(path);
        prefix.push_str("/");
        let under = |key: &String| key.starts_with(prefix.as_str());
        self.files.first_from(&prefix).is_some_and(under)
            || self.dirs.first_from(&prefix).is_some_and(under)
    }

    /// Whether some proper ancestor of `path` is a file.
    fn has_file_ancestor(&self, path: &str) -> bool {
        path.match_indices('/')
            .filter_map(|(i, _)| path.get(..i))
            .filter(|ancestor| !ancestor.is_empty())
            .any(|ancestor| self.files.contains_key(ancestor))
    }

    /// Checks that a file may be created or replaced at `path`: the parent is a directory and
    /// `path` itself is not one.
    fn check_new_file(&self, path: &str) -> Result<(), BackendError> {
        if self.is_dir(path) || self.has_file_ancestor(path) {
            return Err(BackendError::Io);
        }
        if !self.is_dir(parent(path)) {
            return Err(BackendError::NotFound);
        }
        Ok(())
    }
}

/// The parent of a normalised path; the root is its own parent.
fn parent(path: &str) -> &str {
    match path.bytes().rposition(|b| b == b'/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    }
}

/// A filesystem held in memory, with caps on the number of files and their total size.
///
/// Directories are implicit: a directory exists if it is the root, was made with
/// [`MemoryFilesystem::create_dir`], or has a file (or such a directory) under it. A directory
/// that a rename leaves empty goes on existing. There are no symlinks, so every path stays in its
/// scope. [`Filesystem::write`] and [`Filesystem::rename`] need the target's parent directory to
/// exist ([`BackendError::NotFound`] otherwise); writing over a directory, or below a file, is
/// [`BackendError::Io`].
pub struct MemoryFilesystem {
    state: Mutex<FsState>,
    max_files: usize,
    max_total_bytes: usize,
}

impl MemoryFilesystem {
    /// The total bytes once `added` more are stored on top of `kept`; `LIMIT` past the cap.
    fn total_after(&self, kept: usize, added: usize) -> Result<usize, BackendError> {
        kept.checked_add(added)
            .filter(|bytes| *bytes <= self.max_total_bytes)
            .ok_or(BackendError::Limit)
    }

    /// An empty filesystem holding at most 1024 files and 16 MiB.
    #[must_use]
    pub fn new() -> Self {
        MemoryFilesystem::with_capacity(DEFAULT_MAX_FILES, DEFAULT_MAX_TOTAL_BYTES)
    }

    /// An empty filesystem whose [`Filesystem::write`] fails with [`BackendError::Limit`] once it
    /// would hold more than `max_files` files or more than `max_total_bytes` bytes.
    #[must_use]
    pub fn with_capacity(max_files: usize, max_total_bytes: usize) -> Self {
        MemoryFilesystem {
            state: Mutex::new(FsState::default()),
            max_files,
            max_total_bytes,
        }
    }

    /// Stores `data` at `path` (normalised as a guest path), replacing any file there and making
    /// its parent directories exist. Meant for seeding by tests and embedders: it ignores the
    /// caps (the bytes still count towards them). Returns `false`, storing nothing, if `path` is
    /// not a valid absolute path, is a directory, or lies below a file.
    pub fn insert(&self, path: &str, data: impl Into<Vec<u8>>) -> bool {
        let Ok(path) = GuestPath::parse_str(path) else {
            return false;
        };
        let key = path.as_str();
        let mut state = self.state.lock();
        if key == "/" || state.is_dir(key) || state.has_file_ancestor(key) {
            return false;
        }
        let data = data.into();
        let added = data.len();
        if let Some(old) = state.files.insert(key.to_string(), data) {
            state.total_bytes = state.total_bytes.saturating_sub(old.len());
        }
        state.total_bytes = state.total_bytes.saturating_add(added);
        true
    }

    /// A copy of the file at `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        let path = GuestPath::parse_str(path).ok()?;
        self.state.lock().files.get(path.as_str()).cloned()
    }

    /// Makes the directory `path` (and so its ancestors) exist. Returns `false` if `path` is not a
    /// valid absolute path, or it or an ancestor is a file.
    pub fn create_dir(&self, path: &str) -> bool {
        let Ok(path) = GuestPath::parse_str(path) else {
            return false;
        };
        let key = path.as_str();
        let mut state = self.state.lock();
        if state.files.contains_key(key) || state.has_file_ancestor(key) {
            return false;
        }
        if key != "/" {
            state.dirs.insert(key.to_string(), ());
        }
        true
    }

    /// The paths of all files, in byte order.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().files.keys().cloned().collect()
    }

    /// The total size of all files, in bytes.
    pub fn total_bytes(&self) -> usize {
        self.state.lock().total_bytes
    }
}

impl Default for MemoryFilesystem {
    fn default() -> Self {
        MemoryFilesystem::new()
    }
}

impl fmt::Debug for MemoryFilesystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("MemoryFilesystem")
            .field("files", &state.files.len())
            .field("total_bytes", &state.total_bytes)
            .field("max_files", &self.max_files)
            .field("max_total_bytes", &self.max_total_bytes)
            .finish()
    }
}

impl Filesystem for MemoryFilesystem {
    fn read(
        &self,
        _scope: &GuestPath,
        path: &GuestPath,
        dst: &mut [u8],
    ) -> Result<u64, BackendError> {
        let state = self.state.lock();
        let file = state
            .files
            .get(path.as_str())
            .ok_or(BackendError::NotFound)?;
        let n = file.len().min(dst.len());
        if let (Some(to), Some(from)) = (dst.get_mut(..n), file.get(..n)) {
            to.copy_from_slice(from);
        }
        Ok(file.len() as u64)
    }

    fn size(&self, _scope: &GuestPath, path: &GuestPath) -> Result<u64, BackendError> {
        let state = self.state.lock();
        let file = state
            .files
            .get(path.as_str())
            .ok_or(BackendError::NotFound)?;
        Ok(file.len() as u64)
    }

    fn write(&self, _scope: &GuestPath, path: &GuestPath, data: &[u8]) -> Result<(), BackendError> {
        let key = path.as_str();
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if let Some(file) = state.files.get_mut(key) {
            // Overwriting: an existing file's parent is a directory and it has no file above it,
            // so only the byte cap applies. One map lookup.
            let bytes =
                self.total_after(state.total_bytes.saturating_sub(file.len()), data.len())?;
            // Reuse the buffer when it fits and at most half of it would lie unused (so held
            // memory stays within twice the counted bytes).
            if (data.len()..=data.len().saturating_mul(2)).contains(&file.capacity()) {
                file.clear();
                file.extend_from_slice(data);
            } else {
                *file = data.to_vec();
            }
            state.total_bytes = bytes;
            return Ok(());
        }
        state.check_new_file(key)?;
        let bytes = self.total_after(state.total_bytes, data.len())?;
        if state.files.len() >= self.max_files {
            return Err(BackendError::Limit);
        }
        state.files.insert(key.to_string(), data.to_vec());
        state.total_bytes = bytes;
        Ok(())
    }

    fn rename(
        &self,
        _from_scope: &GuestPath,
        from: &GuestPath,
        _to_scope: &GuestPath,
        to: &GuestPath,
    ) -> Result<(), BackendError> {
        let (from, to) = (from.as_str(), to.as_str());
        let mut state = self.state.lock();
        if !state.files.contains_key(from) {
            return Err(BackendError::NotFound);
        }
        state.check_new_file(to)?;
        if from == to {
            return Ok(());
        }
        let Some(data) = state.files.remove(from) else {
            return Err(BackendError::NotFound);
        };
        // Keep the source's directory even if this was its last file. This never adds a
        // directory that did not already exist, so it cannot grow the map without bound.
        let from_parent = parent(from);
        if from_parent != "/" {
            state.dirs.insert(from_parent.to_string(), ());
        }
        if let Some(old) = state.files.insert(to.to_string(), data) {
            state.total_bytes = state.total_bytes.saturating_sub(old.len());
        }
        Ok(())
    }

    /// No I/O: a call waits at most for another plugin's call on the same filesystem.
    fn may_block(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

/// An in-process service that a [`MemoryNetwork`] routes dials to.
pub trait MemoryService: Send + Sync {
    /// Answers everything sent on one connection with the bytes to send back.
    fn respond(&self, request: &[u8]) -> Vec<u8>;
}

/// A network of in-process [`MemoryService`]s, one per `host:port`.
///
/// Each connection makes one request/response exchange: [`Connection::send`] buffers bytes (at
/// most [`MemoryNetwork::max_request_bytes`], then [`BackendError::Limit`]); the first
/// [`Connection::recv`] hands everything sent so far (possibly nothing) to
/// [`MemoryService::respond`] once and then serves the response; `recv` returns 0 once it is
/// drained. Sending after the response was produced fails with [`BackendError::Io`], as on a
/// connection the peer has closed. Dialling a `host:port` without a service is
/// [`BackendError::NotFound`].
pub struct MemoryNetwork {
    /// Services by host and port (a few: searched in order).
    services: Vec<(HostName, u16, Arc<dyn MemoryService>)>,
    max_request_bytes: usize,
    dials: AtomicUsize,
}

impl MemoryNetwork {
    /// A network without services, buffering at most 1 MiB of request per connection.
    #[must_use]
    pub fn new() -> Self {
        MemoryNetwork {
            services: Vec::new(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            dials: AtomicUsize::new(0),
        }
    }

    /// This network with `service` answering dials to `target`, written `host:port` or
    /// `[v6]:port` (names are compared case-insensitively, IP addresses by value). A `target`
    /// without a valid port (decimal `1..=65535` without leading zeros, as in a grant) is
    /// ignored: dials can never reach it.
    #[must_use]
    pub fn with_service(mut self, target: &str, service: Arc<dyn MemoryService>) -> Self {
        if let Some((host, port)) = parse_target(target) {
            match self
                .services
                .iter_mut()
                .find(|(h, p, _)| *p == port && same_host(h, &host))
            {
                Some(entry) => entry.2 = service,
                None => self.services.push((host, port, service)),
            }
        }
        self
    }

    /// This network with at most `max` request bytes buffered per connection.
    #[must_use]
    pub fn with_max_request_bytes(mut self, max: usize) -> Self {
        self.max_request_bytes = max;
        self
    }

    /// How many request bytes one connection buffers at most.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// How many times [`Network::dial`] was called, successful or not (wrapping).
    pub fn dial_count(&self) -> usize {
        self.dials.load(Ordering::Relaxed)
    }
}

impl Default for MemoryNetwork {
    fn default() -> Self {
        MemoryNetwork::new()
    }
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNetwork")
            .field(
                "services",
                &self
                    .services
                    .iter()
                    .map(|(host, port, _)| DialTarget {
                        host: host.clone(),
                        port: *port,
                    })
                    .collect::<Vec<_>>(),
            )
            .field("max_request_bytes", &self.max_request_bytes)
            .field("dials", &self.dial_count())
            .finish()
    }
}

/// Whether two hosts are the same: names compared case-insensitively and without a trailing
/// dot, IP addresses by value.
fn same_host(a: &HostName, b: &HostName) -> bool {
    match (a, b) {
        (HostName::Dns(a), HostName::Dns(b)) => {
            let a = a.strip_suffix(".").unwrap_or(a);
            let b = b.strip_suffix(".").unwrap_or(b);
            a.eq_ignore_ascii_case(b)
        }
        _ => a == b,
    }
}

/// Parses `host:port` or `[v6]:port`. A host that is not a valid name or address is kept as a
/// name (dials never reach it: the host refuses such a target before its back-end is asked).
fn parse_target(target: &str) -> Option<(HostName, u16)> {
    let colon = target.bytes().rposition(|b| b == b':')?;
    let (host, port) = (target.get(..colon)?, target.get(colon + 1..)?);
    let port = crate::grant::parse_port(port).ok()?;
    let host = match host.strip_prefix("[").and_then(|h| h.strip_suffix("]")) {
        Some(inner) => match HostName::parse_str(inner) {
            Ok(addr @ HostName::Ipv6(_)) if separator::contains(inner, b':') => addr,
            _ => return None,
        },
        // An IPv6 address without brackets.
        None if separator::contains(host, b':') => return None,
        None => match HostName::parse_str(host) {
            Ok(name) => name,
            Err(_) if !host.is_empty() => HostName::Dns(host.to_string()),
            Err(_) => return None,
        },
    };
    Some((host, port))
}

impl Network for MemoryNetwork {
    fn dial(&self, target: &DialTarget, _: Duration) -> Result<Box<dyn Connection>, BackendError> {
        self.dials.fetch_add(1, Ordering::Relaxed);
        let (_, _, service) = self
            .services
            .iter()
            .find(|(host, port, _)| *port == target.port && same_host(host, &target.host))
            .ok_or(BackendError::NotFound)?;
        Ok(Box::new(MemoryConnection {
            service: Arc::clone(service),
            request: Vec::new(),
            max_request_bytes: self.max_request_bytes,
            response: None,
        }))
    }
}

/// One request/response exchange with a [`MemoryService`].
struct MemoryConnection {
    service: Arc<dyn MemoryService>,
    request: Vec<u8>,
    max_request_bytes: usize,
    /// The response and how much of it was served, once produced.
    response: Option<(Vec<u8>, usize)>,
}

impl Connection for MemoryConnection {
    fn send(&mut self, data: &[u8], _: Duration) -> Result<usize, BackendError> {
        if self.response.is_some() {
            return Err(BackendError::Io);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let room = self.max_request_bytes.saturating_sub(self.request.len());
        if room == 0 {
            return Err(BackendError::Limit);
        }
        let n = room.min(data.len());
        self.request
            .extend_from_slice(data.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn recv(&mut self, buf: &mut [u8], _: Duration) -> Result<usize, BackendError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (response, served) = self.response.get_or_insert_with(|| {
            let response = self.service.respond(&self.request);
            self.request = Vec::new();
            (response, 0)
        });
        let rest = response.get(*served..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        *served = served.saturating_add(n);
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// A program of a [`MemoryProcessRunner`]: takes the whole argv, returns the exit status and the
/// standard output.
type MemoryProgram = Arc<dyn Fn(&[&str]) -> (i32, Vec<u8>) + Send + Sync>;

/// A process runner whose programs are Rust functions registered by absolute path.
///
/// Running an unregistered path is [`BackendError::NotFound`]. Output beyond the caller's buffer
/// is discarded. The argv of every run (registered or not) is recorded; the last 64 are kept.
pub struct MemoryProcessRunner {
    /// Programs by path (a few: searched in order).
    programs: Vec<(String, MemoryProgram)>,
    /// The argv of the last runs, oldest first (at most 64: dropping the oldest moves 63).
    runs: Mutex<Vec<Vec<String>>>,
}

impl MemoryProcessRunner {
    /// A runner without programs.
    #[must_use]
    pub fn new() -> Self {
        MemoryProcessRunner {
            programs: Vec::new(),
            runs: Mutex::new(Vec::new()),
        }
    }

    /// This runner with `program` registered at the absolute path `path` (compared exactly).
    #[must_use]
    pub fn with_program(
        self,
        path: &str,
        program: impl Fn(&[&str]) -> (i32, Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        self.with_shared_program(path, Arc::new(program))
    }

    /// This runner with an already shared `program` registered at the absolute path `path`.
    #[must_use]
    pub fn with_shared_program(mut self, path: &str, program: MemoryProgram) -> Self {
        match self.programs.iter_mut().find(|(p, _)| p == path) {
            Some(entry) => entry.1 = program,
            None => self.programs.push((path.to_string(), program)),
        }
        self
    }

    /// The argv of the most recent runs (at most 64), oldest first.
    pub fn runs(&self) -> Vec<Vec<String>> {
        self.runs.lock().clone()
    }
}

impl Default for MemoryProcessRunner {
    fn default() -> Self {
        MemoryProcessRunner::new()
    }
}

impl fmt::Debug for MemoryProcessRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryProcessRunner")
            .field(
                "programs",
                &self.programs.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("runs", &self.runs.lock().len())
            .finish()
    }
}

impl ProcessRunner for MemoryProcessRunner {
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        _: Duration,
    ) -> Result<ProcessOutput, BackendError> {
        {
            let mut runs = self.runs.lock();
            if runs.len() >= MAX_RECORDED_RUNS {
                let excess = runs.len() + 1 - MAX_RECORDED_RUNS;
                runs.drain(..excess);
            }
            runs.push(argv.iter().map(|arg| (*arg).to_string()).collect());
        }
        let program = argv
            .first()
            .and_then(|path| self.programs.iter().find(|(p, _)| p == path))
            .map(|(_, program)| program)
            .ok_or(BackendError::NotFound)?;
        let (status, output) = program(argv);
        let n = output.len().min(stdout.len());
        if let (Some(to), Some(from)) = (stdout.get_mut(..n), output.get(..n)) {
            to.copy_from_slice(from);
        }
        Ok(ProcessOutput {
            status,
            stdout_len: n,
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    /// Any timeout: the in-memory back-ends never block.
    const T: Duration = Duration::from_secs(1);
    use alloc::vec;

    fn p(s: &str) -> GuestPath {
        GuestPath::parse_str(s).unwrap()
    }

    fn root() -> GuestPath {
        p("/")
    }

    #[test]
    fn write_read_size_roundtrip() {
        let fs = MemoryFilesystem::new();
        assert!(fs.create_dir("/data"));
        fs.write(&p("/data"), &p("/data/a.txt"), b"hello").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            fs.read(&p("/data"), &p("/data/a.txt"), &mut buf).unwrap(),
            5
        );
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(fs.size(&p("/data"), &p("/data/a.txt")).unwrap(), 5);
        assert_eq!(fs.get("/data/a.txt").unwrap(), b"hello");
        assert_eq!(fs.get("/data//a.txt").unwrap(), b"hello");
        assert_eq!(fs.paths(), vec![String::from("/data/a.txt")]);
        assert_eq!(fs.total_bytes(), 5);
    }

    #[test]
    fn overwrite_replaces_contents_and_accounting() {
        let fs = MemoryFilesystem::new();
        let (scope, file) = (root(), p("/f"));
        for data in [&[7u8; 1000][..], b"short", b"", &[1u8; 3000][..], b"again"] {
            fs.write(&scope, &file, data).unwrap();
            assert_eq!(fs.get("/f").unwrap(), data);
            assert_eq!(fs.total_bytes(), data.len());
        }
    }

    #[test]
    fn read_truncates_and_reports_full_size() {
        let fs = MemoryFilesystem::new();
        assert!(fs.insert("/f", b"0123456789".to_vec()));
        let mut buf = [0u8; 4];
        assert_eq!(fs.read(&root(), &p("/f"), &mut buf).unwrap(), 10);
        assert_eq!(&buf, b"0123");
        assert_eq!(fs.read(&root(), &p("/f"), &mut []).unwrap(), 10);
    }

    #[test]
    fn missing_file_is_not_found() {
        let fs = MemoryFilesystem::new();
        let mut buf = [0u8; 4];
        assert_eq!(
            fs.read(&root(), &p("/nope"), &mut buf),
            Err(BackendError::NotFound)
        );
        assert_eq!(fs.size(&root(), &p("/nope")), Err(BackendError::NotFound));
    }

    #[test]
    fn write_needs_parent_directory() {
        let fs = MemoryFilesystem::new();
        assert_eq!(
            fs.write(&root(), &p("/a/b"), b"x"),
            Err(BackendError::NotFound)
        );
        fs.write(&root(), &p("/top"), b"x").unwrap();
        // A file makes its ancestors exist.
        assert!(fs.insert("/x/y/z", "deep"));
        fs.write(&root(), &p("/x/new"), b"1").unwrap();
        fs.write(&root(), &p("/x/y/new"), b"2").unwrap();
        // An explicit directory makes its ancestors exist too.
        assert!(fs.create_dir("/m/n"));
        fs.write(&root(), &p("/m/f"), b"3").unwrap();
        fs.write(&root(), &p("/m/n/f"), b"4").unwrap();
    }

    #[test]
    fn files_and_directories_do_not_overlap() {
        let fs = MemoryFilesystem::new();
        assert!(fs.insert("/d/f", "x"));
        // Writing over a directory, or below a file, fails.
        assert_eq!(fs.write(&root(), &p("/d"), b"y"), Err(BackendError::Io));
        assert_eq!(fs.write(&root(), &p("/d/f/g"), b"y"), Err(BackendError::Io));
        assert!(!fs.insert("/d", "y"));
        assert!(!fs.insert("/d/f/g", "y"));
        assert!(!fs.create_dir("/d/f"));
        assert!(!fs.create_dir("/d/f/g"));
        assert!(!fs.insert("relative", "y"));
        assert!(!fs.insert("/", "y"));
        // A directory is not a file.
        assert_eq!(fs.size(&root(), &p("/d")), Err(BackendError::NotFound));
        // A name that merely shares a prefix is not below it.
        fs.write(&root(), &p("/dx"), b"ok").unwrap();
        assert_eq!(fs.write(&root(), &p("/dx/y"), b"y"), Err(BackendError::Io));
    }

    #[test]
    fn caps_are_enforced() {
        let fs = MemoryFilesystem::with_capacity(2, 10);
        fs.write(&root(), &p("/a"), b"12345").unwrap();
        fs.write(&root(), &p("/b"), b"12345").unwrap();
        assert_eq!(fs.write(&root(), &p("/c"), b""), Err(BackendError::Limit));
        assert_eq!(
            fs.write(&root(), &p("/a"), b"123456"),
            Err(BackendError::Limit)
        );
        // Replacing within the budget works.
        fs.write(&root(), &p("/a"), b"1234").unwrap();
        fs.write(&root(), &p("/b"), b"123456").unwrap();
        assert_eq!(fs.total_bytes(), 10);
        assert_eq!(fs.get("/a").unwrap(), b"1234");
    }

    #[test]
    fn rename_moves_and_replaces() {
        let fs = MemoryFilesystem::new();
        assert!(fs.insert("/data/a", "aaa"));
        assert!(fs.insert("/data/b", "bb"));
        assert!(fs.create_dir("/out"));
        let data = p("/data");
        fs.rename(&data, &p("/data/a"), &data, &p("/data/b"))
            .unwrap();
        assert_eq!(fs.get("/data/a"), None);
        assert_eq!(fs.get("/data/b").unwrap(), b"aaa");
        assert_eq!(fs.total_bytes(), 3);
        assert_eq!(
            fs.rename(&data, &p("/data/a"), &data, &p("/data/c")),
            Err(BackendError::NotFound)
        );
        assert_eq!(
            fs.rename(&data, &p("/data/b"), &root(), &p("/missing/x")),
            Err(BackendError::NotFound)
        );
        fs.rename(&data, &p("/data/b"), &p("/out"), &p("/out/b"))
            .unwrap();
        assert_eq!(fs.paths(), vec![String::from("/out/b")]);
        // The emptied directory still exists.
        fs.write(&data, &p("/data/again"), b"").unwrap();
        // Renaming onto itself is a no-op.
        fs.rename(&root(), &p("/out/b"), &root(), &p("/out/b"))
            .unwrap();
        assert_eq!(fs.get("/out/b").unwrap(), b"aaa");
        // Renaming onto a directory fails.
        assert_eq!(
            fs.rename(&root(), &p("/out/b"), &root(), &p("/data")),
            Err(BackendError::Io)
        );
    }

    struct Echo;
    impl MemoryService for Echo {
        fn respond(&self, request: &[u8]) -> Vec<u8> {
            let mut out = b"echo:".to_vec();
            out.extend_from_slice(request);
            out
        }
    }

    fn target(host: HostName, port: u16) -> DialTarget {
        DialTarget { host, port }
    }

    #[test]
    fn network_routes_and_answers() {
        let net = MemoryNetwork::new()
            .with_service("Example.COM:80", Arc::new(Echo))
            .with_service("[::1]:7", Arc::new(Echo))
            .with_service("10.0.0.1:7", Arc::new(Echo))
            .with_service("no-port", Arc::new(Echo));
        let mut conn = net
            .dial(&target(HostName::Dns("example.com".into()), 80), T)
            .unwrap();
        assert_eq!(conn.send(b"ab", T).unwrap(), 2);
        assert_eq!(conn.send(b"cd", T).unwrap(), 2);
        let mut out = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = conn.recv(&mut buf, T).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"echo:abcd");
        assert_eq!(conn.send(b"more", T), Err(BackendError::Io));
        assert!(net
            .dial(
                &target(HostName::Ipv6(core::net::Ipv6Addr::LOCALHOST), 7),
                T
            )
            .is_ok());
        assert!(net
            .dial(
                &target(HostName::Ipv4(core::net::Ipv4Addr::new(10, 0, 0, 1)), 7),
                T
            )
            .is_ok());
        assert_eq!(
            net.dial(&target(HostName::Dns("example.com".into()), 81), T)
                .err(),
            Some(BackendError::NotFound)
        );
        assert_eq!(
            net.dial(&target(HostName::Dns("no-port".into()), 0), T)
                .err(),
            Some(BackendError::NotFound)
        );
        assert_eq!(net.dial_count(), 5);
    }

    #[test]
    fn network_request_is_capped() {
        let net = MemoryNetwork::new()
            .with_max_request_bytes(4)
            .with_service("svc:1", Arc::new(Echo));
        let mut conn = net
            .dial(&target(HostName::Dns("svc".into()), 1), T)
            .unwrap();
        assert_eq!(conn.send(b"abc", T).unwrap(), 3);
        assert_eq!(conn.send(b"def", T).unwrap(), 1);
        assert_eq!(conn.send(b"g", T), Err(BackendError::Limit));
        let mut buf = [0u8; 64];
        let n = conn.recv(&mut buf, T).unwrap();
        assert_eq!(&buf[..n], b"echo:abcd");
        assert_eq!(conn.recv(&mut buf, T).unwrap(), 0);
    }

    #[test]
    fn recv_without_send_responds_to_nothing() {
        let net = MemoryNetwork::new().with_service("svc:1", Arc::new(Echo));
        let mut conn = net
            .dial(&target(HostName::Dns("svc".into()), 1), T)
            .unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(conn.recv(&mut [], T).unwrap(), 0);
        let n = conn.recv(&mut buf, T).unwrap();
        assert_eq!(&buf[..n], b"echo:");
    }

    fn hello(argv: &[&str]) -> (i32, Vec<u8>) {
        (i32::try_from(argv.len()).unwrap(), b"hello world".to_vec())
    }

    #[test]
    fn process_runner_runs_and_records() {
        let runner = MemoryProcessRunner::new()
            .with_program("/bin/hello", hello)
            .with_program("/bin/fail", |_argv: &[&str]| (3, Vec::new()));
        let mut buf = [0u8; 5];
        let out = runner.run(&["/bin/hello", "a", "b"], &mut buf, T).unwrap();
        assert_eq!(
            out,
            ProcessOutput {
                status: 3,
                stdout_len: 5
            }
        );
        assert_eq!(&buf, b"hello");
        assert_eq!(runner.run(&["/bin/fail"], &mut buf, T).unwrap().status, 3);
        assert_eq!(
            runner.run(&["/bin/nope"], &mut buf, T),
            Err(BackendError::NotFound)
        );
        let runs = runner.runs();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0], vec!["/bin/hello", "a", "b"]);
        assert_eq!(runs[2], vec!["/bin/nope"]);
    }

    #[test]
    fn process_runner_keeps_last_64_runs() {
        let runner = MemoryProcessRunner::new().with_program("/p", hello);
        let mut buf = [0u8; 1];
        for i in 0..100 {
            let arg = alloc::format!("{i}");
            runner.run(&["/p", &arg], &mut buf, T).unwrap();
        }
        let runs = runner.runs();
        assert_eq!(runs.len(), 64);
        assert_eq!(runs[0][1], "36");
        assert_eq!(runs[63][1], "99");
    }
}
