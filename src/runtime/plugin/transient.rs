//! [`Residency::Transient`]: a plugin lets go of its engine, module, translated code, instance and
//! linear memory once an invocation ends, and loads its module again before the next one.

use alloc::boxed::Box;
use alloc::string::String;

use wasmi::{Engine, Module, Store};

use super::{compile, link, Plugin, Wasm};
use crate::runtime::config::{HostConfig, Residency};
use crate::runtime::error::LoadError;

/// The smallest valid module: a released plugin's module, on an engine that holds no code.
const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

/// A transient plugin's module bytes.
enum Bytes {
    /// Borrowed for good ([`Host::load_static`](crate::Host::load_static)).
    Static(&'static [u8]),
    /// Copied at load ([`Host::load`](crate::Host::load) lends them for the load only).
    Copied(Box<[u8]>),
}

/// What a transient plugin needs to load its module again.
pub(super) struct Transient {
    bytes: Bytes,
    /// The configuration it was loaded with (it may later be invoked through another host).
    config: HostConfig,
    /// While released: the size its linear memory had.
    released_memory_bytes: Option<usize>,
}

impl Transient {
    /// `Some` under [`Residency::Transient`].
    pub(super) fn new(config: &HostConfig, wasm: Wasm<'_>) -> Option<Transient> {
        let bytes = match (config.residency, wasm) {
            (Residency::Resident, _) => return None,
            (Residency::Transient, Wasm::Static(bytes)) => Bytes::Static(bytes),
            (Residency::Transient, Wasm::Lent(bytes)) => Bytes::Copied(bytes.into()),
        };
        Some(Transient {
            bytes,
            config: *config,
            released_memory_bytes: None,
        })
    }
}

impl Plugin {
    /// Whether the plugin is released: transient, between invocations.
    pub(super) fn is_released(&self) -> bool {
        self.released_memory_bytes().is_some()
    }

    /// While released, the size its linear memory had.
    pub(super) fn released_memory_bytes(&self) -> Option<usize> {
        self.transient.as_ref()?.released_memory_bytes
    }

    /// Under [`Residency::Transient`], drops the engine, module, translated code, instance and
    /// linear memory, keeping the plugin's own state: grant, counters, denials, and the last
    /// invocation's logs and usage. Nothing happens for a resident plugin.
    pub(crate) fn release(&mut self) {
        if self.transient.is_none() || self.is_released() {
            return;
        }
        let engine = Engine::default();
        let Ok(empty) = Module::new(&engine, EMPTY_MODULE) else {
            // Not expected; the plugin then simply stays loaded.
            return;
        };
        let memory_bytes = self.memory_size();
        self.instance = None;
        self.entry = None;
        self.module = empty;
        let mut state = self.fresh_state();
        let old = self.store.data_mut();
        core::mem::swap(&mut state.invocation, &mut old.invocation);
        state.limiter.memory_refused = old.limiter.memory_refused;
        state.limiter.table_refused = old.limiter.table_refused;
        self.store = Store::new(&engine, state);
        if let Some(transient) = &mut self.transient {
            transient.released_memory_bytes = Some(memory_bytes);
        }
    }

    /// Validates, compiles, links and instantiates the module again after [`Plugin::release`],
    /// with the configuration and link mode of its load.
    ///
    /// # Errors
    /// As the load, should the module no longer load (the plugin then stays released).
    pub(super) fn reload(&mut self) -> Result<(), LoadError> {
        let Some(transient) = &self.transient else {
            return Err(LoadError::Engine(String::from("not a transient plugin")));
        };
        let wasm = match &transient.bytes {
            Bytes::Static(bytes) => Wasm::Static(bytes),
            Bytes::Copied(bytes) => Wasm::Lent(bytes),
        };
        let module = compile(&transient.config, wasm)?;
        let linker = link(&module, &self.store.data().grant, self.mode)?;
        let state = self.fresh_state();
        self.store = Store::new(module.engine(), state);
        self.module = module;
        self.instance = None;
        self.entry = None;
        if let Some(transient) = &mut self.transient {
            transient.released_memory_bytes = None;
        }
        self.stats.reloads += 1;
        self.instantiate(&linker)
    }
}
