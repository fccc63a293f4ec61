//! Hosts and grants for a test: configuration, back-ends, grants from specs.

use std::sync::Arc;

use pluginhost::{Backends, Filesystem, Grant, Host, HostConfig, Limits, Network, ProcessRunner};

/// A host configuration with limits changed by `f`.
pub fn config_with(f: impl FnOnce(&mut Limits)) -> HostConfig {
    let mut limits = Limits::DEFAULT;
    f(&mut limits);
    HostConfig::default().with_limits(limits)
}

/// A host whose filesystem is `fs` (the other back-ends refuse everything).
pub fn host_with_fs(config: HostConfig, fs: Arc<dyn Filesystem>) -> Host {
    Host::with_backends(config, Backends::unavailable().with_filesystem(fs))
}

/// A grant from command-line style specs (`fs.read=/data`, `net.dial=host:port`, ...).
#[track_caller]
pub fn grant(specs: &[&str]) -> Grant {
    specs
        .iter()
        .try_fold(Grant::none(), |g, s| g.with_spec(s))
        .unwrap_or_else(|e| panic!("grant {specs:?}: {e}"))
}

/// A host whose network is `network` (the other back-ends refuse everything).
pub fn host_with_network(config: HostConfig, network: Arc<dyn Network>) -> Host {
    Host::with_backends(config, Backends::unavailable().with_network(network))
}

/// A host whose process runner is `runner` (the other back-ends refuse everything).
pub fn host_with_process(config: HostConfig, runner: Arc<dyn ProcessRunner>) -> Host {
    Host::with_backends(config, Backends::unavailable().with_process(runner))
}
