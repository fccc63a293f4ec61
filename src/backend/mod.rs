//! Back-ends: the embedder-implemented traits through which every privileged operation goes.
//!
//! The host never does I/O itself. After a gated host call has passed its grant check, the host
//! hands a checked, normalised request to one of these traits. Implementations must not call back
//! into the plugin.
//!
//! **Blocking.** Every call that may wait on a peer (`dial`, `send`, `recv`, `run`) is given a
//! `timeout`: what is left of the invocation's [`Limits::blocking_time`](crate::Limits). It must
//! not block longer than that, and returns [`BackendError::TimedOut`] when it gives up. Filesystem
//! calls get no timeout (local file I/O cannot be interrupted): a [`Filesystem`] must never wait
//! on a peer (no FIFOs, sockets or devices). The host measures every such call with the
//! [`MonotonicClock`] in [`Backends`] (except those of a filesystem that cannot block:
//! [`Filesystem::may_block`]) and ends the invocation once the budget is spent.
//!
//! Shipped implementations: [`MemoryFilesystem`], [`MemoryNetwork`] and [`MemoryProcessRunner`]
//! (tests, firmware) everywhere, [`Unavailable`] (refuses everything), and with the `std` feature
//! [`DirFilesystem`], [`TcpNetwork`], [`CommandRunner`], [`OsEntropy`] and [`SystemClock`].
//!
//! Two back-ends serve ungated host calls: an [`EntropySource`] (`random_fill`) and a
//! [`WallClock`] (`clock_now`). Neither is a capability: see `docs/abi.md` for why.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use crate::grant::{DialTarget, GuestPath};

mod memory;
mod monotonic;
mod sorted;
#[cfg(feature = "std")]
mod std_fs;
#[cfg(feature = "std")]
mod std_net;
#[cfg(feature = "std")]
mod std_process;
#[cfg(feature = "std")]
mod std_system;
#[cfg(feature = "tls")]
mod std_tls;

pub use memory::{MemoryFilesystem, MemoryNetwork, MemoryProcessRunner, MemoryService};
#[cfg(feature = "std")]
pub use monotonic::InstantClock;
pub use monotonic::MonotonicClock;
#[cfg(feature = "std")]
pub use std_fs::DirFilesystem;
#[cfg(feature = "std")]
pub use std_net::{Pin, PinError, TcpNetwork};
#[cfg(feature = "std")]
pub use std_process::CommandRunner;
#[cfg(feature = "std")]
pub use std_system::{OsEntropy, SystemClock};
#[cfg(feature = "tls")]
pub use std_tls::TlsRootsError;

/// Why a back-end refused or failed an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BackendError {
    /// The file, host or program does not exist.
    NotFound,
    /// The back-end refused: the request would leave its scope (a symlink escape, an address the
    /// dialer does not allow, a program under a writable directory). Counted as a denial.
    Denied,
    /// The operation ran past its deadline.
    TimedOut,
    /// A size or count limit of the back-end was reached.
    Limit,
    /// The back-end does not offer this operation.
    Unsupported,
    /// Any other I/O failure.
    Io,
    /// The TLS handshake failed: the server's certificate is not valid for the dialled name
    /// under the embedder's trust anchors, or the peer does not speak TLS (or broke it off).
    Tls,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendError::NotFound => "not found",
            BackendError::Denied => "denied by the back-end",
            BackendError::TimedOut => "timed out",
            BackendError::Limit => "back-end limit reached",
            BackendError::Unsupported => "operation not supported by this back-end",
            BackendError::Io => "I/O error",
            BackendError::Tls => "TLS handshake or record failed",
        })
    }
}

impl core::error::Error for BackendError {}

