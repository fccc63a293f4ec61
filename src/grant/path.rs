//! Guest paths: parsing, normalisation and component-wise prefix matching.
//!
//! A [`GuestPath`] is always absolute and normalised: it starts with `/`, has no empty, `.` or `..`
//! components, no trailing `/` (except the root itself), no NUL byte, and is valid UTF-8.
//! Comparison is by exact bytes; there is no case folding.

use alloc::string::String;
use core::fmt;

use super::wordwise;

/// The longest guest path accepted, in bytes (before normalisation).
pub const MAX_PATH_BYTES: usize = 4096;

/// From this length on (one word), an already normal path is checked eight bytes at a time and
/// copied in one piece; shorter ones byte by byte. Measured with callgrind (`benches/analysis.md`):
/// the two cost the same at 8 to 10 bytes, and from 11 bytes on the word-wise check is cheaper
/// (15 bytes: 211 against 316 instructions, 37 bytes: 322 against 716).
const WORDWISE_FROM: usize = 8;

/// An absolute, normalised guest path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestPath(String);

/// Why a guest path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PathError {
    /// The path was empty.
    Empty,
    /// The path was longer than [`MAX_PATH_BYTES`].
    TooLong,
    /// The path was not valid UTF-8 (including a length that cuts a character).
    NotUtf8,
    /// The path contained a NUL byte.
    Nul,
    /// The path did not start with `/`.
    Relative,
    /// The path contained a `..` component.
    ParentComponent,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Empty => "path is empty",
            PathError::TooLong => "path is too long",
            PathError::NotUtf8 => "path is not valid UTF-8",
            PathError::Nul => "path contains a NUL byte",
            PathError::Relative => "path is not absolute",
            PathError::ParentComponent => "path contains a `..` component",
        })
    }
}

impl core::error::Error for PathError {}

impl GuestPath {
    /// Parses a path passed by a guest, as bytes.
    ///
    /// Checks, in order: empty ([`PathError::Empty`]), longer than [`MAX_PATH_BYTES`]
    /// ([`PathError::TooLong`]), a NUL byte anywhere ([`PathError::Nul`]), valid UTF-8 — a length
    /// that cuts a character is not ([`PathError::NotUtf8`]), a leading `/`
    /// ([`PathError::Relative`]). Then normalises: repeated `/` collapse, `.` components are
    /// dropped, any `..` component is refused ([`PathError::ParentComponent`]) and a trailing `/`
    /// is dropped. The root is `/`.
    ///
    /// Runs in time linear in the input and allocates at most its length.
    pub fn parse(bytes: &[u8]) -> Result<GuestPath, PathError> {
        let mut path = GuestPath(String::with_capacity(bytes.len().min(MAX_PATH_BYTES)));
        path.reparse(bytes)?;
        Ok(path)
    }

    /// Replaces this path with `bytes` parsed as by [`GuestPath::parse`], reusing its buffer: no
    /// heap allocation once the buffer has held a path as long. On error the path becomes `/`.
    ///
    /// # Errors
    /// As [`GuestPath::parse`].
    pub fn reparse(&mut self, bytes: &[u8]) -> Result<(), PathError> {
        let result = self.normalise_into(bytes);
        if result.is_err() {
            self.0.clear();
            self.0.push('/');
        }
        result
    }

    fn normalise_into(&mut self, bytes: &[u8]) -> Result<(), PathError> {
        if bytes.is_empty() {
            return Err(PathError::Empty);
        }
        if bytes.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        // The common case, on every gated call: an absolute, already normal path, checked and
        // copied as it is (no component split). Short paths byte by byte in one pass; longer ones
        // eight bytes at a time, then validated and copied in one piece.
        let copied = if bytes.len() < WORDWISE_FROM {
            self.copy_if_normal_ascii(bytes)
        } else {
            wordwise::is_normal(bytes) && self.copy_if_utf8(bytes)
        };
        if copied {
            return Ok(());
        }
        if bytes.iter().any(|&b| b == 0) {
            return Err(PathError::Nul);
        }
        let s = core::str::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
        let rest = s.strip_prefix("/").ok_or(PathError::Relative)?;
        let out = &mut self.0;
        out.clear();
        out.reserve(s.len());
        for component in super::separator::split(rest, b'/') {
            match component {
                "" | "." => {}
                ".." => return Err(PathError::ParentComponent),
                _ => {
                    out.push_str("/");
                    out.push_str(component);
                }
            }
        }
        if out.is_empty() {
            out.push_str("/");
        }
        Ok(())
    }

