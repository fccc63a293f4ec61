//! Request validation: names, value, TTL, server and key file. Pure, unit-tested on the host.

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::dns::{
    check_txt_value, normalize_dns_name, TxtChange, UpdateTxtRequest,
};
use pluginhost_sdk::proto::PluginFailure;

/// The largest TTL (RFC 2181 §8).
pub const MAX_TTL: u32 = i32::MAX as u32;
/// The label the challenge record goes under (RFC 8555 §8.4).
pub const CHALLENGE_LABEL: &str = "_acme-challenge";
/// The longest server host name or key file path.
pub const MAX_FIELD_BYTES: usize = 1024;

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Add or remove.
    pub change: TxtChange,
    /// The zone, lower-case, without the trailing dot: `example.com`.
    pub zone: String,
    /// The record's owner, lower-case, without the trailing dot:
    /// `_acme-challenge.www.example.com`.
    pub owner: String,
    /// The TXT value.
    pub value: String,
    /// The TTL for an addition; 0 for a removal (RFC 2136 §2.5.4).
    pub ttl: u32,
    /// The server to dial.
    pub server_host: String,
    /// Its port.
    pub server_port: u16,
    /// The key file's guest path.
    pub key_file: String,
    /// The record as text: `<owner>. <ttl> IN TXT "<value>"`.
    pub record_line: String,
}

/// Checks `request` and works out the plan.
#[inline(never)]
pub fn plan(request: &UpdateTxtRequest) -> Result<Plan, PluginFailure> {
    let zone = normalize_name(&request.zone, false)
        .map_err(|why| PluginFailure::bad_request(format!("zone {why}")))?;
    let fqdn = request.fqdn.strip_prefix("*.").unwrap_or(&request.fqdn);
    let fqdn = normalize_name(fqdn, true)
        .map_err(|why| PluginFailure::bad_request(format!("fqdn {why}")))?;
    if !in_zone(&fqdn, &zone) {
        return Err(PluginFailure::bad_request("fqdn is not inside zone"));
    }
    let owner = if fqdn.starts_with("_acme-challenge.") {
        fqdn
    } else {
        format!("{CHALLENGE_LABEL}.{fqdn}")
    };
    if owner.len() > 253 {
        return Err(PluginFailure::bad_request(
            "the challenge name is longer than 253 bytes",
        ));
    }
    check_value(&request.value)?;
    if request.ttl > MAX_TTL {
        return Err(PluginFailure::bad_request("ttl must be at most 2147483647"));
    }
    check_server(&request.server_host, request.server_port)?;
    check_key_file(&request.tsig_key_file)?;
    let ttl = match request.change {
        TxtChange::Add => request.ttl,
        TxtChange::Remove => 0,
    };
    Ok(Plan {
        change: request.change,
        record_line: format!("{owner}. {} IN TXT \"{}\"", request.ttl, request.value),
        zone,
        owner,
        value: request.value.clone(),
        ttl,
        server_host: request.server_host.clone(),
        server_port: request.server_port,
        key_file: request.tsig_key_file.clone(),
    })
}

/// Whether `name` is `zone` or lies under it (both normalised).
pub fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|head| head.ends_with('.'))
}

/// A DNS name, lower-cased and without the trailing dot (see [`normalize_dns_name`]).
pub fn normalize_name(name: &str, underscore: bool) -> Result<String, &'static str> {
    normalize_dns_name(name, underscore)
}

/// A TXT value the record can carry as it is (see [`check_txt_value`]).
pub fn check_value(value: &str) -> Result<(), PluginFailure> {
    check_txt_value(value).map_err(PluginFailure::bad_request)
}

/// A server host (a name or an IP literal, no port, no brackets) and a non-zero port. The host's
/// grant check is the real gate; this only refuses what can never be a host.
#[inline(never)]
fn check_server(host: &str, port: u16) -> Result<(), PluginFailure> {
    let printable = host.bytes().all(|b| b.is_ascii_graphic());
    if host.is_empty()
        || host.len() > MAX_FIELD_BYTES
        || !printable
        || host.contains(['/', '[', ']'])
    {
        return Err(PluginFailure::bad_request(
            "server_host must be a host name or an IP literal, without port or brackets",
        ));
    }
    if port == 0 {
        return Err(PluginFailure::bad_request("server_port must not be 0"));
    }
    Ok(())
}

