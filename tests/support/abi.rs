//! What the guest ABI specifies, spelled out independently of the crate.

/// The ABI's error codes, spelled out as the guest ABI documents them (not taken from the crate,
/// so a changed value fails the tests).
pub const DENIED: i32 = -1;
pub const INVALID: i32 = -2;
pub const NOT_FOUND: i32 = -3;
pub const IO: i32 = -4;
pub const LIMIT: i32 = -5;
pub const BAD_HANDLE: i32 = -6;
pub const TLS: i32 = -7;

/// An argument vector as the ABI encodes it: every item followed by one NUL.
pub fn argv(items: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(item.as_bytes());
        out.push(0);
    }
    out
}
