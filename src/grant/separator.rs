//! Searching text for one ASCII separator (`/`, `.`, `:`, `=`, ...) byte by byte.
//!
//! `str`'s methods with a `char` pattern bring a UTF-8 encoder, `CharSearcher` and `memchr`
//! into the device build for what is a single byte comparison here: an ASCII byte never occurs
//! inside a multi-byte UTF-8 sequence, so every position found is a character boundary.

/// Whether `s` contains the ASCII byte `separator`.
pub(crate) fn contains(s: &str, separator: u8) -> bool {
    s.bytes().any(|b| b == separator)
}

/// `s` split at its first `separator`, which neither part contains; `None` without one.
pub(crate) fn split_once(s: &str, separator: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == separator)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The parts of `s` between its `separator`s, as `str::split` yields them: one more part than
/// there are separators, empty parts included.
pub(crate) fn split(s: &str, separator: u8) -> Split<'_> {
    Split {
        rest: Some(s),
        separator,
    }
}

/// The iterator of [`split`].
#[derive(Clone, Debug)]
pub(crate) struct Split<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once(rest, self.separator) {
            Some((part, after)) => {
                self.rest = Some(after);
                Some(part)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every string of up to 5 characters over the separators, a letter and a two-byte
    /// character: each helper agrees with `str`'s method.
    #[test]
    fn agrees_with_str_on_every_short_string() {
        let alphabet = ['/', '.', ':', 'a', 'é'];
        let mut strings = alloc::vec![alloc::string::String::new()];
        for _ in 0..5 {
            let longer: Vec<_> = strings
                .iter()
                .flat_map(|s| {
                    alphabet.iter().map(move |c| {
                        let mut s = s.clone();
                        s.push(*c);
                        s
                    })
                })
                .collect();
            strings.extend(longer);
            strings.dedup();
        }
        strings.sort();
        strings.dedup();
        assert!(strings.len() > 3000);
        for s in &strings {
            for separator in [b'/', b'.', b':'] {
                let c = char::from(separator);
                assert_eq!(contains(s, separator), s.contains(c), "{s:?}");
                assert_eq!(split_once(s, separator), s.split_once(c), "{s:?}");
                assert_eq!(
                    split(s, separator).collect::<Vec<_>>(),
                    s.split(c).collect::<Vec<_>>(),
                    "{s:?}"
                );
            }
        }
    }
}