/// An absolute guest path without empty, `.` or `..` components.
#[inline(never)]
fn check_key_file(path: &str) -> Result<(), PluginFailure> {
    let bad = path.len() > MAX_FIELD_BYTES
        || !path.starts_with('/')
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .skip(1)
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(PluginFailure::bad_request(
            "tsig_key_file must be an absolute path without empty, '.' or '..' components",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use pluginhost_sdk::proto::FailureCode;

    fn request(zone: &str, fqdn: &str) -> UpdateTxtRequest {
        UpdateTxtRequest {
            change: TxtChange::Add,
            zone: zone.to_string(),
            fqdn: fqdn.to_string(),
            value: "tok-en_123".to_string(),
            ttl: 60,
            server_host: "127.0.0.1".to_string(),
            server_port: 5353,
            tsig_key_file: "/secrets/tsig/acme.key".to_string(),
        }
    }

    #[test]
    fn plans_names() {
        let p = plan(&request("Example.TEST.", "WWW.example.test")).unwrap();
        assert_eq!(p.zone, "example.test");
        assert_eq!(p.owner, "_acme-challenge.www.example.test");
        assert_eq!(
            p.record_line,
            "_acme-challenge.www.example.test. 60 IN TXT \"tok-en_123\""
        );
        assert_eq!(p.ttl, 60);
        let p = plan(&request("example.test", "*.example.test")).unwrap();
        assert_eq!(p.owner, "_acme-challenge.example.test");
        let p = plan(&request("example.test", "_acme-challenge.a.example.test")).unwrap();
        assert_eq!(p.owner, "_acme-challenge.a.example.test");
        let mut r = request("example.test", "example.test");
        r.change = TxtChange::Remove;
        let p = plan(&r).unwrap();
        assert_eq!((p.ttl, p.change), (0, TxtChange::Remove));
    }

    #[test]
    fn refuses_bad_requests() {
        let bad = |r: UpdateTxtRequest| plan(&r).unwrap_err().code;
        assert_eq!(
            bad(request("example.test", "www.other.test")),
            FailureCode::BadRequest
        );
        assert_eq!(
            bad(request("example.test", "wwwexample.test")),
            FailureCode::BadRequest
        );
        assert_eq!(
            bad(request("ex_ample.test", "a.ex_ample.test")),
            FailureCode::BadRequest
        );
        assert_eq!(bad(request("", "a")), FailureCode::BadRequest);
        assert_eq!(bad(request("a..b", "x.a..b")), FailureCode::BadRequest);
        let labels = vec!["a".repeat(63); 3].join(".");
        // The fqdn is too long, or only the challenge name made from it (16 bytes more) is.
        for long in [
            alloc::format!("{labels}.{labels}.example.test"),
            alloc::format!("{labels}.{}.example.test", "b".repeat(35)),
        ] {
            assert_eq!(bad(request("example.test", &long)), FailureCode::BadRequest);
        }
        let fits = alloc::format!("{labels}.{}.example.test", "b".repeat(32));
        assert_eq!(
            plan(&request("example.test", &fits)).unwrap().owner.len(),
            253
        );
        for value in ["", "a\"b", "a\\b", "é", "a\nb"] {
            let mut r = request("example.test", "www.example.test");
            r.value = value.to_string();
            assert_eq!(bad(r), FailureCode::BadRequest, "{value:?}");
        }
        let mut r = request("example.test", "www.example.test");
        r.value = "v".repeat(256);
        assert_eq!(bad(r), FailureCode::BadRequest);
        let mut r = request("example.test", "www.example.test");
        r.ttl = MAX_TTL + 1;
        assert_eq!(bad(r), FailureCode::BadRequest);
        for host in ["", "[::1]", "a b", "h/x"] {
            let mut r = request("example.test", "www.example.test");
            r.server_host = host.to_string();
            assert_eq!(bad(r), FailureCode::BadRequest, "{host:?}");
        }
        let mut r = request("example.test", "www.example.test");
        r.server_port = 0;
        assert_eq!(bad(r), FailureCode::BadRequest);
        for path in ["", "key", "/a/../b", "/a//b", "/a/", "/a\n"] {
            let mut r = request("example.test", "www.example.test");
            r.tsig_key_file = path.to_string();
            assert_eq!(bad(r), FailureCode::BadRequest, "{path:?}");
        }
    }
}
