//! Checks a guest path's bytes for normal form eight bytes at a time, for the gated-call fast
//! path of [`GuestPath::reparse`](super::GuestPath::reparse).
//!
//! Only `/` and NUL matter byte by byte: `.` matters only in a component of one or two bytes,
//! which is checked at the `/` that ends it. Neither byte can occur inside a multi-byte UTF-8
//! sequence, so the scan is exact for any UTF-8 input (which `from_utf8` checks afterwards).

/// One in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The low seven bits of every byte.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
/// The high bit of every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is zero, and no other bit. Exact: adding `0x7f` to
/// the low seven bits of a byte never carries into the next byte.
const fn zero_bytes(word: u64) -> u64 {
    !(((word & LOW7) + LOW7) | word) & HIGH
}

/// The high bit of each byte of `word` equal to `byte`.
const fn bytes_equal(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ (ONES * byte as u64))
}

/// The eight bytes at `at` as a little-endian word (the first byte lowest), or 0 past the end.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at.saturating_add(8))
        .and_then(|word| word.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Whether `component` is empty, `.` or `..` (not normal, or refused). Also the byte-by-byte
/// check of short paths in [`GuestPath`](super::GuestPath).
#[inline]
pub(super) fn dots_only(component: Option<&[u8]>) -> bool {
    matches!(component, Some(b"" | b"." | b".."))
}

/// Whether `bytes` is a normal path apart from its encoding: `/` followed by non-empty
/// components separated by single `/`, none of them `.` or `..`, no trailing `/` and no NUL.
/// Returns `false` for inputs shorter than eight bytes (the caller checks those byte by byte);
/// `false` never claims more than "not shown normal here".
pub(super) fn is_normal(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 8 || bytes.first() != Some(&b'/') {
        return false;
    }
    // The leading `/` starts the first component.
    let mut last = 0;
    let mut keep = !0x80;
    let mut at = 0;
    while at + 8 <= n {
        if !word_is_normal(bytes, at, keep, &mut last) {
            return false;
        }
        keep = u64::MAX;
        at += 8;
    }
    // The last word overlaps the one before: skip the bytes it already covered.
    if at < n && !word_is_normal(bytes, n - 8, u64::MAX << (8 * (at + 8 - n)), &mut last) {
        return false;
    }
    // The last component: never empty (no trailing `/`), `.` or `..`.
    !(n - last <= 3 && dots_only(bytes.get(last + 1..)))
}

/// Checks the eight bytes at `at` (those whose high bit is in `keep`): no NUL, and each `/` ends
/// a component (from `last`, the `/` before it) that is not empty, `.` or `..`.
#[inline(always)]
fn word_is_normal(bytes: &[u8], at: usize, keep: u64, last: &mut usize) -> bool {
    let word = word_at(bytes, at);
    if zero_bytes(word) & keep != 0 {
        return false;
    }
    let mut slashes = bytes_equal(word, b'/') & keep;
    while slashes != 0 {
        let slash = at + (slashes.trailing_zeros() / 8) as usize;
        slashes &= slashes - 1;
        if slash - *last <= 3 && dots_only(bytes.get(*last + 1..slash)) {
            return false;
        }
        *last = slash;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_equal_bytes_are_exact() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                // Every other byte is 1 (the case where a borrow would leak into it) or 0x80.
                for filler in [0x01u8, 0x80, 0xff, b'/' ^ 1] {
                    let mut bytes = [filler; 8];
                    bytes[position] = byte;
                    let word = u64::from_le_bytes(bytes);
                    let expected: u64 = (0..8)
                        .filter(|&i| bytes[i] == 0)
                        .map(|i| 0x80u64 << (8 * i))
                        .sum();
                    assert_eq!(zero_bytes(word), expected, "{bytes:?}");
                    let slashes: u64 = (0..8)
                        .filter(|&i| bytes[i] == b'/')
                        .map(|i| 0x80u64 << (8 * i))
                        .sum();
                    assert_eq!(bytes_equal(word, b'/'), slashes, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn short_inputs_are_left_to_the_caller() {
        assert!(!is_normal(b"/abcdef"));
        assert!(is_normal(b"/abcdefg"));
        assert!(!is_normal(b"abcdefgh"));
    }
}
