//! Files under the plugin's `fs.read` / `fs.write` grants.
//!
//! Paths are absolute guest paths (`/certs/site.pem`). The host checks every path against the
//! plugin's grants; nothing here widens them.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error};
use crate::sys;

/// The most bytes [`read`] returns (64 KiB, the host's assumed per-call cap: `fs_read` has no
/// offset, so a file larger than one call can move cannot be read at all).
pub const MAX_READ_BYTES: usize = 64 * 1024;

/// The size of the file at `path`, in bytes (`fs.read`).
///
/// # Errors
/// The host's error ([`Error::NotFound`], [`Error::Denied`], ...).
pub fn size(path: &str) -> Result<u32, Error> {
    check(sys::fs_size(path.as_bytes()))
}

/// The whole file at `path`, at most [`MAX_READ_BYTES`] (`fs.read`).
///
/// # Errors
/// [`Error::Limit`] if the file is larger; the host's error otherwise.
pub fn read(path: &str) -> Result<Vec<u8>, Error> {
    read_limited(path, MAX_READ_BYTES)
}

/// The whole file at `path`, at most `limit` bytes (`fs.read`): `fs_size`, then `fs_read` into
/// a buffer of that size. If the file grows in between, the read is retried (twice at most).
///
/// # Errors
/// [`Error::Limit`] if the file is larger than `limit`; [`Error::Io`] if it keeps changing size;
/// the host's error otherwise.
pub fn read_limited(path: &str, limit: usize) -> Result<Vec<u8>, Error> {
    let mut want = size(path)? as usize;
    for _ in 0..3 {
        if want > limit {
            return Err(Error::Limit);
        }
        let mut buf = vec![0u8; want];
        let total = check(sys::fs_read(path.as_bytes(), &mut buf))? as usize;
        if total <= buf.len() {
            buf.truncate(total);
            return Ok(buf);
        }
        want = total;
    }
    Err(Error::Io)
}

/// The whole file at `path` as UTF-8, at most `limit` bytes (`fs.read`).
///
/// # Errors
/// As [`read_limited`]; [`Error::Decode`] if the file is not UTF-8.
pub fn read_to_string(path: &str, limit: usize) -> Result<String, Error> {
    String::from_utf8(read_limited(path, limit)?).map_err(|_| Error::Decode)
}

/// Creates or truncates the file at `path` and writes all of `data` in one call (`fs.write`).
/// The parent directory must exist.
///
/// # Errors
/// [`Error::Limit`] if `data` is over the host's per-call cap; the host's error otherwise;
/// [`Error::Io`] if the host reports a count other than `data.len()`.
pub fn write(path: &str, data: &[u8]) -> Result<(), Error> {
    let written = check(sys::fs_write(path.as_bytes(), data))? as usize;
    if written == data.len() {
        Ok(())
    } else {
        Err(Error::Io)
    }
}

/// Renames `from` to `to`, replacing `to` (`fs.write` on both).
///
/// # Errors
/// The host's error.
pub fn rename(from: &str, to: &str) -> Result<(), Error> {
    check(sys::fs_rename(from.as_bytes(), to.as_bytes())).map(|_| ())
}

/// The temporary path [`write_atomic`] writes first: `path` + `.tmp`.
pub fn temp_path(path: &str) -> String {
    crate::strcat!(path, ".tmp")
}

/// Writes `data` to [`temp_path(path)`](temp_path), then renames it over `path`, so readers see
/// the old file or the new one, never half of one (`fs.write` on both paths).
///
/// # Errors
/// As [`write()`] and [`rename()`]. On a failed rename the temporary file is left behind.
pub fn write_atomic(path: &str, data: &[u8]) -> Result<(), Error> {
    let tmp = temp_path(path);
    write(&tmp, data)?;
    rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_host_off_wasm() {
        assert_eq!(read("/x"), Err(Error::Unknown(crate::sys::NO_HOST)));
        assert_eq!(temp_path("/certs/a.pem"), "/certs/a.pem.tmp");
    }
}