/// A filesystem the host can hand checked requests to.
///
/// Every request names a `scope`: the grant prefix that admitted the path. `path` always lies
/// under `scope` (component-wise). An implementation must resolve `path` beneath `scope` so that
/// nothing (a symlink, a rename) can reach outside it; if it cannot, it returns
/// [`BackendError::Denied`].
pub trait Filesystem: Send + Sync {
    /// Copies up to `dst.len()` bytes from the start of the file at `path` into `dst`, and returns
    /// the file's total size in bytes.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if there is no such file; others as they occur.
    fn read(
        &self,
        scope: &GuestPath,
        path: &GuestPath,
        dst: &mut [u8],
    ) -> Result<u64, BackendError>;

    /// Returns the size in bytes of the file at `path`.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if there is no such file; others as they occur.
    fn size(&self, scope: &GuestPath, path: &GuestPath) -> Result<u64, BackendError>;

    /// Creates or truncates the file at `path` and writes `data` to it. The parent directory must
    /// exist; it is not created.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if the parent directory does not exist; others as they occur.
    fn write(&self, scope: &GuestPath, path: &GuestPath, data: &[u8]) -> Result<(), BackendError>;

    /// Renames the file `from` (under `from_scope`) to `to` (under `to_scope`), replacing `to`.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if `from` does not exist; others as they occur.
    fn rename(
        &self,
        from_scope: &GuestPath,
        from: &GuestPath,
        to_scope: &GuestPath,
        to: &GuestPath,
    ) -> Result<(), BackendError>;

    /// Whether a call can take measurable time (disk or other I/O). The host reads its
    /// [`MonotonicClock`] around each call of a filesystem that may block, and counts the time
    /// against [`Limits::blocking_time`](crate::Limits); for one that cannot (no I/O at all, like
    /// [`MemoryFilesystem`]) it skips the two clock reads. Either way a call is refused once the
    /// budget is spent. The default is `true`: return `false` only if no call ever waits.
    fn may_block(&self) -> bool {
        true
    }
}

/// An open connection made by a [`Network`]. Dropping it closes it.
pub trait Connection: Send {
    /// Sends some of `data` and returns how many bytes were sent, waiting at most `timeout` for
    /// room to send.
    ///
    /// # Errors
    /// As they occur; [`BackendError::TimedOut`] past `timeout` or the connection's own deadline.
    fn send(&mut self, data: &[u8], timeout: Duration) -> Result<usize, BackendError>;

    /// Receives into `buf` and returns how many bytes arrived, waiting at most `timeout`; 0 means
    /// the peer closed.
    ///
    /// # Errors
    /// As they occur; [`BackendError::TimedOut`] past `timeout` or the connection's own deadline.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, BackendError>;
}

/// A network the host can ask to dial a checked `host:port`.
pub trait Network: Send + Sync {
    /// Opens a connection to exactly `target`, taking at most `timeout`. A name is resolved
    /// once; the connection goes to an address from that one resolution.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if the name does not resolve, [`BackendError::Denied`] if the
    /// resolved address is not allowed, [`BackendError::TimedOut`] past `timeout`, others as
    /// they occur.
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError>;

    /// Opens a TLS connection to exactly `target`, as [`Network::dial`] does a TCP one, and
    /// verifies the server: its certificate must chain to the embedder's trust anchors and be
    /// valid for `target`'s host (the name the plugin dialled, sent as SNI). The plugin never
    /// sees a certificate and cannot relax the check. The default refuses (no TLS). `timeout`
    /// bounds the connection and the handshake together.
    ///
    /// # Errors
    /// As [`Network::dial`]; [`BackendError::Tls`] when the handshake or the verification
    /// fails; [`BackendError::Unsupported`] without TLS.
    fn dial_tls(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        let _ = (target, timeout);
        Err(BackendError::Unsupported)
    }
}

/// What a finished program returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ProcessOutput {
    /// The exit status; a program killed by a signal reports `-1`.
    pub status: i32,
    /// How many bytes of standard output were copied into the caller's buffer (the rest, if any,
    /// was discarded).
    pub stdout_len: usize,
}

impl ProcessOutput {
    /// A program that exited with `status` and wrote `stdout_len` bytes into the buffer.
    pub const fn new(status: i32, stdout_len: usize) -> Self {
        ProcessOutput { status, stdout_len }
    }
}

