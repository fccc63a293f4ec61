//! Certificate authority plugins: turn a CSR into a certificate chain.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// Obtain a certificate for a CSR. Answered with `Response<IssueResponse>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The PKCS#10 certificate signing request, PEM (`-----BEGIN CERTIFICATE REQUEST-----`).
    /// Never a private key: plugins refuse requests that contain one.
    pub csr_pem: String,
    /// The names the certificate is for (DNS names or IP literals), as the host's policy approved
    /// them. Informational for the plugin: the CSR is authoritative.
    pub identifiers: Vec<String>,
    /// The CA endpoint's host: a DNS name or an IP literal, without a port and without brackets.
    /// The plugin dials it with `net.dial`, so the operator's grant decides whether it may.
    pub ca_host: String,
    /// The CA endpoint's TCP port.
    pub ca_port: u16,
}

/// The certificate the CA issued.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssueResponse {
    /// The leaf certificate followed by its intermediates, PEM.
    pub chain_pem: String,
}
