//! Service reload connectors: tell a service to pick up a new certificate.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// Run `program` with `args` (no shell, empty environment). Answered with
/// `Response<ReloadResponse>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
pub struct ReloadRequest {
    /// The absolute guest path of the program, e.g. `/usr/sbin/reload-service`. It becomes
    /// `argv[0]`; the operator's `process.exec` grant decides whether it may run.
    pub program: String,
    /// The arguments after `argv[0]`. No NUL bytes.
    pub args: Vec<String>,
    /// The most bytes of standard output to return; plugins may cap it lower.
    pub max_stdout: u32,
}

/// How the program ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReloadResponse {
    /// The exit status the host reported (0 = success). A non-zero status is reported here, not
    /// as a failure: whether it matters is the caller's decision.
    pub status: i32,
    /// The start of the program's standard output, at most `max_stdout` bytes, with invalid
    /// UTF-8 replaced by U+FFFD.
    pub stdout: String,
}