    /// Copies `bytes` into this path if they are ASCII without NUL and already normal: `/`, or
    /// `/` followed by non-empty components separated by single `/`, none of them `.` or `..`.
    /// Returns `false` otherwise (the path's content is then unspecified: the caller rewrites
    /// it). No allocation once the buffer has held a path as long.
    ///
    /// Checks first, then copies once: one instruction per gated call fewer (callgrind) than
    /// copying byte by byte while checking, and no `char` encoder in the device build.
    fn copy_if_normal_ascii(&mut self, bytes: &[u8]) -> bool {
        use super::wordwise::dots_only;
        let [b'/', rest @ ..] = bytes else {
            return false;
        };
        let mut start = 0;
        for (i, &byte) in rest.iter().enumerate() {
            if byte == b'/' {
                if dots_only(rest.get(start..i)) {
                    return false;
                }
                start = i + 1;
            } else if byte.wrapping_sub(1) >= 0x7f {
                // NUL (wraps to 0xff) or not ASCII.
                return false;
            }
        }
        // The last component is empty only for the root itself (a trailing `/` is not normal).
        if !rest.is_empty() && dots_only(rest.get(start..)) {
            return false;
        }
        let Ok(text) = core::str::from_utf8(bytes) else {
            return false;
        };
        self.0.clear();
        self.0.push_str(text);
        true
    }

    /// Copies `bytes` into this path if they are valid UTF-8; returns `false` otherwise.
    ///
    /// `from_utf8` checks sixteen aligned ASCII bytes a word at a time but fewer byte by byte
    /// (several times slower): 8 to 16 bytes are checked in an aligned buffer padded with `/`
    /// (valid with the padding only if valid alone, as the padding is ASCII), filled with two
    /// eight-byte copies: the first and the last eight bytes.
    fn copy_if_utf8(&mut self, bytes: &[u8]) -> bool {
        /// Aligned, so that `from_utf8` takes its word-at-a-time path from the first byte.
        #[repr(C, align(16))]
        struct Padded([u8; 16]);
        let n = bytes.len();
        let mut padded = Padded([b'/'; 16]);
        let text = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            (Some(first), Some(last)) if n <= 16 => {
                if let Some(head) = padded.0.first_chunk_mut::<8>() {
                    *head = *first;
                }
                let slot = padded.0.get_mut(n - 8..n);
                if let Some(slot) = slot.and_then(|slot| <&mut [u8; 8]>::try_from(slot).ok()) {
                    *slot = *last;
                }
                core::str::from_utf8(&padded.0)
                    .ok()
                    .and_then(|text| text.get(..n))
            }
            _ => core::str::from_utf8(bytes).ok(),
        };
        let Some(text) = text else {
            return false;
        };
        self.0.clear();
        self.0.push_str(text);
        true
    }

    /// The root, `/`.
    pub fn root() -> GuestPath {
        GuestPath(String::from("/"))
    }

    /// Parses a path given as a string; the same rules as [`GuestPath::parse`].
    pub fn parse_str(s: &str) -> Result<GuestPath, PathError> {
        GuestPath::parse(s.as_bytes())
    }

    /// The normalised path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root, `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The components, without separators; the root has none.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        super::separator::split(&self.0, b'/').filter(|c| !c.is_empty())
    }

    /// Whether `prefix` is a component-wise prefix of this path, comparing exact bytes.
    ///
    /// `/data` is a prefix of `/data` and `/data/x`, but not of `/data2` or `/DATA/x`; `/` is a
    /// prefix of every path.
    pub fn starts_with(&self, prefix: &GuestPath) -> bool {
        let (path, prefix) = (self.0.as_bytes(), prefix.0.as_bytes());
        if prefix == b"/" {
            return true;
        }
        // The component boundary first: one byte, where most prefixes that do not match fail.
        match path.get(prefix.len()) {
            Some(b'/') | None => path.get(..prefix.len()) == Some(prefix),
            Some(_) => false,
        }
    }

    /// The part of this path below `prefix`, without a leading `/`; `""` when both are equal and
    /// `None` when `prefix` is not a component-wise prefix (see [`GuestPath::starts_with`]).
    pub fn strip_prefix(&self, prefix: &GuestPath) -> Option<&str> {
        if prefix.is_root() {
            return self.0.strip_prefix("/");
        }
        // The component boundary first: one byte, where most prefixes that do not match fail.
        if self
            .0
            .as_bytes()
            .get(prefix.0.len())
            .is_some_and(|&byte| byte != b'/')
        {
            return None;
        }
        let rest = self.0.strip_prefix(prefix.0.as_str())?;
        if rest.is_empty() {
            Some(rest)
        } else {
            rest.strip_prefix("/")
        }
    }
}

