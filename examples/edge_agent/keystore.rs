//! The agent's device key store.
//!
//! This module is the only code that ever holds the device's private key. It is part of the
//! agent, not of `pluginhost`: the host library has no type, back-end or function that can name
//! a key store (tests/no_privileged_handle.rs pins that down), so there is nothing a plugin
//! could be granted that reaches it. What leaves this module is public: the CSR (PEM), the
//! public key (to check an issued certificate against), and `key_ref`, an opaque label a
//! deployment connector may write into a service's configuration. The one exception is the
//! service that must present the key (nginx reads it from a file): `install_for_service` writes
//! it there, outside every plugin's root, by the agent's own hand.
//!
//! On disk the key lives in `<state>/keystore/`, a sibling of the plugins' filesystem root, not
//! beneath it: even a plugin granted `fs.read=/` could not open it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DnType, KeyPair};

/// The device key and where it is stored. The private key never leaves this struct.
pub struct KeyStore {
    key: KeyPair,
    key_ref: String,
    path: PathBuf,
}

impl KeyStore {
    /// Generates a fresh ECDSA P-256 device key and stores it (PEM, mode 0600) in `dir`.
    pub fn create(dir: &Path, key_ref: &str) -> Result<KeyStore, String> {
        let key = KeyPair::generate().map_err(|e| format!("generating the device key: {e}"))?;
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let path = dir.join("device.key");
        write_private(&path, key.serialize_pem().as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(KeyStore {
            key,
            key_ref: key_ref.to_string(),
            path,
        })
    }

    /// The label plugins may see instead of the key.
    pub fn key_ref(&self) -> &str {
        &self.key_ref
    }

    /// Where the key is stored on the host (printed; never given to a plugin).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key as DER `SubjectPublicKeyInfo`, to compare with an issued certificate.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key.public_key_der()
    }

    /// Writes the device key (PEM, mode 0600) to `path` for a service that needs it as a file
    /// (nginx's `ssl_certificate_key`). The agent does this itself, outside every plugin's root:
    /// no plugin ever carries the key, so none can make the service present a key it knows.
    pub fn install_for_service(&self, path: &Path) -> Result<(), String> {
        install_private(path, self.key.serialize_pem().as_bytes())
    }

    /// The algorithm, for people.
    pub fn algorithm(&self) -> &'static str {
        if self.key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
            "ECDSA P-256"
        } else {
            "other"
        }
    }

    /// A PKCS#10 CSR (PEM) for `names`, signed with the device key. The first name is also the
    /// subject's common name.
    pub fn csr(&self, names: &[String]) -> Result<String, String> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(|e| format!("CSR names: {e}"))?;
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        params
            .serialize_request(&self.key)
            .and_then(|csr| csr.pem())
            .map_err(|e| format!("signing the CSR: {e}"))
    }
}

/// Installs `bytes` at `path` readable by its owner only: written to `<path>.tmp`, then renamed
/// over `path`, so a reader (nginx at a reload) sees the old file or the new one, never half.
pub fn install_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    write_private(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Creates `path` readable by its owner only, and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
