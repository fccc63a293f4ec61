//! The runtime: host, plugins, invocations, fuel, the invocation pool and statistics.

use alloc::string::String;

mod blocking;
mod call;
mod config;
mod error;
mod fault;
mod handles;
mod host;
mod plugin;
mod pool;
mod prescan;
mod state;
mod stats;

pub use call::{Call, Completion, Step};
pub use config::{HostCallCosts, HostConfig, Limits};
pub use error::{InvokeError, LoadError, Trap};
pub use host::Host;
pub use plugin::Plugin;
pub use stats::{CallCounts, Denial, DenialLog, HostStats, PluginStats};

#[cfg(feature = "cap-fs")]
pub(crate) use blocking::BlockingBudget;
pub(crate) use plugin::compile;
pub(crate) use state::HostState;

/// The name from a module's manifest, if it has a valid one.
fn manifest_name(module: &wasmi::Module) -> Option<String> {
    crate::inspect::manifest_of(module)?.ok().map(|m| m.name)
}