impl fmt::Display for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for GuestPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn p(s: &str) -> GuestPath {
        match GuestPath::parse_str(s) {
            Ok(path) => path,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn data() -> GuestPath {
        p("/data")
    }

    #[test]
    fn normalises() {
        assert_eq!(p("/").as_str(), "/");
        assert_eq!(p("//").as_str(), "/");
        assert_eq!(p("/././/.").as_str(), "/");
        assert_eq!(p("/data").as_str(), "/data");
        assert_eq!(p("/data/").as_str(), "/data");
        assert_eq!(p("/data//x/").as_str(), "/data/x");
        assert_eq!(p("/data/./x").as_str(), "/data/x");
        assert_eq!(p("///data///.///x///").as_str(), "/data/x");
        assert_eq!(p("/a/.../b").as_str(), "/a/.../b");
        assert_eq!(p("/a/..b/c..").as_str(), "/a/..b/c..");
        assert!(p("/").is_root());
        assert!(!p("/a").is_root());
    }

    #[test]
    fn admitted_under_data() {
        for s in [
            "/data",
            "/data/x",
            "/data//x/",
            "/data/./x",
            "/data/",
            "/./data",
        ] {
            assert!(p(s).starts_with(&data()), "{s}");
        }
    }

    #[test]
    fn refused_by_starts_with() {
        // These parse, but are not under /data.
        for s in [
            "/data2/x", "/DATA/x", "/data2", "/dat", "/", "/x/data", "/dätä",
        ] {
            assert!(!p(s).starts_with(&data()), "{s}");
            assert_eq!(p(s).strip_prefix(&data()), None, "{s}");
        }
    }

    #[test]
    fn refused_at_parse() {
        assert_eq!(
            GuestPath::parse_str("/data/../etc/x"),
            Err(PathError::ParentComponent)
        );
        assert_eq!(
            GuestPath::parse_str("//data/../x"),
            Err(PathError::ParentComponent)
        );
        assert_eq!(
            GuestPath::parse_str("/data/./../x"),
            Err(PathError::ParentComponent)
        );
        assert_eq!(GuestPath::parse_str("/.."), Err(PathError::ParentComponent));
        assert_eq!(
            GuestPath::parse_str("/data/.."),
            Err(PathError::ParentComponent)
        );
        assert_eq!(
            GuestPath::parse_str("/data/../"),
            Err(PathError::ParentComponent)
        );
        assert_eq!(GuestPath::parse_str("data/x"), Err(PathError::Relative));
        assert_eq!(GuestPath::parse_str("./data"), Err(PathError::Relative));
        assert_eq!(GuestPath::parse_str("../data"), Err(PathError::Relative));
        assert_eq!(GuestPath::parse_str(" /data"), Err(PathError::Relative));
        assert_eq!(GuestPath::parse_str("\\data"), Err(PathError::Relative));
        assert_eq!(GuestPath::parse_str(""), Err(PathError::Empty));
        assert_eq!(GuestPath::parse(b""), Err(PathError::Empty));
    }

    #[test]
    fn nul_anywhere() {
        assert_eq!(GuestPath::parse(b"/data/\0x"), Err(PathError::Nul));
        assert_eq!(GuestPath::parse(b"/data\0"), Err(PathError::Nul));
        assert_eq!(GuestPath::parse(b"\0"), Err(PathError::Nul));
        assert_eq!(GuestPath::parse_str("/da\0ta/x"), Err(PathError::Nul));
    }

    #[test]
    fn invalid_utf8() {
        assert_eq!(GuestPath::parse(b"/data/\xff"), Err(PathError::NotUtf8));
        assert_eq!(GuestPath::parse(b"/\xc0\xaf"), Err(PathError::NotUtf8)); // overlong '/'
        assert_eq!(GuestPath::parse(b"/\xed\xa0\x80"), Err(PathError::NotUtf8)); // surrogate
                                                                                 // A length that cuts "é" (0xC3 0xA9) after its first byte.
        let full = "/data/é".as_bytes();
        assert_eq!(
            GuestPath::parse(full).map(|g| g.0),
            Ok(String::from("/data/é"))
        );
        let cut = full.get(..full.len() - 1).unwrap_or_default();
        assert_eq!(GuestPath::parse(cut), Err(PathError::NotUtf8));
    }

    /// The rules of [`GuestPath::parse`], written the slow and obvious way.
    fn slow_normalise(bytes: &[u8]) -> Result<String, PathError> {
        if bytes.is_empty() {
            return Err(PathError::Empty);
        }
        if bytes.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        if bytes.contains(&0) {
            return Err(PathError::Nul);
        }
        let s = core::str::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
        if !s.starts_with('/') {
            return Err(PathError::Relative);
        }
        let parts: Vec<&str> = s
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(PathError::ParentComponent);
        }
        Ok(if parts.is_empty() {
            String::from("/")
        } else {
            parts.iter().map(|c| alloc::format!("/{c}")).collect()
        })
    }

