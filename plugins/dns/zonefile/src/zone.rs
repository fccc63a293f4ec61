//! Name and value validation, and the zone file update. Pure, unit-tested on the host.
//!
//! The update keeps every line of the zone file except the TXT records (single- or multi-line)
//! owned by the challenge name, and appends the new record at the end. It understands
//! `$ORIGIN`, `@`, relative owner names, owner-less continuation records, parentheses, quoted
//! strings and `;` comments; `$INCLUDE`d files are not followed.

use alloc::string::{String, ToString};

use pluginhost_sdk::proto::dns::{check_txt_value, normalize_dns_name, PublishTxtRequest};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::strcat;

/// Where the zone files live (the plugin's `fs.read` and `fs.write` scope).
pub const ZONE_DIR: &str = "/zones";
/// The largest zone file handled, before and after the update (one `fs_read`/`fs_write` call).
pub const MAX_ZONE_BYTES: usize = 64 * 1024;
/// The largest TTL (RFC 2181 §8).
pub const MAX_TTL: u32 = i32::MAX as u32;
/// The label the challenge record goes under (RFC 8555 §8.4).
pub const CHALLENGE_LABEL: &str = "_acme-challenge";

/// What to write where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// `/zones/<zone>.zone`.
    pub zone_path: String,
    /// The zone's origin, absolute and lower-case: `example.com.`.
    pub origin: String,
    /// The record's owner, absolute and lower-case: `_acme-challenge.www.example.com.`.
    pub owner: String,
    /// The record: `<owner> <ttl> IN TXT "<value>"`.
    pub record_line: String,
}

/// Checks the request and works out the plan.
#[inline(never)]
pub fn plan(request: &PublishTxtRequest) -> Result<Plan, PluginFailure> {
    let zone = normalize_name(&request.zone, false)
        .map_err(|why| PluginFailure::bad_request(strcat!("zone ", why)))?;
    let fqdn = request.fqdn.strip_prefix("*.").unwrap_or(&request.fqdn);
    let fqdn = normalize_name(fqdn, true)
        .map_err(|why| PluginFailure::bad_request(strcat!("fqdn ", why)))?;
    let in_zone = fqdn == zone
        || fqdn
            .strip_suffix(zone.as_str())
            .is_some_and(|head| head.ends_with('.'));
    if !in_zone {
        return Err(PluginFailure::bad_request("fqdn is not inside zone"));
    }
    let challenge = if fqdn.starts_with("_acme-challenge.") {
        fqdn
    } else {
        strcat!(CHALLENGE_LABEL, ".", fqdn)
    };
    if challenge.len() > 253 {
        return Err(PluginFailure::bad_request(
            "the challenge name is longer than 253 bytes",
        ));
    }
    check_value(&request.value)?;
    if request.ttl > MAX_TTL {
        return Err(PluginFailure::bad_request("ttl must be at most 2147483647"));
    }
    let owner = strcat!(challenge, ".");
    Ok(Plan {
        zone_path: strcat!(ZONE_DIR, "/", zone, ".zone"),
        origin: strcat!(zone, "."),
        record_line: strcat!(owner, " ", request.ttl, " IN TXT \"", request.value, "\""),
        owner,
    })
}

/// A DNS name, lower-cased and without the trailing dot (see [`normalize_dns_name`]).
pub fn normalize_name(name: &str, underscore: bool) -> Result<String, &'static str> {
    normalize_dns_name(name, underscore)
}

/// A TXT value the record can carry as it is (see [`check_txt_value`]).
pub fn check_value(value: &str) -> Result<(), PluginFailure> {
    check_txt_value(value).map_err(PluginFailure::bad_request)
}

/// Why a zone file could not be updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneError {
    /// Parentheses do not balance.
    Unbalanced,
    /// A quoted string is not closed on its line.
    UnterminatedQuote,
    /// The result is larger than [`MAX_ZONE_BYTES`].
    TooLarge,
}

