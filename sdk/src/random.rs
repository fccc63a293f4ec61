//! Random bytes from the host's entropy source (`random_fill`, guest ABI v2, ungated).
//!
//! The host draws them from the operating system's generator (or, on a device, from the
//! embedder's hardware source), never from a fixed seed, so they are fit for keys and nonces. A
//! plugin that uses them declares `abi: 2` in its [`manifest!`](crate::manifest!).

use crate::error::{check, Error};
use crate::sys;

/// The most bytes one `random_fill` call asks for (16 KiB, well under the host's assumed 64 KiB
/// per-call cap). Larger buffers are filled in several calls.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// Fills all of `dst` with random bytes from the host.
///
/// ```ignore
/// let mut key = [0u8; 32];
/// pluginhost_sdk::random::fill(&mut key)?;
/// ```
///
/// # Errors
/// [`Error::Io`] when the host has no entropy source (nothing is written then); the host's error
/// otherwise. On an error `dst` may be partly filled from earlier chunks: do not use it.
pub fn fill(dst: &mut [u8]) -> Result<(), Error> {
    for chunk in dst.chunks_mut(CHUNK_BYTES) {
        let n = check(sys::random_fill(chunk))? as usize;
        if n != chunk.len() {
            return Err(Error::Io);
        }
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn off_wasm_there_is_no_host() {
        let mut buf = [0u8; 4];
        assert_eq!(fill(&mut buf), Err(Error::Unknown(sys::NO_HOST)));
        assert_eq!(buf, [0; 4]);
        // An empty buffer asks nothing of the host.
        assert_eq!(fill(&mut []), Ok(()));
    }
}