    #[test]
    fn reparse_agrees_with_the_reference_on_every_short_byte_input() {
        // Every byte string of up to 6 bytes over separators, dots, NUL and a two-byte character
        // (whole, or cut: invalid UTF-8), through one reused buffer as the gate uses it.
        let alphabet: [&[u8]; 6] = [&b"/"[..], b".", b"a", b"\0", "\u{e9}".as_bytes(), b"\xc3"];
        let mut reused = GuestPath::root();
        let mut stack: Vec<Vec<u8>> = alloc::vec![Vec::new()];
        let mut checked = 0;
        while let Some(input) = stack.pop() {
            let expected = slow_normalise(&input);
            let got = reused.reparse(&input).map(|()| reused.as_str().into());
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&input));
            assert_eq!(GuestPath::parse(&input).map(|p| p.0), expected);
            if expected.is_err() {
                assert!(reused.is_root(), "a refused path leaves the buffer at `/`");
            }
            checked += 1;
            if input.len() < 6 {
                for symbol in alphabet {
                    let mut next = input.clone();
                    next.extend_from_slice(symbol);
                    stack.push(next);
                }
            }
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn reparse_agrees_with_the_reference_on_longer_inputs() {
        // Inputs of up to about 60 bytes (both fast paths: byte by byte below `WORDWISE_FROM`,
        // eight bytes at a time from it, with and without the sixteen-byte padding), built from
        // separators, dots, NUL, bytes next to `/` and `.` and to zero, and UTF-8 (whole or cut).
        let pieces: [&[u8]; 12] = [
            b"/",
            b"/",
            b"/",
            b".",
            b"..",
            b"ab",
            b"c",
            b"\0",
            b"\x01",
            b"\x2e\x2f\x30",
            b"\xc3\xa9",
            b"\xc3",
        ];
        let mut reused = GuestPath::root();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let mut fast = 0;
        for _ in 0..60_000 {
            let mut input = Vec::new();
            if next() % 8 != 0 {
                input.push(b'/');
            }
            let pieces_in = next() % 24;
            for _ in 0..pieces_in {
                // Mostly plain letters and separators, so that many inputs are normal.
                let piece = match next() % 16 {
                    0..=4 => &b"x"[..],
                    5..=7 => b"/",
                    _ => pieces.get((next() % 12) as usize).copied().unwrap_or(b"/"),
                };
                input.extend_from_slice(piece);
            }
            let expected = slow_normalise(&input);
            if expected.as_deref().is_ok_and(|e| e.as_bytes() == input) {
                fast += 1;
            }
            let got = reused.reparse(&input).map(|()| reused.as_str().into());
            assert_eq!(got, expected, "{input:?}");
            assert_eq!(GuestPath::parse(&input).map(|p| p.0), expected, "{input:?}");
            if expected.is_err() {
                assert!(reused.is_root(), "{input:?}");
            }
        }
        // Enough already normal inputs took the fast paths.
        assert!(fast > 5_000, "{fast}");
    }

