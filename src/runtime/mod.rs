//! The runtime: host, plugins, invocations, fuel, the invocation pool and statistics.

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

pub(crate) use plugin::{compile, engine_config};
pub(crate) use state::HostState;
