//! The SDK's error type and the ABI's error codes.

use core::fmt;

use pluginhost_proto::{FailureCode, PluginFailure};

/// The negative return codes of host calls.
pub mod code {
    /// A grant or prefix check failed.
    pub const DENIED: i32 = -1;
    /// A bad pointer or length, non-UTF-8, a NUL, a relative path, or a `..` component.
    pub const INVALID: i32 = -2;
    /// No such file, host or program.
    pub const NOT_FOUND: i32 = -3;
    /// The operation failed.
    pub const IO: i32 = -4;
    /// Over a per-call or per-invocation cap.
    pub const LIMIT: i32 = -5;
    /// Not an open handle of this invocation.
    pub const BAD_HANDLE: i32 = -6;
    /// (ABI v2) The TLS handshake failed: the server is not trusted for the dialled name.
    pub const TLS: i32 = -7;
}

/// Why a host call (or the SDK around it) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// `DENIED` (-1): the plugin's grants do not allow this.
    Denied,
    /// `INVALID` (-2): a bad pointer or length, non-UTF-8, a NUL, a relative path, `..`.
    Invalid,
    /// `NOT_FOUND` (-3).
    NotFound,
    /// `IO` (-4).
    Io,
    /// `LIMIT` (-5): a per-call or per-invocation cap (the host's, or the SDK's own bound).
    Limit,
    /// `BAD_HANDLE` (-6).
    BadHandle,
    /// `TLS` (-7, ABI v2): the host could not verify the server (untrusted certificate, wrong
    /// name, expired) or the peer does not speak TLS.
    Tls,
    /// Any other negative code.
    Unknown(i32),
    /// Bytes did not decode: an input message, or text that is not UTF-8.
    Decode,
    /// A message could not be encoded.
    Encode,
}

impl Error {
    /// The error for a negative host return code.
    pub const fn from_code(code: i32) -> Error {
        match code {
            code::DENIED => Error::Denied,
            code::INVALID => Error::Invalid,
            code::NOT_FOUND => Error::NotFound,
            code::IO => Error::Io,
            code::LIMIT => Error::Limit,
            code::BAD_HANDLE => Error::BadHandle,
            code::TLS => Error::Tls,
            other => Error::Unknown(other),
        }
    }

    /// What the exported `run` returns for this error: the ABI code for host errors, -64 for
    /// [`Error::Decode`], -65 for [`Error::Encode`]. Never 0.
    pub const fn exit_code(self) -> i32 {
        match self {
            Error::Denied => code::DENIED,
            Error::Invalid => code::INVALID,
            Error::NotFound => code::NOT_FOUND,
            Error::Io => code::IO,
            Error::Limit => code::LIMIT,
            Error::BadHandle => code::BAD_HANDLE,
            Error::Tls => code::TLS,
            Error::Unknown(code) if code != 0 => code,
            Error::Unknown(_) => -99,
            Error::Decode => -64,
            Error::Encode => -65,
        }
    }

    /// A short lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Error::Denied => "denied",
            Error::Invalid => "invalid",
            Error::NotFound => "not found",
            Error::Io => "I/O error",
            Error::Limit => "limit reached",
            Error::BadHandle => "bad handle",
            Error::Tls => "TLS verification or handshake failed",
            Error::Unknown(_) => "unknown host error",
            Error::Decode => "could not decode",
            Error::Encode => "could not encode",
        }
    }

    /// The [`FailureCode`] a plugin reports when this error stops it.
    pub const fn failure_code(self) -> FailureCode {
        match self {
            Error::Denied => FailureCode::Denied,
            Error::NotFound => FailureCode::NotFound,
            Error::Limit => FailureCode::Limit,
            Error::Invalid => FailureCode::BadRequest,
            Error::Io | Error::BadHandle | Error::Tls | Error::Unknown(_) => FailureCode::Io,
            Error::Decode => FailureCode::Protocol,
            Error::Encode => FailureCode::Internal,
        }
    }
}

/// Turns a host return value into a count or an [`Error`].
pub(crate) const fn check(ret: i32) -> Result<u32, Error> {
    if ret >= 0 {
        Ok(ret as u32)
    } else {
        Err(Error::from_code(ret))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unknown(code) => write!(f, "unknown host error {code}"),
            other => f.write_str(other.name()),
        }
    }
}

impl core::error::Error for Error {}

impl From<Error> for PluginFailure {
    fn from(error: Error) -> Self {
        PluginFailure::new(error.failure_code(), error.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in -8..0 {
            let e = Error::from_code(c);
            assert_eq!(e.exit_code(), c);
            assert_eq!(check(c), Err(e));
        }
        assert_eq!(Error::from_code(-7), Error::Tls);
        assert_eq!(Error::from_code(-8), Error::Unknown(-8));
        assert_eq!(check(0), Ok(0));
        assert_eq!(check(i32::MAX), Ok(i32::MAX as u32));
        assert_ne!(Error::Unknown(0).exit_code(), 0);
        assert_ne!(Error::Decode.exit_code(), 0);
        assert_ne!(Error::Encode.exit_code(), 0);
    }

    #[test]
    fn into_failure() {
        let f = PluginFailure::from(Error::Denied);
        assert_eq!(f.code, FailureCode::Denied);
        assert_eq!(f.message, "denied");
    }
}
