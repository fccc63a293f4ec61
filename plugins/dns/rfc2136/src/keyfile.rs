//! The TSIG key file: its two accepted forms. Pure, unit-tested on the host.
//!
//! * one line `hmac-sha256:<name>:<base64 secret>`, the `-y` form of `kdig`, `knsupdate` and
//!   `nsupdate` (and the comment Knot's `keymgr -t` prints first); lines starting with `#` and
//!   blank lines are skipped;
//! * a BIND `key "<name>" { algorithm hmac-sha256; secret "<base64>"; };` clause, as
//!   `tsig-keygen` and `ddns-confgen` write it (`#`, `//` and `/* */` comments allowed).
//!
//! Exactly one key per file. Only `hmac-sha256` is accepted.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;

use crate::plan::normalize_name;

/// The largest key file read.
pub const MAX_KEY_FILE_BYTES: usize = 4096;
/// The longest secret, in bytes after decoding.
pub const MAX_SECRET_BYTES: usize = 512;
/// The one algorithm supported.
pub const ALGORITHM: &str = "hmac-sha256";

/// A TSIG key. `Debug` does not show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key's name, lower-case, without the trailing dot: `acme-key`.
    pub name: String,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a key file was not accepted. The messages never quote the file's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFileError {
    /// Neither form, or more than one key.
    Syntax,
    /// An algorithm other than `hmac-sha256`.
    Algorithm,
    /// The key name is not a DNS name.
    Name,
    /// The secret is not base64, empty, or too long.
    Secret,
}

impl KeyFileError {
    /// What is wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            KeyFileError::Syntax => {
                "is neither one `hmac-sha256:<name>:<secret>` line nor one BIND `key` clause"
            }
            KeyFileError::Algorithm => "names an algorithm other than hmac-sha256",
            KeyFileError::Name => "has a key name that is not a DNS name",
            KeyFileError::Secret => "has a secret that is not 1 to 512 bytes of base64",
        }
    }
}

/// Parses a key file's text.
#[inline(never)]
pub fn parse(text: &str) -> Result<TsigKey, KeyFileError> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    match lines.as_slice() {
        [line] if !line.starts_with("key") || !line.contains('{') => parse_line(line),
        _ => parse_bind(text),
    }
}

#[inline(never)]
fn parse_line(line: &str) -> Result<TsigKey, KeyFileError> {
    let mut parts = line.splitn(3, ':');
    let (Some(algorithm), Some(name), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyFileError::Syntax);
    };
    key(algorithm, name, secret)
}

fn key(algorithm: &str, name: &str, secret: &str) -> Result<TsigKey, KeyFileError> {
    let algorithm = algorithm.strip_suffix('.').unwrap_or(algorithm);
    if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
        return Err(KeyFileError::Algorithm);
    }
    let name = normalize_name(name, true).map_err(|_| KeyFileError::Name)?;
    let secret = decode_secret(secret)?;
    if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
        return Err(KeyFileError::Secret);
    }
    Ok(TsigKey { name, secret })
}

/// The secret's bytes, from base64.
#[inline(never)]
fn decode_secret(secret: &str) -> Result<Vec<u8>, KeyFileError> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.trim())
        .map_err(|_| KeyFileError::Secret)
}

/// A token of the BIND configuration syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Open,
    Close,
    Semicolon,
}

fn tokens(text: &str) -> Result<Vec<Token<'_>>, KeyFileError> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(first) = rest.chars().next() else {
            return Ok(out);
        };
        if first == '#' || rest.starts_with("//") {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
            continue;
        }
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after
                .split_once("*/")
                .map(|(_, after)| after)
                .ok_or(KeyFileError::Syntax)?;
            continue;
        }
        // `first` is ASCII in every arm that skips one byte.
        let tail = rest.get(1..).unwrap_or("");
        let (token, after) = match first {
            '{' => (Token::Open, tail),
            '}' => (Token::Close, tail),
            ';' => (Token::Semicolon, tail),
            '"' => {
                let (inside, after) = tail.split_once('"').ok_or(KeyFileError::Syntax)?;
                (Token::Quoted(inside), after)
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || "{};\"".contains(c))
                    .unwrap_or(rest.len());
                let (word, after) = rest.split_at(end);
                (Token::Word(word), after)
            }
        };
        out.push(token);
        rest = after;
    }
}

