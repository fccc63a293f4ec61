//! The agent's back-ends: the real filesystem, network and process runner of `pluginhost`,
//! plus two thin adapters an appliance needs, and counters for the containment drill.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pluginhost::{
    BackendError, CommandRunner, Connection, DialTarget, Network, ProcessOutput, ProcessRunner,
    TcpNetwork,
};

/// `net.dial` through a routing table. A plugin dials the name and port it was granted
/// (`ca.local:8443`); a route sends that exact target to the port the service really listens
/// on, and the dial goes through [`TcpNetwork`], which resolves the name once with its resolver
/// and applies its address policy (loopback allowed here, private ranges refused).
///
/// The route is needed because `TcpNetwork` connects on the target's port whatever its resolver
/// returns, and the demo CA listens on an ephemeral loopback port. On a real appliance
/// `ca.local` would resolve through DNS to the CA, port 8443, with no route at all.
pub struct RoutedNetwork {
    routes: Vec<(DialTarget, u16)>,
    tcp: TcpNetwork,
    dials: AtomicU64,
}

impl RoutedNetwork {
    /// A network where `ca_name:granted_port` reaches 127.0.0.1:`real_port`, and no other name
    /// resolves.
    pub fn loopback_ca(ca_name: &str, granted_port: u16, real_port: u16) -> Result<Self, String> {
        let name = ca_name.to_string();
        let tcp = TcpNetwork::new()
            .allow_loopback(true)
            .connect_timeout(Duration::from_secs(2))
            .io_timeout(Duration::from_secs(5))
            .resolve_with(Arc::new(move |host: &str, port: u16| {
                if host == name {
                    Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))])
                } else {
                    Err(io::Error::new(io::ErrorKind::NotFound, "unknown host"))
                }
            }));
        let from = DialTarget::parse(&format!("{ca_name}:{granted_port}"))
            .map_err(|e| format!("route {ca_name}:{granted_port}: {e}"))?;
        Ok(RoutedNetwork {
            routes: vec![(from, real_port)],
            tcp,
            dials: AtomicU64::new(0),
        })
    }

    /// Dials that reached this back-end (granted ones only: the host denies the rest first).
    pub fn dials(&self) -> u64 {
        self.dials.load(Ordering::SeqCst)
    }
}

impl Network for RoutedNetwork {
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        self.dials.fetch_add(1, Ordering::SeqCst);
        let routed = self
            .routes
            .iter()
            .find(|(from, _)| from == target)
            .map(|(_, port)| DialTarget {
                host: target.host.clone(),
                port: *port,
            });
        self.tcp.dial(routed.as_ref().unwrap_or(target), timeout)
    }
}

/// `process.exec` of guest program paths mapped to real programs: `/usr/sbin/reload-service`
/// runs the agent's reload script. Unmapped programs do not exist (`NOT_FOUND`). Mapped ones
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
