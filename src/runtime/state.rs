//! The data every plugin store carries: its grant, back-ends, limits, the current invocation's
//! input/output/handles, fuel bookkeeping and call counters.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{Memory, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};
use wasmi_core::LimiterError;

use super::blocking::BlockingBudget;
use super::config::{HostCallCosts, Limits};
use super::handles::HandleTable;
use super::logs::GuestLogs;
use super::stats::{CallCounts, DenialLog, Target};
use crate::abi::{CallFault, ErrorCode};
use crate::backend::{BackendError, Backends};
use crate::capability::Capability;
use crate::grant::{Grant, GuestPath};

/// Per-invocation buffers; cleared when an invocation starts and ends (the logs and counters
/// are kept until the next one starts).
pub(crate) struct Invocation {
    pub(crate) input: Vec<u8>,
    pub(crate) output: Vec<u8>,
    pub(crate) log_bytes: usize,
    /// The log lines, bounded by `Limits::log_bytes`.
    pub(crate) logs: GuestLogs,
    /// Bytes the last invocation wrote with `output_write` (the output itself is handed out).
    pub(crate) output_bytes: usize,
    /// `output_write` calls refused with `LIMIT`.
    pub(crate) output_refused: u64,
    /// `log` calls refused with `LIMIT`.
    pub(crate) log_refused: u64,
}

/// The store's resource limiter: wasmi's [`StoreLimits`], counting the grows it refuses.
#[derive(Debug)]
pub(crate) struct GrowthLimiter {
    limits: StoreLimits,
    pub(crate) memory_refused: u64,
    pub(crate) table_refused: u64,
}

impl ResourceLimiter for GrowthLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_refused = self.memory_refused.saturating_add(1);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = self.limits.table_growing(current, desired, maximum)?;
        if !allowed {
            self.table_refused = self.table_refused.saturating_add(1);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(
        &mut self,
        error: &wasmi::errors::MemoryError,
    ) -> Result<(), LimiterError> {
        self.memory_refused = self.memory_refused.saturating_add(1);
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: &wasmi::errors::TableError) -> Result<(), LimiterError> {
        self.table_refused = self.table_refused.saturating_add(1);
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Fuel bookkeeping of the running slice, read by host calls to charge against the whole
/// invocation's budget.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FuelAccount {
    /// Fuel given to the store at the start of the slice.
    pub(crate) slice_given: u64,
    /// The invocation's remaining budget at the start of the slice.
    pub(crate) remaining_at_slice_start: u64,
    /// Host-call fuel charged beyond the slice, paid from the next one.
    pub(crate) debt: u64,
}

impl FuelAccount {
    /// The invocation's remaining budget, given the fuel the slice has left.
    pub(crate) fn total_left(&self, slice_left: u64) -> u64 {
        let spent_in_slice = self.slice_given.saturating_sub(slice_left);
        self.remaining_at_slice_start
            .saturating_sub(spent_in_slice)
            .saturating_sub(self.debt)
    }

    /// Starts a slice with `given` fuel out of `remaining`.
    pub(crate) fn begin_slice(&mut self, given: u64, remaining: u64) {
        self.slice_given = given;
        self.remaining_at_slice_start = remaining;
        self.debt = 0;
    }

    /// Fuel the slice consumed, given what the store has left.
    pub(crate) fn slice_used(&self, slice_left: u64) -> u64 {
        self.slice_given
            .saturating_sub(slice_left)
            .saturating_add(self.debt)
    }
}

/// Fuel the slice that just ended in `store` consumed, not capped at the invocation's budget:
/// what its fuel went down by, host calls charged beyond it, and translations after an eviction
/// that it did not cover (`Limits::translated_code_bytes`).
pub(crate) fn slice_charged(store: &mut Store<HostState>) -> u64 {
    let left = store.get_fuel().unwrap_or(0);
    let unpaid = store.take_unpaid_fuel();
    store.data().fuel.slice_used(left).saturating_add(unpaid)
}

/// What a plugin's calls came to: gated calls allowed and denied, denials per import, and other
/// refusals. Kept across instance rebuilds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) counts: CallCounts,
    pub(crate) denials: DenialLog,
    /// Host calls refused with a code other than `DENIED` (`INVALID`, `LIMIT`, ...).
    pub(crate) refused: u64,
}

