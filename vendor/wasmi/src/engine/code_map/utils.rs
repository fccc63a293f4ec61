use alloc::boxed::Box;
use core::{ops, slice};

/// A boxed byte slice that can store some bytes inline.
#[derive(Debug)]
pub enum SmallByteSlice {
    /// The byte slice fits in the inline buffer.
    Small {
        /// The length of the byte slice.
        len: u8,
        /// The bytes stored inline.
        ///
        /// Bytes beyond `len` are zeroed.
        bytes: [u8; Self::MAX_INLINE_SIZE],
    },
    /// The byte slice is too big and allocated on the heap.
    Big(Box<[u8]>),
    /// The byte slice is borrowed from a `'static` Wasm binary and never copied.
    ///
    /// Used by [`Module::new_static`](crate::Module::new_static).
    Static(&'static [u8]),
}

impl Default for SmallByteSlice {
    fn default() -> Self {
        Self::Small {
            len: 0,
            bytes: [0x00; Self::MAX_INLINE_SIZE],
        }
    }
}

impl SmallByteSlice {
    /// The maximum amount of bytes that can be stored inline.
    ///
    /// This value was chosen because it allows for the maximum
    /// amount of bytes to be stored inline with minimal `size_of`.
    ///
    /// pluginhost: with 32-bit pointers, 7 bytes keep the inline case as small as a `Box<[u8]>`
    /// (12 bytes for the enum instead of 24). Every function of a module has an entry, and most
    /// bodies are longer than 22 bytes anyway; `Module::new_static` never copies them.
    const MAX_INLINE_SIZE: usize = if core::mem::size_of::<usize>() <= 4 {
        7
    } else {
        22
    };

    /// Returns the underlying slice of bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallByteSlice::Small { len, bytes } => &bytes[..usize::from(*len)],
            SmallByteSlice::Big(bytes) => &bytes[..],
            SmallByteSlice::Static(bytes) => bytes,
        }
    }
}

impl<I> ops::Index<I> for SmallByteSlice
where
    I: slice::SliceIndex<[u8]>,
{
    type Output = <I as slice::SliceIndex<[u8]>>::Output;

    #[inline]
    fn index(&self, index: I) -> &Self::Output {
        self.as_slice().index(index)
    }
}

impl<'a> From<&'a [u8]> for SmallByteSlice {
    fn from(bytes: &'a [u8]) -> Self {
        if bytes.len() <= Self::MAX_INLINE_SIZE {
            let len = bytes.len() as u8;
            let mut buffer = [0x00_u8; Self::MAX_INLINE_SIZE];
            buffer[..usize::from(len)].copy_from_slice(bytes);
            return Self::Small { len, bytes: buffer };
        }
        Self::Big(bytes.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_byte_slice_is_no_larger_than_a_boxed_slice_and_its_tag() {
        // pluginhost: 12 bytes with 32-bit pointers (24 with 64-bit, as upstream).
        let expected = if core::mem::size_of::<usize>() <= 4 {
            12
        } else {
            24
        };
        assert_eq!(core::mem::size_of::<SmallByteSlice>(), expected);
        for len in [
            0,
            SmallByteSlice::MAX_INLINE_SIZE,
            SmallByteSlice::MAX_INLINE_SIZE + 1,
            100,
        ] {
            let bytes: alloc::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(SmallByteSlice::from(&bytes[..]).as_slice(), &bytes[..]);
        }
    }
}