impl ZoneError {
    /// A message for the failure.
    pub fn message(self) -> &'static str {
        match self {
            ZoneError::Unbalanced => "the zone file's parentheses do not balance",
            ZoneError::UnterminatedQuote => "the zone file has an unterminated quoted string",
            ZoneError::TooLarge => "the updated zone file would be larger than 64 KiB",
        }
    }
}

/// The parts of one line that matter: its tokens before any comment, and its paren balance.
struct Scan<'a> {
    tokens: [Option<&'a str>; 4],
    depth_change: i32,
}

/// Splits `line` into (up to four) tokens outside quotes and comments, and counts parentheses
/// outside quotes and comments.
fn scan(line: &str) -> Result<Scan<'_>, ZoneError> {
    let mut tokens = [None; 4];
    let mut count = 0;
    let mut depth_change = 0;
    let mut in_quote = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut end = line.len();
    let mut push = |s: usize, e: usize, count: &mut usize| {
        if let (Some(slot), Some(token)) = (tokens.get_mut(*count), line.get(s..e)) {
            *slot = Some(token);
        }
        *count += 1;
    };
    for (i, c) in line.char_indices() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
            }
            continue;
        }
        match c {
            ';' => {
                end = i;
                break;
            }
            '"' => {
                if let Some(s) = start.take() {
                    push(s, i, &mut count);
                }
                in_quote = true;
                // Quoted strings only occur in RDATA; mark a token so that counts stay right.
                push(i, i + 1, &mut count);
            }
            '(' | ')' | ' ' | '\t' => {
                if let Some(s) = start.take() {
                    push(s, i, &mut count);
                }
                if c == '(' {
                    depth_change += 1;
                } else if c == ')' {
                    depth_change -= 1;
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
            }
        }
    }
    if in_quote {
        return Err(ZoneError::UnterminatedQuote);
    }
    if let Some(s) = start.take() {
        push(s, end, &mut count);
    }
    Ok(Scan {
        tokens,
        depth_change,
    })
}

/// `name` made absolute against `origin` and lower-cased.
fn absolute(name: &str, origin: &str) -> String {
    if name == "@" {
        origin.to_string()
    } else if name.ends_with('.') {
        name.to_ascii_lowercase()
    } else {
        strcat!(name.to_ascii_lowercase(), ".", origin)
    }
}

/// Whether the tokens after the owner (`[ttl] [class] type ...` in either order) say TXT.
fn is_txt<'a>(mut rest: impl Iterator<Item = &'a str>) -> bool {
    for _ in 0..3 {
        let Some(token) = rest.next() else {
            return false;
        };
        let class = ["IN", "CH", "HS", "CS"]
            .iter()
            .any(|c| token.eq_ignore_ascii_case(c));
        let ttl = token.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !class && !ttl {
            return token.eq_ignore_ascii_case("TXT");
        }
    }
    false
}

