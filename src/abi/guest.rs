//! Checked access to guest linear memory.
//!
//! Every range is computed in 64-bit arithmetic from `u32` values, so neither a negative `i32`
//! nor `ptr + len` past 4 GiB can wrap. A length is capped before the host allocates or copies.

use core::ops::Range;

use super::ErrorCode;

/// Reinterprets an `i32` the guest passed as the `u32` it carries (never sign-extended).
pub(crate) const fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

/// The byte range `ptr..ptr + len` if it lies within `memory`, else `INVALID`; a `len` over
/// `cap` is `LIMIT` (checked after the bounds).
pub(crate) fn range(
    memory: &[u8],
    ptr: i32,
    len: i32,
    cap: usize,
) -> Result<Range<usize>, ErrorCode> {
    let start = u64::from(unsigned(ptr));
    let len = u64::from(unsigned(len));
    let end = start + len; // both < 2^32: cannot overflow u64
    let size = u64::try_from(memory.len()).map_err(|_| ErrorCode::Invalid)?;
    if end > size {
        return Err(ErrorCode::Invalid);
    }
    let cap = u64::try_from(cap).unwrap_or(u64::MAX);
    if len > cap {
        return Err(ErrorCode::Limit);
    }
    let start = usize::try_from(start).map_err(|_| ErrorCode::Invalid)?;
    let end = usize::try_from(end).map_err(|_| ErrorCode::Invalid)?;
    Ok(start..end)
}

/// The guest bytes at `ptr..ptr + len`, checked as by [`range`].
pub(crate) fn slice(memory: &[u8], ptr: i32, len: i32, cap: usize) -> Result<&[u8], ErrorCode> {
    let r = range(memory, ptr, len, cap)?;
    memory.get(r).ok_or(ErrorCode::Invalid)
}

#[cfg(feature = "cap-process")]
/// Two guest ranges from one memory: `a` read-only and `b` writable. They may not overlap
/// (`INVALID` if they do).
pub(crate) fn split_read_write(
    memory: &mut [u8],
    a: Range<usize>,
    b: Range<usize>,
) -> Result<(&[u8], &mut [u8]), ErrorCode> {
    if a.is_empty() {
        return Ok((&[], memory.get_mut(b).ok_or(ErrorCode::Invalid)?));
    }
    if b.is_empty() {
        return Ok((memory.get(a).ok_or(ErrorCode::Invalid)?, &mut []));
    }
    if a.start < b.end && b.start < a.end {
        return Err(ErrorCode::Invalid);
    }
    if a.end <= b.start {
        let (lo, hi) = memory.split_at_mut(b.start);
        let read = lo.get(a).ok_or(ErrorCode::Invalid)?;
        let write = hi.get_mut(..b.end - b.start).ok_or(ErrorCode::Invalid)?;
        Ok((read, write))
    } else {
        let (lo, hi) = memory.split_at_mut(a.start);
        let write = lo.get_mut(b).ok_or(ErrorCode::Invalid)?;
        let read = hi.get(..a.end - a.start).ok_or(ErrorCode::Invalid)?;
        Ok((read, write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_in_64_bits() {
        let mem = [0u8; 1024];
        assert_eq!(range(&mem, -16, 64, 1 << 20), Err(ErrorCode::Invalid)); // 0xFFFF_FFF0
        assert_eq!(range(&mem, 0, -1, 1 << 20), Err(ErrorCode::Invalid));
        assert_eq!(range(&mem, 1000, 25, 1 << 20), Err(ErrorCode::Invalid));
        assert_eq!(range(&mem, 1000, 24, 1 << 20), Ok(1000..1024));
        assert_eq!(range(&mem, 1024, 0, 1 << 20), Ok(1024..1024));
        assert_eq!(range(&mem, 0, 1024, 512), Err(ErrorCode::Limit));
    }

    #[cfg(feature = "cap-process")]
    #[test]
    fn split_rejects_overlap_and_orders_either_way() {
        let mut mem = [0u8; 16];
        assert_eq!(
            split_read_write(&mut mem, 0..8, 4..12).err(),
            Some(ErrorCode::Invalid)
        );
        let (r, w) = split_read_write(&mut mem, 0..4, 8..16).unwrap();
        assert_eq!((r.len(), w.len()), (4, 8));
        let (r, w) = split_read_write(&mut mem, 8..16, 0..4).unwrap();
        assert_eq!((r.len(), w.len()), (8, 4));
        let (r, w) = split_read_write(&mut mem, 3..3, 0..16).unwrap();
        assert_eq!((r.len(), w.len()), (0, 16));
    }
}
