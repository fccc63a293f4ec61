//! The agent's back-ends: the real filesystem, network and process runner of `pluginhost`,
//! plus two thin adapters an appliance needs, and counters for the containment drill.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pluginhost::{
    BackendError, CommandRunner, Connection, DialTarget, Network, Pin, ProcessOutput,
    ProcessRunner, TcpNetwork,
};

/// `net.dial` through [`TcpNetwork`] with the operator's pins, counting the dials that reach it.
/// A plugin dials the name and port it was granted (`acme.example:14000`); a pin (the policy's
/// `resolve` entries, and those of the servers the demo starts) sends that exact target to the
/// address and port the service really listens on, without asking DNS. `TcpNetwork` applies its
/// address policy to the pinned address (loopback allowed here, private ranges refused) and, for
/// TLS dials, verifies the server for the granted name against the trust anchors.
///
/// On a real appliance `acme.example` would resolve through DNS to the CA, with no pin.
pub struct RoutedNetwork {
    tcp: TcpNetwork,
    dials: Mutex<BTreeMap<String, u64>>,
}

impl RoutedNetwork {
    /// A network with `pins` where no other name resolves, verifying TLS servers against the
    /// certificates in `tls_roots_pem` (none: TLS dials fail).
    pub fn with_pins(pins: &[Pin], tls_roots_pem: Option<&[u8]>) -> Result<Self, String> {
        let mut tcp = TcpNetwork::new()
            .allow_loopback(true)
            .connect_timeout(Duration::from_secs(2))
            .io_timeout(Duration::from_secs(5))
            .resolve_with(Arc::new(|_: &str, _: u16| {
                Err(io::Error::new(io::ErrorKind::NotFound, "unknown host"))
            }));
        for pin in pins {
            tcp = tcp.pin(pin.clone());
        }
        if let Some(pem) = tls_roots_pem {
            tcp = tcp
                .tls_roots_pem(pem)
                .map_err(|e| format!("TLS trust anchors: {e}"))?;
        }
        Ok(RoutedNetwork {
            tcp,
            dials: Mutex::new(BTreeMap::new()),
        })
    }

    /// Dials that reached this back-end (granted ones only: the host denies the rest first).
    pub fn dials(&self) -> u64 {
        self.dialled().iter().map(|(_, n)| n).sum()
    }

    /// The same by target, `host:port` (`host:port (TLS)` for TLS dials).
    pub fn dialled(&self) -> Vec<(String, u64)> {
        self.dials
            .lock()
            .map(|d| d.iter().map(|(t, n)| (t.clone(), *n)).collect())
            .unwrap_or_default()
    }

    fn count(&self, target: String) {
        if let Ok(mut dials) = self.dials.lock() {
            *dials.entry(target).or_default() += 1;
        }
    }
}

impl Network for RoutedNetwork {
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        self.count(target.to_string());
        self.tcp.dial(target, timeout)
    }

    fn dial_tls(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        self.count(format!("{target} (TLS)"));
        self.tcp.dial_tls(target, timeout)
    }
}

/// `process.exec` of guest program paths mapped to real programs: `/usr/sbin/nginx` runs the
/// nginx the demo found, `/usr/sbin/reload-service` the agent's reload script. Unmapped
/// programs do not exist (`NOT_FOUND`). Mapped ones
/// run through [`CommandRunner`]: no shell, an empty environment, a deadline, and nothing under
/// the plugins' writable root.
pub struct MappedPrograms {
    map: Vec<(String, PathBuf)>,
    runner: CommandRunner,
    runs: AtomicU64,
}

impl MappedPrograms {
    pub fn new(map: Vec<(String, PathBuf)>, runner: CommandRunner) -> Self {
        MappedPrograms {
            map,
            runner,
            runs: AtomicU64::new(0),
        }
    }

    /// Programs that reached this back-end.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }
}

impl ProcessRunner for MappedPrograms {
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        timeout: Duration,
    ) -> Result<ProcessOutput, BackendError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let (program, args) = argv.split_first().ok_or(BackendError::NotFound)?;
        let real = self
            .map
            .iter()
            .find(|(guest, _)| guest == program)
            .map(|(_, real)| real)
            .ok_or(BackendError::NotFound)?;
        let real = real.to_str().ok_or(BackendError::Io)?;
        let mut mapped = Vec::with_capacity(argv.len());
        mapped.push(real);
        mapped.extend_from_slice(args);
        self.runner.run(&mapped, stdout, timeout)
    }
}
