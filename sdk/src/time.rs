//! The wall-clock time (`clock_now`, guest ABI v2, ungated).
//!
//! Whole seconds only: the host offers no finer timer to plugins. A plugin that uses it declares
//! `abi: 2` in its [`manifest!`](crate::manifest!).

use crate::error::{check, Error};
use crate::sys;

/// Seconds since the Unix epoch (1970-01-01T00:00:00Z), UTC, as the host's clock tells it.
///
/// ```ignore
/// let now = pluginhost_sdk::time::unix_seconds()?;
/// ```
///
/// # Errors
/// [`Error::Io`] when the host has no wall clock; the host's error otherwise.
pub fn unix_seconds() -> Result<i64, Error> {
    let mut buf = [0u8; 8];
    let n = check(sys::clock_now(&mut buf))?;
    if n != 8 {
        return Err(Error::Io);
    }
    Ok(i64::from_le_bytes(buf))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn off_wasm_there_is_no_host() {
        assert_eq!(unix_seconds(), Err(Error::Unknown(sys::NO_HOST)));
    }
}