/// The zone text with every TXT record owned by `owner` removed and `record_line` appended.
/// `origin` and `owner` are absolute and lower-case.
#[inline(never)]
pub fn upsert(
    zone: &str,
    origin: &str,
    owner: &str,
    record_line: &str,
) -> Result<String, ZoneError> {
    let mut out = String::with_capacity(zone.len() + record_line.len() + 1);
    let mut origin = origin.to_string();
    let mut last_owner: Option<String> = None;
    let mut depth: i32 = 0;
    let mut dropping = false;
    for raw in zone.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let scanned = scan(line)?;
        if depth > 0 {
            // The continuation of a parenthesised record.
            depth += scanned.depth_change;
            if depth < 0 {
                return Err(ZoneError::Unbalanced);
            }
            if !dropping {
                out.push_str(raw);
            }
            continue;
        }
        dropping = false;
        depth = scanned.depth_change;
        if depth < 0 {
            return Err(ZoneError::Unbalanced);
        }
        let mut tokens = scanned.tokens.iter().map_while(|t| *t);
        let starts_blank = line.starts_with([' ', '\t']);
        let first = if starts_blank { None } else { tokens.next() };
        match first {
            None if scanned.tokens[0].is_none() => {} // blank or comment-only
            Some(directive) if directive.starts_with('$') => {
                if directive.eq_ignore_ascii_case("$ORIGIN") {
                    if let Some(name) = tokens.next() {
                        origin = absolute(name, &origin);
                    }
                }
            }
            first => {
                if let Some(name) = first {
                    last_owner = Some(absolute(name, &origin));
                }
                if last_owner.as_deref() == Some(owner) && is_txt(tokens) {
                    dropping = true;
                    continue;
                }
            }
        }
        out.push_str(raw);
    }
    if depth != 0 {
        return Err(ZoneError::Unbalanced);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(record_line);
    out.push('\n');
    if out.len() > MAX_ZONE_BYTES {
        return Err(ZoneError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use pluginhost_sdk::proto::FailureCode;

    fn request(zone: &str, fqdn: &str, value: &str, ttl: u32) -> PublishTxtRequest {
        PublishTxtRequest {
            zone: zone.into(),
            fqdn: fqdn.into(),
            value: value.into(),
            ttl,
        }
    }

    #[test]
    fn plans() {
        let p = plan(&request(
            "Example.COM.",
            "www.example.com",
            "abc-_XYZ123",
            60,
        ))
        .unwrap();
        assert_eq!(p.zone_path, "/zones/example.com.zone");
        assert_eq!(p.origin, "example.com.");
        assert_eq!(p.owner, "_acme-challenge.www.example.com.");
        assert_eq!(
            p.record_line,
            "_acme-challenge.www.example.com. 60 IN TXT \"abc-_XYZ123\""
        );
        let p = plan(&request("example.com", "*.example.com", "v", 0)).unwrap();
        assert_eq!(p.owner, "_acme-challenge.example.com.");
        let p = plan(&request(
            "example.com",
            "_acme-challenge.a.example.com.",
            "v",
            1,
        ))
        .unwrap();
        assert_eq!(p.owner, "_acme-challenge.a.example.com.");
    }

    #[test]
    fn refuses_bad_requests() {
        for (zone, fqdn, value, ttl) in [
            ("example.com", "www.example.org", "v", 60),
            ("example.com", "wwwexample.com", "v", 60),
            ("example.com", "a.b\n.example.com", "v", 60),
            ("example.com", "a..example.com", "v", 60),
            ("example.com", "-a.example.com", "v", 60),
            ("example.com", "a/b.example.com", "v", 60),
            ("", "example.com", "v", 60),
            ("../etc", "example.com", "v", 60),
            ("_x.com", "a._x.com", "v", 60),
            ("example.com", "example.com", "", 60),
            ("example.com", "example.com", "a\"b", 60),
            ("example.com", "example.com", "a\\b", 60),
            ("example.com", "example.com", "a\nb", 60),
            ("example.com", "example.com", "é", 60),
            ("example.com", "example.com", &"v".repeat(256), 60),
            ("example.com", "example.com", "v", u32::MAX),
            (
                "example.com",
                &format!("{}.example.com", "a.".repeat(120)),
                "v",
                60,
            ),
        ] {
            let f = plan(&request(zone, fqdn, value, ttl)).unwrap_err();
            assert_eq!(
                f.code,
                FailureCode::BadRequest,
                "{zone:?} {fqdn:?} {value:?}"
            );
        }
    }

    const OWNER: &str = "_acme-challenge.www.example.com.";
    const LINE: &str = "_acme-challenge.www.example.com. 60 IN TXT \"new\"";

    fn up(zone: &str) -> String {
        upsert(zone, "example.com.", OWNER, LINE).unwrap()
    }

    #[test]
    fn empty_and_missing_newline() {
        assert_eq!(up(""), format!("{LINE}\n"));
        assert_eq!(
            up("@ 3600 IN A 192.0.2.1"),
            format!("@ 3600 IN A 192.0.2.1\n{LINE}\n")
        );
    }

    #[test]
    fn replaces_only_the_same_txt_name() {
        let zone = "\
$TTL 3600
@ IN SOA ns hostmaster ( 1 7200 3600 1209600 300 )
_acme-challenge.www.example.com. 60 IN TXT \"old\"
_acme-challenge.WWW 120 TXT \"old2\" ; relative, upper case
_acme-challenge.www IN 30 txt \"old3\"
_acme-challenge.www.example.com. 60 IN CNAME elsewhere.
_acme-challenge.www2 60 IN TXT \"keep\"
_acme-challenge.www.example.org. 60 IN TXT \"keep\"
www IN A 192.0.2.1
; _acme-challenge.www 60 IN TXT \"comment\"
";
        let expected = format!(
            "\
$TTL 3600
@ IN SOA ns hostmaster ( 1 7200 3600 1209600 300 )
_acme-challenge.www.example.com. 60 IN CNAME elsewhere.
_acme-challenge.www2 60 IN TXT \"keep\"
_acme-challenge.www.example.org. 60 IN TXT \"keep\"
www IN A 192.0.2.1
; _acme-challenge.www 60 IN TXT \"comment\"
{LINE}
"
        );
        assert_eq!(up(zone), expected);
        // Idempotent: publishing again replaces the record just written.
        assert_eq!(up(&expected), expected);
    }

    #[test]
    fn multi_line_and_owner_less_records() {
        let zone = "\
_acme-challenge.www 60 IN TXT ( \"a\" ; first
    \"b)\" )
    60 IN TXT \"same owner, no name\"
\t60 IN A 192.0.2.9
other ( 60 IN TXT
  \"x\" )
";
        let expected = format!(
            "\
\t60 IN A 192.0.2.9
other ( 60 IN TXT
  \"x\" )
{LINE}
"
        );
        assert_eq!(up(zone), expected);
    }

    #[test]
    fn origin_directive() {
        let zone = "\
$ORIGIN www.example.com.
_acme-challenge 60 IN TXT \"old\"
$ORIGIN sub
_acme-challenge 60 IN TXT \"keep: _acme-challenge.sub.www.example.com.\"
@ 60 IN TXT \"keep\"
";
        assert_eq!(
            up(zone),
            format!(
                "\
$ORIGIN www.example.com.
$ORIGIN sub
_acme-challenge 60 IN TXT \"keep: _acme-challenge.sub.www.example.com.\"
@ 60 IN TXT \"keep\"
{LINE}
"
            )
        );
    }

    #[test]
    fn crlf_is_kept() {
        assert_eq!(
            up("www IN A 192.0.2.1\r\n"),
            format!("www IN A 192.0.2.1\r\n{LINE}\n")
        );
    }

    #[test]
    fn refuses_broken_zones() {
        let err = |z: &str| upsert(z, "example.com.", OWNER, LINE).unwrap_err();
        assert_eq!(err("a IN TXT ( \"x\"\n"), ZoneError::Unbalanced);
        assert_eq!(err("a IN TXT \"x\" )\n"), ZoneError::Unbalanced);
        assert_eq!(err("a IN TXT \"x\n"), ZoneError::UnterminatedQuote);
        let big = "; filler\n".repeat(MAX_ZONE_BYTES / 9);
        assert_eq!(err(&big), ZoneError::TooLarge);
        assert!(ZoneError::TooLarge.message().contains("64 KiB"));
    }

    #[test]
    fn scanning() {
        let s = scan("a \"b c\" (d) ; e").unwrap();
        assert_eq!(s.tokens, [Some("a"), Some("\""), Some("d"), None]);
        assert_eq!(s.depth_change, 0);
        let s = scan("x\t\"q\\\"(\"(").unwrap();
        assert_eq!(s.tokens, [Some("x"), Some("\""), None, None]);
        assert_eq!(s.depth_change, 1);
        let s = scan("a TXT \"x;y\" z;c").unwrap();
        assert_eq!(s.tokens, [Some("a"), Some("TXT"), Some("\""), Some("z")]);
        assert!(is_txt(["3600", "IN", "TXT"].into_iter()));
        assert!(is_txt(["in", "txt"].into_iter()));
        assert!(!is_txt(["IN", "A"].into_iter()));
        assert!(!is_txt(["1", "2", "3", "TXT"].into_iter()));
    }
}