    #[test]
    fn length_limit() {
        let mut ok = String::from("/");
        while ok.len() < MAX_PATH_BYTES {
            ok.push('a');
        }
        assert_eq!(ok.len(), MAX_PATH_BYTES);
        assert_eq!(
            GuestPath::parse_str(&ok).map(|g| g.0.len()),
            Ok(MAX_PATH_BYTES)
        );
        ok.push('a');
        assert_eq!(GuestPath::parse_str(&ok), Err(PathError::TooLong));
        // Length is checked before normalisation, and before the other checks.
        let mut slashes = String::new();
        while slashes.len() <= MAX_PATH_BYTES {
            slashes.push('/');
        }
        assert_eq!(GuestPath::parse_str(&slashes), Err(PathError::TooLong));
        let mut bytes = Vec::new();
        bytes.resize(MAX_PATH_BYTES + 1, 0xffu8);
        assert_eq!(GuestPath::parse(&bytes), Err(PathError::TooLong));
    }

    #[test]
    fn root_prefix() {
        let root = p("/");
        for s in ["/", "/data", "/data/x", "/DATA", "/dätä/x"] {
            assert!(p(s).starts_with(&root), "{s}");
        }
        assert_eq!(p("/").strip_prefix(&root), Some(""));
        assert_eq!(p("/data/x").strip_prefix(&root), Some("data/x"));
        assert!(!root.starts_with(&data()));
    }

    #[test]
    fn non_ascii_exact() {
        let data_umlaut = p("/dätä");
        assert_eq!(data_umlaut.as_str(), "/dätä");
        assert!(!data_umlaut.starts_with(&data()));
        assert!(!p("/data/x").starts_with(&data_umlaut));
        assert!(p("/dätä/x").starts_with(&data_umlaut));
        assert_eq!(p("/dätä/ß").strip_prefix(&data_umlaut), Some("ß"));
        // "é" precomposed vs "e" + combining acute: different bytes, no normalisation.
        assert!(!p("/cafe\u{301}").starts_with(&p("/café")));
        // A byte-wise prefix that is not a whole component never matches.
        assert!(!p("/dätä").starts_with(&p("/dä")));
    }

    #[test]
    fn strip_prefix_results() {
        assert_eq!(p("/data").strip_prefix(&data()), Some(""));
        assert_eq!(p("/data/").strip_prefix(&data()), Some(""));
        assert_eq!(p("/data/x").strip_prefix(&data()), Some("x"));
        assert_eq!(p("/data//x/y/").strip_prefix(&data()), Some("x/y"));
        assert_eq!(p("/data/x/y").strip_prefix(&p("/data/x")), Some("y"));
        assert_eq!(p("/data2/x").strip_prefix(&data()), None);
        assert_eq!(p("/data").strip_prefix(&p("/data/x")), None);
    }

