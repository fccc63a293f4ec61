//! What a server's answer to an update means: success only when it says `NOERROR` and its TSIG
//! verifies; otherwise a typed failure. Pure, unit-tested on the host.
//!
//! | answer | failure |
//! |---|---|
//! | TSIG error `BADKEY`, `BADSIG`, `BADTIME`, `BADTRUNC` (RCODE `NOTAUTH`) | `Unauthorized` |
//! | `REFUSED`; `NOTAUTH` with no TSIG error (not authoritative for the zone) | `Rejected` |
//! | any other RCODE (`SERVFAIL`, `FORMERR`, `NOTZONE`, ...) | `Upstream` |
//! | `NOERROR` unsigned, or a TSIG that does not verify; not an answer to this request | `Protocol` |
//!
//! An error answer may come unsigned (a server that could not check the request cannot sign
//! its answer, RFC 8945 §5.3.2): it is reported as such, and never taken for success. A signed
//! answer whose signature does not verify is a `Protocol` failure whatever its RCODE.

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::{FailureCode, PluginFailure};

use crate::keyfile::TsigKey;
use crate::tsig::{self, BADTIME};
use crate::wire::{self, OPCODE_UPDATE};

/// The name of an RCODE or TSIG error, or its number.
fn code_name(code: u16) -> String {
    match wire::rcode_name(code) {
        Some(name) => String::from(name),
        None => format!("RCODE {code}"),
    }
}

