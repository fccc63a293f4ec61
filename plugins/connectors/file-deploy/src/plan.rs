//! Request validation and path building: pure, tested on the host.

use alloc::string::String;

use pluginhost_sdk::proto::deploy::DeployRequest;
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use pluginhost_sdk::{strcat, Error};

/// The largest chain accepted: one `fs_write` call moves at most 64 KiB.
pub const MAX_CHAIN_BYTES: usize = 64 * 1024;
/// The longest file name.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// The longest target directory.
pub const MAX_DIR_BYTES: usize = 1024;
/// The longest key reference.
pub const MAX_KEY_REF_BYTES: usize = 1024;

/// Checks the request and returns the final path `<target_dir>/<file_name>`.
pub fn check(request: &DeployRequest) -> Result<String, PluginFailure> {
    check_chain(&request.chain_pem)?;
    if let Some(key_ref) = &request.key_ref {
        check_key_ref(key_ref)?;
    }
    check_file_name(&request.file_name)?;
    let dir = check_dir(&request.target_dir)?;
    Ok(if dir == "/" {
        strcat!("/", request.file_name)
    } else {
        strcat!(dir, "/", request.file_name)
    })
}

/// A file name: 1..=255 bytes of `A-Z a-z 0-9 . _ - + @ =`, not starting with `.`.
pub fn check_file_name(name: &str) -> Result<(), PluginFailure> {
    if name.is_empty() || name.len() > MAX_FILE_NAME_BYTES {
        return Err(PluginFailure::bad_request(
            "file_name must be 1 to 255 bytes",
        ));
    }
    if name.contains('/') {
        return Err(PluginFailure::bad_request("file_name must not contain '/'"));
    }
    if name.starts_with('.') {
        return Err(PluginFailure::bad_request(
            "file_name must not start with '.'",
        ));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@' | '=');
    if !name.chars().all(allowed) {
        return Err(PluginFailure::bad_request(
            "file_name may only contain A-Z a-z 0-9 . _ - + @ =",
        ));
    }
    Ok(())
}

/// An absolute directory without empty, `.` or `..` components; one trailing `/` is dropped.
pub fn check_dir(dir: &str) -> Result<&str, PluginFailure> {
    let bad = || {
        PluginFailure::bad_request(
            "target_dir must be an absolute path without '.', '..' or empty components",
        )
    };
    if dir.len() > MAX_DIR_BYTES || !dir.starts_with('/') || dir.chars().any(char::is_control) {
        return Err(bad());
    }
    if dir == "/" {
        return Ok(dir);
    }
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    if dir
        .split('/')
        .skip(1)
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad());
    }
    Ok(dir)
}

/// A PEM chain: certificates only, at most [`MAX_CHAIN_BYTES`], ASCII.
pub fn check_chain(pem: &str) -> Result<(), PluginFailure> {
    if pem.len() > MAX_CHAIN_BYTES {
        return Err(PluginFailure::limit("chain_pem is larger than 64 KiB"));
    }
    if !contains(pem, "-----BEGIN CERTIFICATE-----") {
        return Err(PluginFailure::bad_request(
            "chain_pem holds no PEM certificate",
        ));
    }
    if contains(pem, "PRIVATE KEY") {
        return Err(PluginFailure::bad_request(
            "chain_pem contains a private key; this connector deploys certificates only",
        ));
    }
    if !pem
        .bytes()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return Err(PluginFailure::bad_request("chain_pem is not PEM text"));
    }
    Ok(())
}

/// A key reference: short, printable, and not key material.
pub fn check_key_ref(key_ref: &str) -> Result<(), PluginFailure> {
    if key_ref.len() > MAX_KEY_REF_BYTES || key_ref.chars().any(char::is_control) {
        return Err(PluginFailure::bad_request(
            "key_ref must be a short single-line reference",
        ));
    }
    if contains(key_ref, "-----BEGIN") || contains(key_ref, "PRIVATE KEY") {
        return Err(PluginFailure::bad_request(
            "key_ref looks like key material; pass a reference, never the key",
        ));
    }
    Ok(())
}

/// Whether `needle` occurs in `text` (as `str::contains`): each occurrence of the needle's first
/// byte is compared in place. Core's two-way searcher would be some 7 KiB of interpreted code
/// held after the first call, for needles this short.
fn contains(text: &str, needle: &str) -> bool {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(tail) = text.get(at..) {
        let Some(found) = tail.iter().position(|&b| b == first) else {
            return false;
        };
        if tail
            .get(found + 1..)
            .is_some_and(|after| after.starts_with(rest))
        {
            return true;
        }
        at += found + 1;
    }
    false
}

