//! The failure every plugin response can carry instead of a result.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Serialize};

/// What a plugin writes as its output: the response, or why it could not produce one.
pub type Response<T> = Result<T, PluginFailure>;

/// Why a plugin could not carry out a request.
///
/// The variant index is part of the wire format (see the crate docs): append only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureCode {
    /// The request did not decode, or a field failed the plugin's validation.
    BadRequest,
    /// The host refused a capability the plugin needed (`DENIED` from a host call).
    Denied,
    /// A file, host or program the plugin needed does not exist (`NOT_FOUND`).
    NotFound,
    /// A host call failed for another reason (`IO`, `INVALID`, `BAD_HANDLE`, unknown codes).
    Io,
    /// A size or count limit was reached, the host's (`LIMIT`) or the plugin's own.
    Limit,
    /// The remote service (a CA, an API) answered, and its answer was a refusal or an error.
    Upstream,
    /// The remote service's answer could not be understood.
    Protocol,
    /// The plugin failed in a way that is its own fault.
    Internal,
    /// The remote service did not accept the plugin's credentials for this request: a key it does
    /// not know or does not allow here, a signature that does not verify, a clock too far off
    /// (DNS `NOTAUTH` with a TSIG error `BADKEY`, `BADSIG` or `BADTIME`; HTTP 401). Appended in
    /// ABI v2.
    Unauthorized,
    /// The remote service authenticated the request and declined to carry it out: its policy
    /// or its state forbids it (DNS `REFUSED`, or `NOTAUTH` for a zone it does not serve).
    /// Appended in ABI v2.
    Refused,
}

impl FailureCode {
    /// A short lower-case name: `bad-request`, `denied`, `not-found`, `io`, `limit`, `upstream`,
    /// `protocol`, `internal`, `unauthorized`, `refused`.
    pub const fn name(self) -> &'static str {
        match self {
            FailureCode::BadRequest => "bad-request",
            FailureCode::Denied => "denied",
            FailureCode::NotFound => "not-found",
            FailureCode::Io => "io",
            FailureCode::Limit => "limit",
            FailureCode::Upstream => "upstream",
            FailureCode::Protocol => "protocol",
            FailureCode::Internal => "internal",
            FailureCode::Unauthorized => "unauthorized",
            FailureCode::Refused => "refused",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A plugin's account of why it failed: a machine-readable code and a message for people.
///
/// The message is written by untrusted code: a host must treat it as data (escape it before it
/// reaches a terminal or a log format) and may cut it to [`PluginFailure::MAX_MESSAGE_BYTES`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PluginFailure {
    /// What kind of failure this is.
    pub code: FailureCode,
    /// What went wrong, in words.
    pub message: String,
}

impl PluginFailure {
    /// The longest message a plugin should send, in bytes; [`PluginFailure::new`] cuts longer ones
    /// at a character boundary.
    pub const MAX_MESSAGE_BYTES: usize = 1024;

    /// A failure with `code` and `message` (cut to [`Self::MAX_MESSAGE_BYTES`]).
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > Self::MAX_MESSAGE_BYTES {
            let mut end = Self::MAX_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        PluginFailure { code, message }
    }

    /// A [`FailureCode::BadRequest`] failure.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(FailureCode::BadRequest, message)
    }

    /// A [`FailureCode::Limit`] failure.
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Limit, message)
    }

    /// A [`FailureCode::Upstream`] failure.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Upstream, message)
    }

    /// A [`FailureCode::Protocol`] failure.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Protocol, message)
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl core::error::Error for PluginFailure {}
