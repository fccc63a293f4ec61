//! Server processes: finding their programs, free ports, and stopping each process by the pid
//! this process started.
//!
//! A test that needs a server asks [`program`] for it. Where the program is not installed the test
//! is skipped with a line on stderr, except under CI (`CI=true`), where a missing server fails the
//! test: CI installs every server (`.ci/run`), so a skip there would hide a broken install.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Whether this run is CI (`CI` set to `true` or `1`).
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// The path of an installed program, searched in `PATH` and the sbin directories Debian uses.
///
/// Returns `None` (after saying so on stderr) when it is missing and this is not CI.
///
/// # Panics
/// Under CI when the program is missing.
pub fn program(name: &str, package: &str) -> Option<PathBuf> {
    if let Some(found) = find_program(name) {
        return Some(found);
    }
    assert!(
        !in_ci(),
        "{name} is not installed but CI=true: .ci/run must install the Debian package {package}"
    );
    eprintln!("SKIPPED: {name} is not installed (Debian package {package}); this test needs it");
    None
}

/// The path of an installed program, searched in `PATH` and then in the sbin directories Debian
/// uses (`/usr/sbin`, `/sbin`, `/usr/local/sbin`), or `None`. Unlike [`program`] it says nothing
/// and never fails: for a caller that decides itself what a missing program means.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a server a test is about to start.
///
/// The port is probed and released, and the server binds it a little later. A port the OS picks
/// for `bind(0)` comes from its ephemeral range, which it also uses for the local end of every
/// outgoing connection, so another test's connection could take it in between (pebble then
/// failed with "address already in use"). So ports come from below that range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), which only an explicit bind takes; each is handed
/// out once per process, as tests run on parallel threads; and the search starts at an offset
/// derived from the process id, so two test processes rarely probe the same ports. Where the
/// range cannot be read or leaves no room below it, the OS picks.
///
/// # Panics
/// If no listener can be bound on loopback.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static WINDOW: OnceLock<Option<(u16, u16, u32)>> = OnceLock::new();
    let window = *WINDOW.get_or_init(|| {
        let low = ephemeral_low()?;
        let width = u32::from(low.checked_sub(PORTS_FROM)?);
        (width >= 1024).then(|| {
            (
                PORTS_FROM,
                low,
                std::process::id().wrapping_mul(7919) % width,
            )
        })
    });
    if let Some((from, to, start)) = window {
        let width = u32::from(to - from);
        for _ in 0..width {
            let next = NEXT.fetch_add(1, Ordering::Relaxed);
            let offset = start.wrapping_add(next) % width;
            let Ok(port) = u16::try_from(u32::from(from) + offset) else {
                continue;
            };
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The lowest port [`free_port`] hands out.
const PORTS_FROM: u16 = 10_000;

/// The first port of the kernel's ephemeral range, where Linux says it.
fn ephemeral_low() -> Option<u16> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    range.split_whitespace().next()?.parse().ok()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
///
/// # Errors
/// `TimedOut` after `limit`.
pub fn wait_for_port(port: u16, limit: Duration) -> io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(50));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("nothing listens on 127.0.0.1:{port} after {limit:?}"),
    ))
}

/// How long [`Server`]'s drop waits for a process to exit after `SIGTERM`.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A server process this test started; dropping it stops and reaps exactly that pid.
///
/// The drop sends `SIGTERM` and waits up to 5 s, so a server that has children of its own
/// (nginx's workers) stops them before it exits; only then, or if the signal cannot be sent,
/// `SIGKILL`.
pub struct Server {
    name: String,
    child: Child,
}

impl Server {
    /// Starts `command` (stdout and stderr go to `log` in the server's temporary directory).
    ///
    /// # Errors
    /// If the program cannot be started or the log cannot be created.
    pub fn start(name: &str, mut command: Command, log: &Path) -> io::Result<Server> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = command.stdout(out).stderr(err).spawn()?;
        Ok(Server {
            name: name.to_string(),
            child,
        })
    }

    /// The pid this test started.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok() {
                let start = Instant::now();
                while start.elapsed() < STOP_GRACE {
                    if !matches!(self.child.try_wait(), Ok(None)) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
        eprintln!(
            "{} (pid {}) did not stop on SIGTERM: killing it",
            self.name,
            self.child.id()
        );
        if let Err(e) = self.child.kill() {
            eprintln!("stopping {} (pid {}): {e}", self.name, self.child.id());
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..300).map(|_| free_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
        for &port in &ports[..20] {
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port is free");
        }
        if let Some(low) = ephemeral_low().filter(|&low| low >= PORTS_FROM + 1024) {
            assert!(
                ports.iter().all(|&p| (PORTS_FROM..low).contains(&p)),
                "every port below the ephemeral range ({low}): {ports:?}"
            );
        }
    }
}
