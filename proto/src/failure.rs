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
    /// (ABI 2) The remote service did not accept the plugin's credentials or authority: a wrong
    /// TSIG key, an ACME account it does not know or that may not order these names.
    Unauthorized,
    /// (ABI 2) The remote service refused this request for good, as it stands: a name, CSR, key
    /// or update it will not accept (ACME `rejectedIdentifier`, `badCSR`, `caa`; DNS `REFUSED`).
    /// Retrying the same request will not help.
    Rejected,
    /// (ABI 2) The remote service refused for now: too many requests (ACME `rateLimited`, HTTP
    /// 429). The message says when to retry if the service said so.
    RateLimited,
    /// (ABI 2) The remote service could not validate control of a name: an ACME challenge
    /// (`http-01`, `dns-01`) failed (`incorrectResponse`, `dns`, `connection`, ...).
    ChallengeFailed,
}

impl FailureCode {
    /// Every code, in wire order.
    pub const ALL: [FailureCode; 12] = [
        FailureCode::BadRequest,
        FailureCode::Denied,
        FailureCode::NotFound,
        FailureCode::Io,
        FailureCode::Limit,
        FailureCode::Upstream,
        FailureCode::Protocol,
        FailureCode::Internal,
        FailureCode::Unauthorized,
        FailureCode::Rejected,
        FailureCode::RateLimited,
        FailureCode::ChallengeFailed,
    ];

    /// A short lower-case name: `bad-request`, `denied`, `not-found`, `io`, `limit`, `upstream`,
    /// `protocol`, `internal`, `unauthorized`, `rejected`, `rate-limited`, `challenge-failed`.
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
            FailureCode::Rejected => "rejected",
            FailureCode::RateLimited => "rate-limited",
            FailureCode::ChallengeFailed => "challenge-failed",
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