/// A host error while writing `path`, as a failure.
pub fn io_failure(path: &str, error: Error) -> PluginFailure {
    let code: FailureCode = error.failure_code();
    PluginFailure::new(code, strcat!("writing ", path, ": ", error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn request(dir: &str, name: &str) -> DeployRequest {
        DeployRequest {
            chain_pem: PEM.to_string(),
            key_ref: None,
            target_dir: dir.to_string(),
            file_name: name.to_string(),
        }
    }

    #[test]
    fn builds_paths() {
        assert_eq!(
            check(&request("/certs", "site.pem")).unwrap(),
            "/certs/site.pem"
        );
        assert_eq!(
            check(&request("/certs/", "site.pem")).unwrap(),
            "/certs/site.pem"
        );
        assert_eq!(
            check(&request("/certs/web", "a_b-c+d@e=f.pem")).unwrap(),
            "/certs/web/a_b-c+d@e=f.pem"
        );
        assert_eq!(check(&request("/", "x")).unwrap(), "/x");
    }

    #[test]
    fn refuses_bad_names() {
        for name in [
            "",
            ".hidden",
            "..",
            ".",
            "a/b",
            "/abs",
            "a\\b",
            "a b",
            "a\nb",
            "é",
            &"x".repeat(256),
        ] {
            let f = check(&request("/certs", name)).unwrap_err();
            assert_eq!(f.code, FailureCode::BadRequest, "{name:?}");
        }
    }

    #[test]
    fn refuses_bad_dirs() {
        for dir in [
            "",
            "certs",
            "/certs//web",
            "/certs/../keys",
            "/certs/.",
            "/./certs",
            "/certs\n",
            "//",
        ] {
            let f = check(&request(dir, "a.pem")).unwrap_err();
            assert_eq!(f.code, FailureCode::BadRequest, "{dir:?}");
        }
    }

    #[test]
    fn refuses_keys_and_junk() {
        let mut r = request("/certs", "a.pem");
        r.chain_pem = format!("{PEM}-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n");
        assert_eq!(check(&r).unwrap_err().code, FailureCode::BadRequest);
        r.chain_pem = "hello".to_string();
        assert_eq!(check(&r).unwrap_err().code, FailureCode::BadRequest);
        r.chain_pem = format!("{PEM}\0");
        assert_eq!(check(&r).unwrap_err().code, FailureCode::BadRequest);
        r.chain_pem = format!("{PEM}{}", "A".repeat(MAX_CHAIN_BYTES));
        assert_eq!(check(&r).unwrap_err().code, FailureCode::Limit);

        let mut r = request("/certs", "a.pem");
        r.key_ref = Some("kms://keys/site-2025".to_string());
        assert!(check(&r).is_ok());
        r.key_ref = Some("-----BEGIN EC PRIVATE KEY-----".to_string());
        assert_eq!(check(&r).unwrap_err().code, FailureCode::BadRequest);
        r.key_ref = Some("a\nb".to_string());
        assert_eq!(check(&r).unwrap_err().code, FailureCode::BadRequest);
    }

    #[test]
    fn contains_as_str_contains() {
        let texts = [
            "",
            "P",
            "PRIVATE KE",
            "PRIVATE KEY",
            "xPRIVATE KEYx",
            "PPRIVATE KEY",
            "PRIVATE PRIVATE KEY",
            "----BEGIN",
            "-----BEGIN",
            "------BEGIN",
            "é-----BEGIN CERTIFICATE-----é",
            PEM,
        ];
        for text in texts {
            for needle in [
                "",
                "P",
                "PRIVATE KEY",
                "-----BEGIN",
                "-----BEGIN CERTIFICATE-----",
            ] {
                assert_eq!(
                    contains(text, needle),
                    text.contains(needle),
                    "{text:?} {needle:?}"
                );
            }
        }
    }

    #[test]
    fn io_failures_keep_the_code() {
        let f = io_failure("/certs/a.pem.tmp", Error::Denied);
        assert_eq!(f.code, FailureCode::Denied);
        assert_eq!(f.message, "writing /certs/a.pem.tmp: denied");
    }
}
