//! Exit statuses: one table for every subcommand, and the mapping from error kinds to it.

use std::process::ExitCode;

/// What a `pluginhost` run came to, as its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: the plugin ran and succeeded (`run`), was admitted (`check`), is valid (`inspect`).
    Success = 0,
    /// 1: the plugin ran and failed: a non-zero status, a failure response, or a response that
    /// does not decode.
    PluginFailed = 1,
    /// 2: usage or I/O error: bad arguments, an unreadable file, a request that does not fit
    /// the message type. Nothing ran.
    Usage = 2,
    /// 3: refused: not admitted by the gate, an import not granted or unknown, not a valid
    /// module, no such entry, a digest mismatch, a grant wider than the manifest (`--strict`).
    Refused = 3,
    /// 4: stopped by the host: fuel, a trap, a memory or size limit, a deadline.
    Stopped = 4,
}

/// The table printed by `--help` and in the README.
pub const TABLE: &str = "\
Exit status:
  0  success: the plugin ran and returned 0 with no failure response (run), was admitted
     (check), is a valid module (inspect)
  1  the plugin failed: it returned non-zero, answered with a failure response, or wrote a
     response that does not decode
  2  usage or I/O error: nothing ran (bad arguments, unreadable file, --request that does not
     fit the message type)
  3  refused: not admitted by the gate, not granted, unknown import, not a valid module, no
     such entry, --sha256 mismatch, a grant wider than the manifest with --strict
  4  stopped: out of fuel, trapped, over a memory or size limit, past a deadline";

impl Exit {
    /// The row of an error `kind` (as `LoadError::kind`, `InvokeError::kind` and the CLI's own
    /// kinds spell it). A kind this table does not know is a failure that stopped the plugin:
    /// never success.
    pub fn for_kind(kind: &str) -> Exit {
        match kind {
            "failed" | "failure_response" | "decode" => Exit::PluginFailed,
            "encode" | "usage" => Exit::Usage,
            "not_granted" | "unknown_import" | "invalid_module" | "no_entry" | "not_admitted"
            | "sha256_mismatch" | "grant_excess" => Exit::Refused,
            // limit, fuel_exhausted, trap, timeout, busy, engine, and anything new.
            _ => Exit::Stopped,
        }
    }

    /// As a process exit code.
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pluginhost::{InvokeError, LoadError, Trap};

    #[test]
    fn every_library_kind_has_a_non_zero_row() {
        let load = [
            LoadError::ModuleTooLarge { size: 2, limit: 1 },
            LoadError::InvalidModule("x".into()),
            LoadError::ModuleLimit("x".into()),
            LoadError::UnknownImport {
                module: "env".into(),
                name: "x".into(),
            },
            LoadError::NotGranted {
                capability: pluginhost::Capability::FsWrite,
                import: "fs_write",
            },
            LoadError::ResourceLimit("x".into()),
            LoadError::StartFuelExhausted { fuel_used: 1 },
            LoadError::StartTimedOut { fuel_used: 1 },
            LoadError::StartTrap(Trap::Unreachable),
            LoadError::Engine("x".into()),
        ];
        let expected = [
            Exit::Stopped,
            Exit::Refused,
            Exit::Stopped,
            Exit::Refused,
            Exit::Refused,
            Exit::Stopped,
            Exit::Stopped,
            Exit::Stopped,
            Exit::Stopped,
            Exit::Refused,
        ];
        for (error, exit) in load.iter().zip(expected) {
            assert_eq!(Exit::for_kind(error.kind()), exit, "{error:?}");
        }
        let invoke = [
            (InvokeError::Busy, Exit::Stopped),
            (InvokeError::NoEntry { name: "x".into() }, Exit::Refused),
            (
                InvokeError::InputTooLarge { size: 2, limit: 1 },
                Exit::Stopped,
            ),
            (InvokeError::FuelExhausted { fuel_used: 1 }, Exit::Stopped),
            (InvokeError::TimedOut { fuel_used: 1 }, Exit::Stopped),
            (
                InvokeError::Trap {
                    trap: Trap::Unreachable,
                    fuel_used: 1,
                },
                Exit::Stopped,
            ),
            (InvokeError::Failed { status: 1 }, Exit::PluginFailed),
            (InvokeError::Decode, Exit::PluginFailed),
            (InvokeError::Encode, Exit::Usage),
            (InvokeError::Engine("x".into()), Exit::Stopped),
        ];
        for (error, exit) in invoke {
            assert_eq!(Exit::for_kind(error.kind()), exit, "{error:?}");
        }
    }

    #[test]
    fn new_kinds_never_succeed() {
        // The invocation deadline's kind belongs with fuel and traps.
        assert_eq!(Exit::for_kind("timeout"), Exit::Stopped);
        assert_eq!(Exit::for_kind("something_new"), Exit::Stopped);
    }
}