/// A runner for checked argument vectors.
pub trait ProcessRunner: Send + Sync {
    /// Runs `argv[0]` with arguments `argv[1..]`: no shell, an empty environment, no standard
    /// input, a deadline of at most `timeout`. Copies at most `stdout.len()` bytes of its standard
    /// output into `stdout`.
    ///
    /// `argv` is never empty and `argv[0]` is an absolute path the grant admitted.
    ///
    /// # Errors
    /// [`BackendError::NotFound`] if the program does not exist, [`BackendError::TimedOut`] past
    /// the deadline (the program is killed), [`BackendError::Denied`] if the runner refuses it.
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        timeout: Duration,
    ) -> Result<ProcessOutput, BackendError>;
}

/// A source of cryptographically secure random bytes: serves `random_fill`.
///
/// Plugins use these bytes for keys and nonces, so an implementation must draw them from a
/// cryptographically secure generator seeded from real entropy (the OS's `getrandom`, a hardware
/// TRNG), never from a fixed or guessable seed.
pub trait EntropySource: Send + Sync {
    /// Fills all of `dst` with fresh random bytes.
    ///
    /// # Errors
    /// When no entropy is available (the guest sees `IO`; nothing is written to its memory).
    fn fill(&self, dst: &mut [u8]) -> Result<(), BackendError>;
}

/// A wall clock: serves `clock_now`.
///
/// Only whole seconds reach a plugin; an implementation need not be more precise.
pub trait WallClock: Send + Sync {
    /// Whole seconds since the Unix epoch (1970-01-01T00:00:00Z), UTC, negative before it.
    ///
    /// # Errors
    /// When the time is not known (the guest sees `IO`).
    fn unix_seconds(&self) -> Result<i64, BackendError>;
}

/// A back-end that refuses every operation with [`BackendError::Unsupported`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Unavailable;

impl Filesystem for Unavailable {
    fn read(&self, _: &GuestPath, _: &GuestPath, _: &mut [u8]) -> Result<u64, BackendError> {
        Err(BackendError::Unsupported)
    }
    fn size(&self, _: &GuestPath, _: &GuestPath) -> Result<u64, BackendError> {
        Err(BackendError::Unsupported)
    }
    fn write(&self, _: &GuestPath, _: &GuestPath, _: &[u8]) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
    fn rename(
        &self,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
    ) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
    fn may_block(&self) -> bool {
        false
    }
}

impl Network for Unavailable {
    fn dial(&self, _: &DialTarget, _: Duration) -> Result<Box<dyn Connection>, BackendError> {
        Err(BackendError::Unsupported)
    }
}

impl ProcessRunner for Unavailable {
    fn run(&self, _: &[&str], _: &mut [u8], _: Duration) -> Result<ProcessOutput, BackendError> {
        Err(BackendError::Unsupported)
    }
}

impl EntropySource for Unavailable {
    fn fill(&self, _: &mut [u8]) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
}

impl WallClock for Unavailable {
    fn unix_seconds(&self) -> Result<i64, BackendError> {
        Err(BackendError::Unsupported)
    }
}

/// The back-ends a host hands a plugin's privileged requests to.
///
/// Built with [`Backends::unavailable`] and the `with_*` methods; new back-ends may be added in
/// later versions.
#[derive(Clone)]
#[non_exhaustive]
pub struct Backends {
    /// Serves `fs_read`, `fs_size`, `fs_write` and `fs_rename`.
    pub filesystem: Arc<dyn Filesystem>,
    /// Serves `net_dial` and `net_dial_tls` (and the connections they open).
    pub network: Arc<dyn Network>,
    /// Serves `process_exec`.
    pub process: Arc<dyn ProcessRunner>,
    /// Serves `random_fill` (ungated).
    pub entropy: Arc<dyn EntropySource>,
    /// Serves `clock_now` (ungated).
    pub wall_clock: Arc<dyn WallClock>,
    /// Measures the time each invocation spends blocked in the back-ends above
    /// ([`Limits::blocking_time`](crate::Limits)); not a time of day, never shown to plugins.
    /// Without one, the host cannot measure: each blocking call is still given the whole
    /// remaining budget as its timeout, and a call that times out is taken to have used all of it
    /// (see `docs/limits.md`).
    pub monotonic_clock: Option<Arc<dyn MonotonicClock>>,
}

