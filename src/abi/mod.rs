//! The guest ABI (v2): error codes, the static capability table, and the host functions behind
//! it. v2 only adds (`random_fill`, `clock_now`, `net_dial_tls`, the `TLS` code): every v1 plugin
//! loads unchanged.
//!
//! See `docs/abi.md` for the guest's view. Every host function takes and returns `i32`; pointers
//! and lengths are `u32` carried in `i32` and never sign-extended.

use core::fmt;

mod call;
mod clock;
mod entropy;
#[cfg(feature = "cap-fs")]
mod fs;
mod fuel;
mod guest;
mod io;
#[cfg(feature = "cap-net")]
mod net;
#[cfg(feature = "cap-process")]
mod process;
mod table;

pub(crate) use fuel::{CallFault, HostFuelExhausted, HostTimedOut};
pub(crate) use table::{describe, find, func_signature};
pub use table::{HostFunction, HOST_FUNCTIONS};

/// The import module every host function lives in.
pub const ABI_MODULE: &str = "pluginhost";

/// The version of the guest ABI this host implements. A host of version N runs plugins built
/// for any version 1..=N; a manifest declaring a newer version is refused at load.
pub const ABI_VERSION: u32 = pluginhost_proto::ABI_VERSION;

/// The signature every entry point (`run` and any other invoked export) must have.
pub const ENTRY_SIGNATURE: &str = "() -> i32";

/// A negative result of a host call, as the guest sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(i32)]
pub enum ErrorCode {
    /// The grant (or a prefix check) refused the call; counted as a denial.
    Denied = -1,
    /// A bad pointer or length, non-UTF-8 text, a NUL byte, a relative path or `..`.
    Invalid = -2,
    /// The file, host or program does not exist.
    NotFound = -3,
    /// The back-end failed.
    Io = -4,
    /// Over a per-call or per-invocation cap.
    Limit = -5,
    /// The network handle is unknown or closed.
    BadHandle = -6,
    /// (v2) The TLS handshake failed: the server's certificate is not valid for the dialled
    /// name under the host's trust anchors, or the peer does not speak TLS.
    Tls = -7,
}

impl ErrorCode {
    /// Every code, most common first.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::Denied,
        ErrorCode::Invalid,
        ErrorCode::NotFound,
        ErrorCode::Io,
        ErrorCode::Limit,
        ErrorCode::BadHandle,
        ErrorCode::Tls,
    ];

    /// The value the guest receives.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The code for a value the guest received, if it is one.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The ABI's name for the code: `DENIED`, `INVALID`, ...
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::Denied => "DENIED",
            ErrorCode::Invalid => "INVALID",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Io => "IO",
            ErrorCode::Limit => "LIMIT",
            ErrorCode::BadHandle => "BAD_HANDLE",
            ErrorCode::Tls => "TLS",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl From<crate::backend::BackendError> for ErrorCode {
    fn from(e: crate::backend::BackendError) -> Self {
        use crate::backend::BackendError;
        match e {
            BackendError::NotFound => ErrorCode::NotFound,
            BackendError::Denied => ErrorCode::Denied,
            BackendError::Limit => ErrorCode::Limit,
            BackendError::Tls => ErrorCode::Tls,
            BackendError::TimedOut | BackendError::Unsupported | BackendError::Io => ErrorCode::Io,
        }
    }
}
