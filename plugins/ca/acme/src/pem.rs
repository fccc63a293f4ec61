//! The CSR: from the request's PEM to the DER the CA wants.

use alloc::vec::Vec;

use pluginhost_sdk::proto::PluginFailure;

use crate::b64;

const BEGIN: &str = "-----BEGIN CERTIFICATE REQUEST-----";
const END: &str = "-----END CERTIFICATE REQUEST-----";

/// The largest CSR accepted, PEM bytes.
pub const MAX_CSR_PEM_BYTES: usize = 16 * 1024;

/// The DER of the one `CERTIFICATE REQUEST` block in `pem`. A request carrying a private key is
/// refused outright: the plugin must never see one.
pub fn csr_der(pem: &str) -> Result<Vec<u8>, PluginFailure> {
    if pem.len() > MAX_CSR_PEM_BYTES {
        return Err(PluginFailure::limit("the CSR is larger than 16 KiB"));
    }
    if pem.contains("PRIVATE KEY") {
        return Err(PluginFailure::bad_request(
            "the request carries a private key; send only the CSR",
        ));
    }
    let start = pem
        .find(BEGIN)
        .ok_or_else(|| PluginFailure::bad_request("csr_pem has no CERTIFICATE REQUEST block"))?;
    let body = &pem[start + BEGIN.len()..];
    let end = body
        .find(END)
        .ok_or_else(|| PluginFailure::bad_request("csr_pem's block is not closed"))?;
    if body[end + END.len()..].contains("-----BEGIN") {
        return Err(PluginFailure::bad_request(
            "csr_pem holds more than one block",
        ));
    }
    let der = b64::decode_std(&body[..end])
        .ok_or_else(|| PluginFailure::bad_request("csr_pem is not valid base64"))?;
    // A DER SEQUENCE, at least.
    if der.len() < 16 || der.first() != Some(&0x30) {
        return Err(PluginFailure::bad_request("csr_pem is not a DER CSR"));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use pluginhost_sdk::proto::FailureCode;

    fn pem(body: &str) -> alloc::string::String {
        format!("{BEGIN}\n{body}\n{END}\n")
    }

    #[test]
    fn csr_blocks() {
        let der = csr_der(&pem("MBAAAAAAAAAAAAAAAAAAAAAA")).unwrap();
        assert_eq!(der.first(), Some(&0x30));
        let code = |p: &str| csr_der(p).unwrap_err().code;
        assert_eq!(code("hello"), FailureCode::BadRequest);
        assert_eq!(code(&pem("!!!")), FailureCode::BadRequest);
        assert_eq!(code(&pem("AAAA")), FailureCode::BadRequest);
        let with_key = format!(
            "{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            pem("MBAAAAAAAAAAAAAAAAAAAAAA")
        );
        assert_eq!(code(&with_key), FailureCode::BadRequest);
        let two = format!(
            "{}{}",
            pem("MBAAAAAAAAAAAAAAAAAAAAAA"),
            pem("MBAAAAAAAAAAAAAAAAAAAAAA")
        );
        assert_eq!(code(&two), FailureCode::BadRequest);
        let big = pem(&"A".repeat(MAX_CSR_PEM_BYTES));
        assert_eq!(code(&big), FailureCode::Limit);
    }
}
