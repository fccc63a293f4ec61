//! Strings built from pieces without `core::fmt`: [`strcat!`](crate::strcat!).
//!
//! `format!` runs `core::fmt`'s machinery (`fmt::write`, `Formatter::pad`, `pad_integral`, the
//! integer `Display`s), several KiB of wasm that the host translates, and keeps, the first time a
//! plugin formats anything. `strcat!` gives the same text for the pieces plugins put in their
//! paths, records and messages: string slices, `String`s, `char`s, decimal integers (as
//! `Display` writes them) and [`Error`]s (as their `Display`).

use alloc::string::String;

use crate::Error;

/// A value [`strcat!`](crate::strcat!) can append to a `String`.
pub trait Piece {
    /// Appends `self`, as its `Display` would write it, to `out`.
    fn push_to(&self, out: &mut String);
}

impl<T: Piece + ?Sized> Piece for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

impl Piece for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }
}

/// The decimal digits of `value`, written into the end of `buf` (20 bytes hold any `u64`).
pub fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(d) = buf.get_mut(start) {
            *d = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// Appends `value` in decimal, preceded by `-` if `negative`.
fn push_decimal(out: &mut String, negative: bool, value: u64) {
    if negative {
        out.push('-');
    }
    for &d in decimal(value, &mut [0; 20]) {
        out.push(char::from(d));
    }
}

macro_rules! unsigned_piece {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_decimal(out, false, *self as u64);
            }
        }
    )*};
}

macro_rules! signed_piece {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_decimal(out, *self < 0, (*self as i64).unsigned_abs());
            }
        }
    )*};
}

unsigned_piece!(u8, u16, u32, u64, usize);
signed_piece!(i8, i16, i32, i64, isize);

impl Piece for Error {
    fn push_to(&self, out: &mut String) {
        out.push_str(self.name());
        if let Error::Unknown(code) = self {
            out.push(' ');
            code.push_to(out);
        }
    }
}

/// A `String` of its pieces in order, each as its `Display` writes it, without `core::fmt`:
/// `strcat!("deployed ", len, " bytes to ", path)` is `format!("deployed {len} bytes to
/// {path}")`. Pieces: anything implementing [`text::Piece`](crate::text::Piece) (string slices,
/// `String`, `char`, integers, [`Error`](crate::Error)), or references to them.
#[macro_export]
macro_rules! strcat {
    () => {
        $crate::__private::String::new()
    };
    ($($piece:expr),+ $(,)?) => {{
        let mut out = $crate::__private::String::new();
        $( $crate::text::Piece::push_to(&$piece, &mut out); )*
        out
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn integers_as_display() {
        for v in [0u64, 1, 9, 10, 99, 100, 65_535, u32::MAX as u64, u64::MAX] {
            assert_eq!(crate::strcat!(v), v.to_string());
        }
        for v in [0i64, -1, 7, -10, i32::MIN as i64, i64::MIN, i64::MAX] {
            assert_eq!(crate::strcat!(v), v.to_string());
        }
        assert_eq!(crate::strcat!(53u16, 255u8, -128i8, usize::MAX), {
            format!("{}{}{}{}", 53u16, 255u8, -128i8, usize::MAX)
        });
    }

    #[test]
    fn pieces_in_order() {
        let path = String::from("/certs/a.pem");
        let empty = "";
        assert_eq!(
            crate::strcat!("deployed ", 12usize, " bytes to ", path, empty, '.', &path),
            format!("deployed 12 bytes to {path}.{path}")
        );
        assert_eq!(crate::strcat!(), "");
    }

    #[test]
    fn errors_as_display() {
        for e in [
            Error::Denied,
            Error::Invalid,
            Error::NotFound,
            Error::Io,
            Error::Limit,
            Error::BadHandle,
            Error::Tls,
            Error::Unknown(-42),
            Error::Unknown(7),
            Error::Decode,
            Error::Encode,
        ] {
            assert_eq!(crate::strcat!(e), e.to_string());
            assert_eq!(crate::strcat!("x: ", e), format!("x: {e}"));
        }
    }
}