#[cfg_attr(
    not(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
    allow(dead_code)
)]
impl Ledger {
    /// Counts one gated call of `import` (needing `capability`) by `plugin` as allowed or denied;
    /// a denial is recorded with its `target`.
    #[inline]
    pub(crate) fn record(
        &mut self,
        plugin: &str,
        (capability, import): (Capability, &'static str),
        allowed: bool,
        target: Target<'_>,
    ) {
        self.counts.record(capability, allowed);
        if !allowed {
            self.deny(plugin, capability, import, target);
        }
    }

    /// Records a denial (not counted as allowed before).
    #[cold]
    #[inline(never)]
    fn deny(
        &mut self,
        plugin: &str,
        capability: Capability,
        import: &'static str,
        target: Target<'_>,
    ) {
        self.denials.record(capability, import, target);
        host_log!(
            debug,
            "plugin {}: denied {} ({})",
            plugin,
            import,
            capability
        );
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = plugin;
    }

    /// Maps a back-end failure of an admitted call to the guest's code; a back-end denial turns
    /// the call's count into a denial of `target`.
    pub(crate) fn backend_fault<'a>(
        &'a mut self,
        plugin: &'a str,
        (capability, import): (Capability, &'static str),
        target: Target<'a>,
    ) -> impl FnOnce(BackendError) -> CallFault + 'a {
        move |error| {
            if error == BackendError::Denied {
                self.counts.revoke(capability);
                self.denials.record(capability, import, target);
                host_log!(
                    debug,
                    "plugin {}: back-end denied {} ({})",
                    plugin,
                    import,
                    capability
                );
                #[cfg(not(any(feature = "log", feature = "defmt")))]
                let _ = plugin;
            }
            CallFault::Code(ErrorCode::from(error))
        }
    }
}

/// The store data of one plugin.
pub(crate) struct HostState {
    pub(crate) name: String,
    pub(crate) grant: Arc<Grant>,
    pub(crate) backends: Backends,
    pub(crate) limits: Limits,
    pub(crate) costs: HostCallCosts,
    pub(crate) limiter: GrowthLimiter,
    pub(crate) memory: Option<Memory>,
    pub(crate) invocation: Invocation,
    pub(crate) handles: HandleTable,
    pub(crate) fuel: FuelAccount,
    /// Time left for blocking back-end calls in this invocation (or start function).
    #[cfg_attr(
        not(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
        allow(dead_code)
    )]
    pub(crate) blocking: BlockingBudget,
    /// Whether the filesystem back-end may block (`Filesystem::may_block`, asked once): only
    /// then are its calls measured against the blocking time.
    #[cfg_attr(not(feature = "cap-fs"), allow(dead_code))]
    pub(crate) filesystem_blocks: bool,
    pub(crate) ledger: Ledger,
    /// A reusable buffer for `fs_read` and `random_fill` (at most `Limits::call_bytes`).
    pub(crate) scratch: Vec<u8>,
    /// Reusable buffers for a host call's guest paths (`fs_rename` takes two), so a gated call
    /// parses its path without allocating.
    #[cfg_attr(not(feature = "cap-fs"), allow(dead_code))]
    pub(crate) paths: [GuestPath; 2],
}

impl HostState {
    pub(crate) fn new(
        name: String,
        grant: Arc<Grant>,
        backends: Backends,
        limits: Limits,
        costs: HostCallCosts,
        ledger: Ledger,
    ) -> HostState {
        let blocking = BlockingBudget::new(limits.blocking_time, backends.monotonic_clock.clone());
        let filesystem_blocks = backends.filesystem.may_block();
        HostState {
            name,
            grant,
            backends,
            limiter: GrowthLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .table_elements(limits.table_elements)
                    .instances(limits.instances)
                    .tables(limits.tables)
                    .memories(limits.memories)
                    .trap_on_grow_failure(false)
                    .build(),
                memory_refused: 0,
                table_refused: 0,
            },
            handles: HandleTable::new(limits.net_handles),
            blocking,
            filesystem_blocks,
            limits,
            costs,
            memory: None,
            invocation: Invocation {
                input: Vec::new(),
                output: Vec::new(),
                log_bytes: 0,
                logs: GuestLogs::default(),
                output_bytes: 0,
                output_refused: 0,
                log_refused: 0,
            },
            fuel: FuelAccount::default(),
            ledger,
            scratch: Vec::new(),
            paths: [GuestPath::root(), GuestPath::root()],
        }
    }

    #[cfg_attr(
        not(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
        allow(dead_code)
    )]
    /// Counts one gated call of `import` (needing `capability`) as allowed or denied; a denial
    /// is recorded with its `target`.
    pub(crate) fn record(
        &mut self,
        call: (Capability, &'static str),
        allowed: bool,
        target: Target<'_>,
    ) {
        self.ledger.record(&self.name, call, allowed, target);
    }

    /// Prepares the buffers for a new invocation.
    pub(crate) fn begin_invocation(&mut self, input: &[u8]) {
        self.invocation.input.clear();
        self.invocation.input.extend_from_slice(input);
        self.invocation.output.clear();
        self.invocation.log_bytes = 0;
        self.invocation.logs.clear();
        self.invocation.output_bytes = 0;
        self.invocation.output_refused = 0;
        self.invocation.log_refused = 0;
        self.limiter.memory_refused = 0;
        self.limiter.table_refused = 0;
        self.handles.close_all();
        self.blocking.reset();
    }

    /// Closes the invocation's connections and hands out its output.
    pub(crate) fn end_invocation(&mut self) -> Vec<u8> {
        self.handles.close_all();
        // Keep the input buffer's capacity for the next invocation (it is bounded by
        // `Limits::input_bytes`); the output is handed to the caller.
        self.invocation.input.clear();
        self.invocation.output_bytes = self.invocation.output.len();
        core::mem::take(&mut self.invocation.output)
    }
}
