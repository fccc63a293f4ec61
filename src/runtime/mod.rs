//! The runtime: host, plugins, invocations, fuel, the invocation pool and statistics.

mod blocking;
mod call;
mod config;
mod error;
mod fault;
mod handles;
mod host;
mod logs;
mod plugin;
mod pool;
mod prescan;
mod state;
mod stats;

pub use call::{Call, Completion, Step};
pub use config::{HostCallCosts, HostConfig, Limits, Residency, Translation};
pub(crate) use error::text;
pub use error::{InvokeError, LoadError, Trap};
pub use host::Host;
pub use logs::{GuestLogs, LogLevel, LogLine, LogLines, UnknownLogLevel};
pub use plugin::Plugin;
#[cfg(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process"))]
pub(crate) use stats::Target;
pub use stats::{
    CallCounts, Denial, DenialLog, DeniedTarget, HostStats, PluginStats, Usage, DENIED_TARGETS,
    DENIED_TARGET_BYTES,
};

#[cfg(feature = "cap-fs")]
pub(crate) use blocking::BlockingBudget;
pub(crate) use plugin::{compile, Wasm};
pub use plugin::{engine_config, RETRANSLATION_FUEL_PER_BYTE};
pub(crate) use state::HostState;
#[cfg(feature = "cap-net")]
pub(crate) use state::Ledger;