    #[test]
    fn components_and_display() {
        assert_eq!(p("/").components().count(), 0);
        assert_eq!(
            p("/a//b/./c/").components().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(alloc::format!("{}", p("/a//b/")), "/a/b");
        assert_eq!(p("/a/b").as_ref(), "/a/b");
    }

    /// Reference model: split on '/', drop empty and "." parts; `None` when there is a "..".
    fn model(s: &str) -> Option<Vec<&str>> {
        let parts: Vec<&str> = s
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if parts.contains(&"..") {
            None
        } else {
            Some(parts)
        }
    }

    #[test]
    fn starts_with_matches_model() {
        let mut inputs: Vec<String> = [
            "/",
            "//",
            "/.",
            "/a",
            "/a/",
            "/a/b",
            "/a//b",
            "/a/./b",
            "/a/b/c",
            "/ab",
            "/ab/c",
            "/a/bc",
            "/A/b",
            "/b",
            "/b/a",
            "/a/b/",
            "/./a/./b/.",
            "/a/..",
            "/a/../b",
            "/..a",
            "/a..",
            "/a/.b",
            "/a/b.",
            "/ä",
            "/ä/b",
            "/a/ä",
            "/äb",
            "/data",
            "/data2",
            "/data/x",
            "/dat/a",
            "/d/ata",
        ]
        .iter()
        .map(|s| String::from(*s))
        .collect();
        // Pseudo-random strings over a small alphabet, from a fixed-seed generator.
        let alphabet = ["/", "/", "a", "b", ".", "ä", "A"];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300 {
            let mut s = String::from("/");
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = (seed >> 60) as usize;
            for _ in 0..len {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let i = ((seed >> 33) as usize) % alphabet.len();
                s.push_str(alphabet.get(i).copied().unwrap_or("/"));
            }
            inputs.push(s);
        }
        let mut compared = 0usize;
        for a in &inputs {
            let parsed_a = GuestPath::parse_str(a);
            assert_eq!(parsed_a.is_ok(), model(a).is_some(), "{a:?}");
            let (Ok(pa), Some(ma)) = (parsed_a, model(a)) else {
                continue;
            };
            assert_eq!(pa.components().collect::<Vec<_>>(), ma, "{a:?}");
            for b in &inputs {
                let (Ok(pb), Some(mb)) = (GuestPath::parse_str(b), model(b)) else {
                    continue;
                };
                let expected =
                    ma.len() >= mb.len() && ma.iter().zip(mb.iter()).all(|(x, y)| x == y);
                assert_eq!(pa.starts_with(&pb), expected, "{a:?} starts_with {b:?}");
                assert_eq!(pa.strip_prefix(&pb).is_some(), expected, "{a:?} / {b:?}");
                if let Some(rest) = pa.strip_prefix(&pb) {
                    let joined = ma.get(mb.len()..).map(|r| r.join("/"));
                    assert_eq!(Some(String::from(rest)), joined, "{a:?} / {b:?}");
                }
                compared += 1;
            }
        }
        assert!(compared > 1000, "only {compared} pairs compared");
    }

    /// The normaliser as specified, written the obvious way.
    fn reference(s: &str) -> Result<String, PathError> {
        if s.is_empty() {
            return Err(PathError::Empty);
        }
        if s.contains('\0') {
            return Err(PathError::Nul);
        }
        let rest = s.strip_prefix('/').ok_or(PathError::Relative)?;
        let mut out = String::new();
        for component in rest.split('/') {
            match component {
                "" | "." => {}
                ".." => return Err(PathError::ParentComponent),
                c => {
                    out.push('/');
                    out.push_str(c);
                }
            }
        }
        Ok(if out.is_empty() {
            String::from("/")
        } else {
            out
        })
    }

    #[test]
    fn parse_matches_reference_on_every_short_path() {
        let alphabet = ['/', '.', 'a', '\0'];
        let mut buffer = GuestPath::root();
        let mut inputs = alloc::vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = inputs
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| alloc::format!("{s}{c}")))
                .collect();
            for input in &longer {
                let expected = reference(input);
                let parsed = GuestPath::parse_str(input).map(|p| String::from(p.as_str()));
                assert_eq!(parsed, expected, "{input:?}");
                let reparsed = buffer
                    .reparse(input.as_bytes())
                    .map(|()| String::from(buffer.as_str()));
                assert_eq!(reparsed, expected, "{input:?}");
                if expected.is_err() {
                    assert!(buffer.is_root(), "{input:?}: a failed reparse leaves `/`");
                }
            }
            inputs = longer;
        }
    }

    #[test]
    fn reparse_reuses_its_buffer() {
        let mut path = p("/a/path/long/enough/for/every/case/below");
        let capacity = path.0.capacity();
        let pointer = path.0.as_ptr();
        for input in ["/data/x", "//data/./x/", "/", "/a/../b", "rel", "/a\0"] {
            let _ = path.reparse(input.as_bytes());
            assert_eq!(
                (path.0.capacity(), path.0.as_ptr()),
                (capacity, pointer),
                "{input:?}"
            );
        }
    }
}