/// Judges `response` to the request with message ID `id` and MAC `request_mac`, received at
/// `now`. `server` (`host:port`) and `zone` are for the messages.
#[inline(never)]
pub fn judge(
    response: &[u8],
    id: u16,
    request_mac: &[u8],
    key: &TsigKey,
    now: u64,
    server: &str,
    zone: &str,
) -> Result<(), PluginFailure> {
    let protocol = |why: &str| PluginFailure::protocol(format!("{server}: {why}"));
    let parsed = wire::parse_response(response).map_err(|e| protocol(e.message()))?;
    if !parsed.is_response || parsed.opcode != OPCODE_UPDATE || parsed.id != id {
        return Err(protocol("the answer is not a response to this UPDATE"));
    }
    let signed = match &parsed.tsig {
        Some(t) if !t.mac.is_empty() => {
            tsig::verify(response, t, request_mac, key, now).map_err(|e| protocol(e.message()))?;
            true
        }
        _ => false,
    };
    let note = if signed { "" } else { " (unsigned answer)" };
    let tsig_error = parsed.tsig.as_ref().map_or(0, |t| t.error);
    if tsig_error != 0 {
        let rcode = code_name(u16::from(parsed.rcode));
        let error = code_name(tsig_error);
        let detail = match parsed.tsig.as_ref().and_then(tsig::server_time) {
            Some(theirs) if tsig_error == BADTIME => {
                format!(": the server's clock says {theirs}, ours {now}")
            }
            _ if tsig_error == BADTIME => {
                String::from(": the clocks differ by more than the fudge")
            }
            _ => String::from(": a key it does not know or allow here, or a wrong secret"),
        };
        return Err(PluginFailure::new(
            FailureCode::Unauthorized,
            format!(
                "{server} did not accept TSIG key {}. for zone {zone}: {rcode}/{error}{detail}{note}",
                key.name
            ),
        ));
    }
    match parsed.rcode {
        0 if signed => Ok(()),
        0 => Err(protocol("NOERROR without a TSIG signature; not trusted")),
        5 => Err(PluginFailure::new(
            FailureCode::Rejected,
            format!("{server} refused the update of zone {zone}: REFUSED{note}"),
        )),
        9 => Err(PluginFailure::new(
            FailureCode::Rejected,
            format!("{server} is not authoritative for zone {zone}: NOTAUTH{note}"),
        )),
        rcode => Err(PluginFailure::upstream(format!(
            "{server} did not apply the update of zone {zone}: {}{note}",
            code_name(u16::from(rcode))
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyfile;
    use crate::wire::tests::{hex, KNOT_ADD_RESPONSE};
    use crate::wire::ARCOUNT_AT;
    use alloc::vec::Vec;

    fn key() -> TsigKey {
        keyfile::parse("hmac-sha256:acme-key:5ZPSyh/sus/PFfffE9uqegKo36cx5FtGtxP/+i2l/4I=").unwrap()
    }

    /// The MAC and time of knsupdate's request answered by `KNOT_ADD_RESPONSE`.
    const REQUEST_MAC: &str = "f55bbe49336925a04b254992b3f2be69eea79a64e530d82323be4764cf651f41";
    const TIME: u64 = 0x6b14d63b;

    fn judge_hex(response: &str, id: u16, now: u64) -> Result<(), PluginFailure> {
        judge(
            &hex(response),
            id,
            &hex(REQUEST_MAC),
            &key(),
            now,
            "ns:53",
            "example.test",
        )
    }

    #[test]
    fn success_needs_a_verified_signature() {
        assert_eq!(judge_hex(KNOT_ADD_RESPONSE, 0x3353, TIME), Ok(()));
        // Another ID, a clock far off, a MAC altered.
        let f = judge_hex(KNOT_ADD_RESPONSE, 0x3354, TIME).unwrap_err();
        assert_eq!(f.code, FailureCode::Protocol);
        let f = judge_hex(KNOT_ADD_RESPONSE, 0x3353, TIME + 1000).unwrap_err();
        assert_eq!(f.code, FailureCode::Protocol);
        assert!(f.message.contains("time"), "{f}");
        let mut altered = hex(KNOT_ADD_RESPONSE);
        let last_mac_byte = altered.len() - 7;
        altered[last_mac_byte] ^= 1;
        let f = judge(
            &altered,
            0x3353,
            &hex(REQUEST_MAC),
            &key(),
            TIME,
            "ns:53",
            "z",
        )
        .unwrap_err();
        assert_eq!(f.code, FailureCode::Protocol);
        // The same NOERROR with its TSIG record removed: unsigned, not trusted.
        let signed = hex(KNOT_ADD_RESPONSE);
        let offset = wire::parse_response(&signed).unwrap().tsig.unwrap().offset;
        let mut unsigned: Vec<u8> = signed[..offset].to_vec();
        unsigned[ARCOUNT_AT + 1] = 0;
        let f = judge(
            &unsigned,
            0x3353,
            &hex(REQUEST_MAC),
            &key(),
            TIME,
            "ns:53",
            "z",
        )
        .unwrap_err();
        assert_eq!(f.code, FailureCode::Protocol);
        // A query, not a response.
        let mut query = hex(KNOT_ADD_RESPONSE);
        query[2] &= 0x7F;
        assert_eq!(
            judge(
                &query,
                0x3353,
                &hex(REQUEST_MAC),
                &key(),
                TIME,
                "ns:53",
                "z"
            )
            .unwrap_err()
            .code,
            FailureCode::Protocol
        );
        assert_eq!(
            judge(&[0; 5], 0, &[], &key(), TIME, "ns:53", "z")
                .unwrap_err()
                .code,
            FailureCode::Protocol
        );
    }

    #[test]
    fn wrong_key_is_unauthorized() {
        // knotd's answer to a wrong secret: NOTAUTH, TSIG error BADSIG, no MAC.
        let badsig = "7d4ba8090001000000000001076578616d706c65047465737400000600010861636d652d6b65790000fa00ff00000000001d0b686d61632d7368613235360000006b14d640012c00007d4b00100000";
        let f = judge_hex(badsig, 0x7d4b, TIME).unwrap_err();
        assert_eq!(f.code, FailureCode::Unauthorized);
        assert_eq!(
            f.message,
            "ns:53 did not accept TSIG key acme-key. for zone example.test: NOTAUTH/BADSIG: a key \
             it does not know or allow here, or a wrong secret (unsigned answer)"
        );
        // The same with BADKEY (17) and with BADTIME (18) carrying the server's time.
        let mut badkey = hex(badsig);
        let error_at = badkey.len() - 3;
        badkey[error_at] = 17;
        let f = judge(&badkey, 0x7d4b, &[], &key(), TIME, "ns:53", "z").unwrap_err();
        assert_eq!(f.code, FailureCode::Unauthorized);
        assert!(f.message.contains("NOTAUTH/BADKEY"), "{f}");
        let mut badtime = hex(badsig);
        badtime[error_at] = 18;
        let other_len_at = badtime.len() - 2;
        badtime[other_len_at + 1] = 6;
        badtime.extend_from_slice(&[0, 0, 0x65, 0x53, 0xF1, 0x00]);
        let rdlen_at = wire::parse_response(&hex(badsig))
            .unwrap()
            .tsig
            .unwrap()
            .offset
            + 19;
        badtime[rdlen_at] += 6;
        let f = judge(&badtime, 0x7d4b, &[], &key(), 99, "ns:53", "z").unwrap_err();
        assert_eq!(f.code, FailureCode::Unauthorized);
        assert!(f.message.contains("clock says 1700000000, ours 99"), "{f}");
    }

    #[test]
    fn refusals() {
        // knotd's answer to an update of a frozen zone: REFUSED, signed (by another request's
        // MAC and time, see tsig.rs).
        let refused = "946fa8050001000000000001076578616d706c65047465737400000600010861636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b14d642012c00201e016ef642a51b427aaa8594a7300d53f12aebac4893c7cff7222ab61109aee1946f00000000";
        let mac = hex("2d0ada39196e66701c3757cf30f2ef2e2a660dc567fe1d0703736d065f40f2a1");
        let f = judge(
            &hex(refused),
            0x946f,
            &mac,
            &key(),
            0x6b14d642,
            "ns:53",
            "example.test",
        )
        .unwrap_err();
        assert_eq!(f.code, FailureCode::Rejected);
        assert_eq!(
            f.message,
            "ns:53 refused the update of zone example.test: REFUSED"
        );
        // knotd's answer for a zone it does not serve: NOTAUTH, no TSIG record at all.
        let notauth = "3b17a809000100000000000005626f67757304746573740000060001";
        let f = judge(
            &hex(notauth),
            0x3b17,
            &mac,
            &key(),
            0,
            "ns:53",
            "bogus.test",
        )
        .unwrap_err();
        assert_eq!(f.code, FailureCode::Rejected);
        assert!(f.message.ends_with("NOTAUTH (unsigned answer)"), "{f}");
        // Any other RCODE is an upstream failure, named.
        let mut servfail = hex(notauth);
        servfail[3] = 0x02;
        let f = judge(&servfail, 0x3b17, &mac, &key(), 0, "ns:53", "z").unwrap_err();
        assert_eq!(f.code, FailureCode::Upstream);
        assert!(f.message.contains("SERVFAIL"), "{f}");
        servfail[3] = 0x0B;
        let f = judge(&servfail, 0x3b17, &mac, &key(), 0, "ns:53", "z").unwrap_err();
        assert!(f.message.contains("RCODE 11"), "{f}");
    }
}
