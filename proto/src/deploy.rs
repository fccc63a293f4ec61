//! File deployment connectors: put an issued chain where a service reads it.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// Write a certificate chain to `<target_dir>/<file_name>`. Answered with
/// `Response<DeployResponse>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The chain to deploy, PEM. Certificates only: connectors refuse a private key here.
    pub chain_pem: String,
    /// An opaque reference to the private key that belongs with this chain (a key id or the path
    /// where the host keeps it), for connectors that configure a service with it. Never key
    /// material: connectors refuse a value that looks like PEM.
    pub key_ref: Option<String>,
    /// The absolute guest directory to deploy into, e.g. `/certs`.
    pub target_dir: String,
    /// The file name inside `target_dir`: no `/`, not starting with `.`.
    pub file_name: String,
}

/// Where the chain was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeployResponse {
    /// The absolute guest path of the deployed file.
    pub path: String,
    /// How many bytes the file holds.
    pub bytes_written: u64,
}
