//! The runtime: host, plugins, invocations, fuel, the invocation pool and statistics.

use alloc::string::String;

mod call;
mod config;
mod error;
mod fault;
mod handles;
mod host;
mod plugin;
mod pool;
mod state;
mod stats;

pub use call::{Call, Completion, Step};
pub use config::{HostCallCosts, HostConfig, Limits};
pub use error::{InvokeError, LoadError, Trap};
pub use host::Host;
pub use plugin::Plugin;
pub use stats::{CallCounts, HostStats, PluginStats};

pub(crate) use plugin::{compile, engine_config};
pub(crate) use state::HostState;

/// The `name=` line of a module's manifest section, if any.
fn manifest_name(module: &wasmi::Module) -> Option<String> {
    let section = module
        .custom_sections()
        .find(|s| s.name() == crate::MANIFEST_SECTION)?;
    let text = core::str::from_utf8(section.data()).ok()?;
    let name = text.lines().find_map(|line| line.strip_prefix("name="))?;
    let valid = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| String::from(name))
}