impl Backends {
    /// Back-ends that refuse every privileged operation: a plugin's granted calls still fail
    /// (with `IO`). The ungated ones are the platform's: with the `std` feature the OS's
    /// entropy ([`OsEntropy`]) and clock ([`SystemClock`]); without it none (`random_fill` and
    /// `clock_now` fail with `IO` until the embedder supplies them with
    /// [`Backends::with_entropy`] and [`Backends::with_wall_clock`]). The monotonic clock that
    /// measures blocked time is `InstantClock` with the `std` feature, none without
    /// ([`Backends::with_monotonic_clock`]).
    pub fn unavailable() -> Self {
        Backends {
            filesystem: Arc::new(Unavailable),
            network: Arc::new(Unavailable),
            process: Arc::new(Unavailable),
            entropy: default_entropy(),
            wall_clock: default_wall_clock(),
            monotonic_clock: default_monotonic_clock(),
        }
    }

    /// These back-ends with `filesystem` replaced.
    #[must_use]
    pub fn with_filesystem(mut self, filesystem: Arc<dyn Filesystem>) -> Self {
        self.filesystem = filesystem;
        self
    }

    /// These back-ends with `network` replaced.
    #[must_use]
    pub fn with_network(mut self, network: Arc<dyn Network>) -> Self {
        self.network = network;
        self
    }

    /// These back-ends with `process` replaced.
    #[must_use]
    pub fn with_process(mut self, process: Arc<dyn ProcessRunner>) -> Self {
        self.process = process;
        self
    }

    /// These back-ends with the entropy source replaced (`Arc::new(Unavailable)` for none).
    #[must_use]
    pub fn with_entropy(mut self, entropy: Arc<dyn EntropySource>) -> Self {
        self.entropy = entropy;
        self
    }

    /// These back-ends with the wall clock replaced (`Arc::new(Unavailable)` for none).
    #[must_use]
    pub fn with_wall_clock(mut self, wall_clock: Arc<dyn WallClock>) -> Self {
        self.wall_clock = wall_clock;
        self
    }

    /// These back-ends measuring blocked time with `clock`.
    #[must_use]
    pub fn with_monotonic_clock(mut self, clock: Arc<dyn MonotonicClock>) -> Self {
        self.monotonic_clock = Some(clock);
        self
    }

    /// These back-ends without a monotonic clock: blocked time is bounded per call by the
    /// back-ends' timeouts only (see [`Backends::monotonic_clock`]).
    #[must_use]
    pub fn without_monotonic_clock(mut self) -> Self {
        self.monotonic_clock = None;
        self
    }
}

#[cfg(feature = "std")]
fn default_entropy() -> Arc<dyn EntropySource> {
    Arc::new(OsEntropy)
}

#[cfg(not(feature = "std"))]
fn default_entropy() -> Arc<dyn EntropySource> {
    Arc::new(Unavailable)
}

#[cfg(feature = "std")]
fn default_wall_clock() -> Arc<dyn WallClock> {
    Arc::new(SystemClock)
}

#[cfg(not(feature = "std"))]
fn default_wall_clock() -> Arc<dyn WallClock> {
    Arc::new(Unavailable)
}

#[cfg(feature = "std")]
fn default_monotonic_clock() -> Option<Arc<dyn MonotonicClock>> {
    Some(Arc::new(InstantClock::new()))
}

#[cfg(not(feature = "std"))]
fn default_monotonic_clock() -> Option<Arc<dyn MonotonicClock>> {
    None
}

impl Default for Backends {
    fn default() -> Self {
        Backends::unavailable()
    }
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backends")
            .field("monotonic_clock", &self.monotonic_clock.is_some())
            .finish_non_exhaustive()
    }
}