#[inline(never)]
fn parse_bind(text: &str) -> Result<TsigKey, KeyFileError> {
    let tokens = tokens(text)?;
    fn text_of<'a>(t: Option<&Token<'a>>) -> Result<&'a str, KeyFileError> {
        match t {
            Some(Token::Word(w) | Token::Quoted(w)) => Ok(*w),
            _ => Err(KeyFileError::Syntax),
        }
    }
    let mut it = tokens.iter();
    if it.next() != Some(&Token::Word("key")) {
        return Err(KeyFileError::Syntax);
    }
    let name = text_of(it.next())?;
    if it.next() != Some(&Token::Open) {
        return Err(KeyFileError::Syntax);
    }
    let (mut algorithm, mut secret) = (None, None);
    loop {
        match it.next() {
            Some(Token::Close) => break,
            Some(Token::Word(field)) => {
                let value = text_of(it.next())?;
                if it.next() != Some(&Token::Semicolon) {
                    return Err(KeyFileError::Syntax);
                }
                let slot = match *field {
                    "algorithm" => &mut algorithm,
                    "secret" => &mut secret,
                    _ => return Err(KeyFileError::Syntax),
                };
                if slot.replace(value).is_some() {
                    return Err(KeyFileError::Syntax);
                }
            }
            _ => return Err(KeyFileError::Syntax),
        }
    }
    if it.next() != Some(&Token::Semicolon) || it.next().is_some() {
        return Err(KeyFileError::Syntax);
    }
    match (algorithm, secret) {
        (Some(algorithm), Some(secret)) => key(algorithm, name, secret),
        _ => Err(KeyFileError::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    const SECRET: &str = "5ZPSyh/sus/PFfffE9uqegKo36cx5FtGtxP/+i2l/4I=";

    fn secret() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(SECRET)
            .unwrap()
    }

    #[test]
    fn one_line_form() {
        let k = parse(&format!("hmac-sha256:Acme-Key.:{SECRET}\n")).unwrap();
        assert_eq!(k.name, "acme-key");
        assert_eq!(k.secret, secret());
        assert_eq!(k.secret.len(), 32);
        // Knot's `keymgr -t` prints this comment line first; the YAML after it is not read.
        let keymgr = format!("# hmac-sha256:acme-key:{SECRET}\nhmac-sha256:acme-key:{SECRET}");
        assert_eq!(parse(&keymgr).unwrap().name, "acme-key");
        assert!(!format!("{k:?}").contains(SECRET));
        assert!(!format!("{k:?}").contains("229"));
    }

    #[test]
    fn bind_form() {
        let text =
            format!("key \"acme-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n");
        let k = parse(&text).unwrap();
        assert_eq!((k.name.as_str(), k.secret.clone()), ("acme-key", secret()));
        let compact = format!(
            "# made by tsig-keygen\n/* c */ key acme-key {{ secret \"{SECRET}\"; // s\n algorithm \"HMAC-SHA256\"; }};"
        );
        assert_eq!(parse(&compact).unwrap(), k);
    }

    #[test]
    fn refuses_bad_files() {
        let cases = [
            (String::new(), KeyFileError::Syntax),
            (format!("acme-key:{SECRET}"), KeyFileError::Syntax),
            (format!("hmac-sha256:acme-key{SECRET}"), KeyFileError::Syntax),
            (format!("hmac-md5:acme-key:{SECRET}"), KeyFileError::Algorithm),
            (format!("hmac-sha256:bad key:{SECRET}"), KeyFileError::Name),
            ("hmac-sha256:k:not base64!".into(), KeyFileError::Secret),
            ("hmac-sha256:k:".into(), KeyFileError::Secret),
            (
                format!("hmac-sha256:k:{}", "QUFB".repeat(200)),
                KeyFileError::Secret,
            ),
            (
                format!("hmac-sha256:a:{SECRET}\nhmac-sha256:b:{SECRET}"),
                KeyFileError::Syntax,
            ),
            (
                format!("key a {{ algorithm hmac-sha256; secret \"{SECRET}\"; }}"),
                KeyFileError::Syntax,
            ),
            (
                format!("key a {{ algorithm hmac-sha256; secret \"{SECRET}\"; }}; key b {{ }};"),
                KeyFileError::Syntax,
            ),
            (
                format!("key a {{ algorithm hmac-sha256; algorithm hmac-sha256; secret \"{SECRET}\"; }};"),
                KeyFileError::Syntax,
            ),
            ("key a { algorithm hmac-sha256; };".into(), KeyFileError::Syntax),
            (
                format!("key a {{ algorithm hmac-sha512; secret \"{SECRET}\"; }};"),
                KeyFileError::Algorithm,
            ),
            ("key a { secret \"unterminated; };".into(), KeyFileError::Syntax),
            ("/* open".into(), KeyFileError::Syntax),
        ];
        for (text, want) in cases {
            assert_eq!(parse(&text), Err(want), "{text:?}");
        }
    }
}
