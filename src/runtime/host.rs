//! The host: configuration, back-ends and the invocation pool shared by every plugin it loads.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::call::{Call, Completion};
use super::config::{HostConfig, Residency};
use super::error::{InvokeError, LoadError};
use super::plugin::{LinkMode, Plugin, Wasm};
use super::pool::Pool;
use super::stats::HostStats;
use crate::backend::Backends;
use crate::grant::Grant;

/// Loads plugins and invokes them under fuel budgets and a host-wide invocation pool.
///
/// A `Host` is `Send + Sync`: share it between threads (e.g. in an `Arc`); each [`Plugin`] is
/// `Send` and is invoked through `&mut`.
#[derive(Debug)]
pub struct Host {
    config: HostConfig,
    backends: Backends,
    pool: Pool,
}

impl Host {
    /// A host whose back-ends refuse everything ([`Backends::unavailable`]).
    pub fn new(config: HostConfig) -> Host {
        Host::with_backends(config, Backends::unavailable())
    }

    /// A host that hands admitted requests to `backends`.
    pub fn with_backends(config: HostConfig, backends: Backends) -> Host {
        Host {
            pool: Pool::new(config.max_concurrent),
            config,
            backends,
        }
    }

    /// The host's configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The host's back-ends.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// The invocation pool's counters.
    pub fn stats(&self) -> HostStats {
        self.pool.stats()
    }

    /// Validates, compiles, links and instantiates a plugin under `grant`, with the host's
    /// back-ends. A `.wasm` module only: text must be converted first.
    ///
    /// # Errors
    /// [`LoadError::UnknownImport`] for an import the capability table does not list,
    /// [`LoadError::NotGranted`] for one whose capability `grant` lacks,
    /// [`LoadError::ImportSignature`] for a wrong signature, [`LoadError::InvalidModule`],
    /// limit errors, and start-function faults.
    pub fn load(&self, wasm: &[u8], grant: Grant) -> Result<Plugin, LoadError> {
        self.load_with_backends(wasm, grant, self.backends.clone())
    }

    /// As [`Host::load`], with back-ends for this plugin only.
    ///
    /// # Errors
    /// As [`Host::load`].
    pub fn load_with_backends(
        &self,
        wasm: &[u8],
        grant: Grant,
        backends: Backends,
    ) -> Result<Plugin, LoadError> {
        Plugin::load(
            &self.config,
            Wasm::Lent(wasm),
            grant,
            backends,
            LinkMode::Granted,
        )
    }

    /// As [`Host::load`], for a module that lives as long as the program (`include_bytes!`; in
    /// flash on a device). The same checks run and the plugin behaves the same; the difference is
    /// RAM: with [`Translation::Lazy`](crate::Translation::Lazy) each function waiting for its
    /// first call borrows its body from `wasm` instead of keeping a heap copy (under
    /// [`Translation::Eager`](crate::Translation::Eager) there is no difference).
    ///
    /// # Errors
    /// As [`Host::load`].
    pub fn load_static(&self, wasm: &'static [u8], grant: Grant) -> Result<Plugin, LoadError> {
        self.load_static_with_backends(wasm, grant, self.backends.clone())
    }

    /// As [`Host::load_static`], with back-ends for this plugin only.
    ///
    /// # Errors
    /// As [`Host::load`].
    pub fn load_static_with_backends(
        &self,
        wasm: &'static [u8],
        grant: Grant,
        backends: Backends,
    ) -> Result<Plugin, LoadError> {
        Plugin::load(
            &self.config,
            Wasm::Static(wasm),
            grant,
            backends,
            LinkMode::Granted,
        )
    }

    /// Loads with every host function linked and an empty grant, so each privileged call is
    /// denied and counted: how the conformance check observes a candidate.
    pub(crate) fn load_probe(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        // Resident: the probe lives for one invocation, and a released probe would copy the
        // candidate to load it again.
        Plugin::load(
            &self.config.with_residency(Residency::Resident),
            Wasm::Lent(wasm),
            Grant::none(),
            Backends::unavailable(),
            LinkMode::Probe,
        )
    }

    /// Starts an invocation of `entry` with `input`, to be advanced with [`Call::resume`].
    /// Rebuilds the plugin's instance first if an earlier fault discarded it, or loads the
    /// module again if `Residency::Transient` released it.
    ///
    /// # Errors
    /// [`InvokeError::Busy`] at once when the pool is full, [`InvokeError::InputTooLarge`],
    /// [`InvokeError::NoEntry`], [`InvokeError::Rebuild`].
    pub fn start<'a>(
        &'a self,
        plugin: &'a mut Plugin,
        entry: &str,
        input: &[u8],
    ) -> Result<Call<'a>, InvokeError> {
        let permit = self.pool.try_enter().ok_or(InvokeError::Busy)?;
        let limit = plugin.store.data().limits.input_bytes;
        if input.len() > limit {
            return Err(InvokeError::InputTooLarge {
                size: input.len(),
                limit,
            });
        }
        if plugin.instance.is_none() {
            if let Err(e) = plugin.rebuild() {
                plugin.release();
                return Err(InvokeError::Rebuild(e));
            }
        }
        let Some(func) = plugin.entry(entry) else {
            plugin.release();
            return Err(InvokeError::NoEntry { name: entry.into() });
        };
        plugin.store.data_mut().begin_invocation(input);
        plugin.stats.invocations += 1;
        plugin.last_fuel_exhausted = false;
        Ok(Call::new(plugin, permit, func))
    }

    /// Runs `entry` to completion and returns its status, output and fuel used, whatever the
    /// status.
    ///
    /// # Errors
    /// As [`Host::start`] and [`Call::resume`].
    pub fn call(
        &self,
        plugin: &mut Plugin,
        entry: &str,
        input: &[u8],
    ) -> Result<Completion, InvokeError> {
        self.start(plugin, entry, input)?.finish()
    }

    /// Runs `entry` to completion and returns its output if it returned 0.
    ///
    /// # Errors
    /// [`InvokeError::Failed`] for a non-zero status, and as [`Host::call`].
    pub fn invoke(
        &self,
        plugin: &mut Plugin,
        entry: &str,
        input: &[u8],
    ) -> Result<Vec<u8>, InvokeError> {
        let completion = self.call(plugin, entry, input)?;
        if completion.status == 0 {
            Ok(completion.output)
        } else {
            Err(InvokeError::Failed {
                status: completion.status,
            })
        }
    }

    /// Sends `request` encoded with postcard, and decodes the output as `Resp`.
    ///
    /// # Errors
    /// [`InvokeError::Encode`], [`InvokeError::Decode`], and as [`Host::invoke`].
    pub fn invoke_typed<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        plugin: &mut Plugin,
        entry: &str,
        request: &Req,
    ) -> Result<Resp, InvokeError> {
        let input = postcard::to_allocvec(request).map_err(|_| InvokeError::Encode)?;
        let output = self.invoke(plugin, entry, &input)?;
        postcard::from_bytes(&output).map_err(|_| InvokeError::Decode)
    }
}
