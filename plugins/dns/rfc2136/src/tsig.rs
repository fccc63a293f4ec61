//! TSIG (RFC 8945) with `hmac-sha256`: signing the request and verifying the response. Pure,
//! unit-tested on the host against messages captured from `knsupdate` and `knotd`.

use alloc::vec::Vec;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keyfile::{TsigKey, ALGORITHM};
use crate::wire::{self, TsigRecord, CLASS_ANY, TYPE_TSIG};

type HmacSha256 = Hmac<Sha256>;

/// The fudge this plugin signs with: the clock difference the server may accept (RFC 8945 §10
/// recommends 300 s).
pub const FUDGE: u16 = 300;
/// The length of an untruncated `hmac-sha256` MAC.
pub const MAC_BYTES: usize = 32;
/// TSIG error `BADTIME`: Other Data then carries the server's time.
pub const BADTIME: u16 = 18;

/// Feeds the TSIG variables (RFC 8945 §4.3.3) into `mac`.
fn variables(
    mac: &mut HmacSha256,
    key_name: &[u8],
    time: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
) {
    let mut v = Vec::with_capacity(key_name.len() + 32 + other.len());
    v.extend_from_slice(key_name);
    wire::put_u16(&mut v, CLASS_ANY);
    wire::put_u32(&mut v, 0);
    v.extend_from_slice(&wire::name_bytes(ALGORITHM));
    wire::put_u48(&mut v, time);
    wire::put_u16(&mut v, fudge);
    wire::put_u16(&mut v, error);
    wire::put_u16(&mut v, other.len() as u16);
    v.extend_from_slice(other);
    mac.update(&v);
}

fn new_mac(key: &TsigKey) -> HmacSha256 {
    // HMAC takes a key of any length (longer ones are hashed first), so the fallback is never
    // taken; were it taken, the MAC would only fail to verify, on either side.
    match HmacSha256::new_from_slice(&key.secret) {
        Ok(mac) => mac,
        Err(_) => HmacSha256::new(&Default::default()),
    }
}

/// Signs `message` (a complete DNS message without TSIG, at least a header) at `time`: appends
/// the TSIG record, increments ARCOUNT, and returns the MAC, which the response's MAC covers.
#[inline(never)]
pub fn sign(message: &mut Vec<u8>, key: &TsigKey, time: u64) -> Vec<u8> {
    let key_name = wire::name_bytes(&key.name);
    let mut hmac = new_mac(key);
    hmac.update(message);
    variables(&mut hmac, &key_name, time, FUDGE, 0, &[]);
    let mac = hmac.finalize().into_bytes().to_vec();

    let id = match message.get(..2) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let algorithm = wire::name_bytes(ALGORITHM);
    let rdata_len = algorithm.len() + 6 + 2 + 2 + mac.len() + 2 + 2 + 2;
    message.extend_from_slice(&key_name);
    wire::put_u16(message, TYPE_TSIG);
    wire::put_u16(message, CLASS_ANY);
    wire::put_u32(message, 0);
    wire::put_u16(message, rdata_len as u16);
    message.extend_from_slice(&algorithm);
    wire::put_u48(message, time);
    wire::put_u16(message, FUDGE);
    wire::put_u16(message, mac.len() as u16);
    message.extend_from_slice(&mac);
    wire::put_u16(message, id);
    wire::put_u16(message, 0); // error
    wire::put_u16(message, 0); // other len
    wire::adjust_arcount(message, 1);
    mac
}

/// Why a response's TSIG record was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// It names another key or algorithm than the request's.
    OtherKey,
    /// The MAC is not a full `hmac-sha256` MAC (truncation is not accepted).
    MacLength,
    /// The MAC does not match: not signed with this key, or altered on the way.
    BadMac,
    /// Its Time Signed is more than its fudge away from this plugin's clock.
    Time,
}

impl VerifyError {
    /// What is wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            VerifyError::OtherKey => "the response's TSIG names another key or algorithm",
            VerifyError::MacLength => "the response's TSIG MAC is truncated",
            VerifyError::BadMac => "the response's TSIG MAC does not verify",
            VerifyError::Time => "the response's TSIG time is outside its fudge",
        }
    }
}

/// Verifies the TSIG record `tsig` of `response` (RFC 8945 §5.3.4): key and algorithm as
/// requested, a full MAC over the request's MAC, the response before its TSIG record (ARCOUNT
/// one less, the original ID) and the TSIG variables, and a time within the fudge of `now`.
#[inline(never)]
pub fn verify(
    response: &[u8],
    tsig: &TsigRecord<'_>,
    request_mac: &[u8],
    key: &TsigKey,
    now: u64,
) -> Result<(), VerifyError> {
    let key_name = wire::name_bytes(&key.name);
    if tsig.key_name != key_name || tsig.algorithm != wire::name_bytes(ALGORITHM) {
        return Err(VerifyError::OtherKey);
    }
    if tsig.mac.len() != MAC_BYTES {
        return Err(VerifyError::MacLength);
    }
    let mut unsigned = response.get(..tsig.offset).unwrap_or_default().to_vec();
    if let Some(id) = unsigned.get_mut(..2) {
        id.copy_from_slice(&tsig.original_id.to_be_bytes());
    }
    wire::adjust_arcount(&mut unsigned, -1);
    let mut hmac = new_mac(key);
    hmac.update(&(request_mac.len() as u16).to_be_bytes());
    hmac.update(request_mac);
    hmac.update(&unsigned);
    variables(
        &mut hmac,
        &key_name,
        tsig.time_signed,
        tsig.fudge,
        tsig.error,
        tsig.other,
    );
    hmac.verify_slice(tsig.mac)
        .map_err(|_| VerifyError::BadMac)?;
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return Err(VerifyError::Time);
    }
    Ok(())
}

/// The server's time in a `BADTIME` record's Other Data (6 bytes), if present.
pub fn server_time(tsig: &TsigRecord<'_>) -> Option<u64> {
    match tsig.other {
        [a, b, c, d, e, f] => Some(u64::from_be_bytes([0, 0, *a, *b, *c, *d, *e, *f])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyfile;
    use crate::wire::tests::{hex, KNOT_ADD_RESPONSE};
    use crate::wire::{parse_response, update_message, ARCOUNT_AT};
    use pluginhost_sdk::proto::dns::TxtChange;

    /// The key of the captures (a throwaway test key).
    fn key() -> TsigKey {
        keyfile::parse("hmac-sha256:acme-key:5ZPSyh/sus/PFfffE9uqegKo36cx5FtGtxP/+i2l/4I=").unwrap()
    }

    /// knsupdate's request that `KNOT_ADD_RESPONSE` answers.
    const KNSUPDATE_ADD: &str = "335328000001000000010001076578616d706c65047465737400000600010f5f61636d652d6368616c6c656e676503777777c00c001000010000003c00090863617074757265640861636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b14d63b012c0020f55bbe49336925a04b254992b3f2be69eea79a64e530d82323be4764cf651f41335300000000";
    /// knotd's REFUSED (zone frozen), signed.
    const KNSUPDATE_FROZEN: &str = "946f28000001000000010001076578616d706c65047465737400000600010f5f61636d652d6368616c6c656e676503777777c00c001000010000003c00070666726f7a656e0861636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b14d642012c00202d0ada39196e66701c3757cf30f2ef2e2a660dc567fe1d0703736d065f40f2a1946f00000000";
    const KNOT_REFUSED: &str = "946fa8050001000000000001076578616d706c65047465737400000600010861636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b14d642012c00201e016ef642a51b427aaa8594a7300d53f12aebac4893c7cff7222ab61109aee1946f00000000";
    /// knotd's answer to a request signed with the wrong secret: NOTAUTH, BADSIG, unsigned.
    const KNOT_BADSIG: &str = "7d4ba8090001000000000001076578616d706c65047465737400000600010861636d652d6b65790000fa00ff00000000001d0b686d61632d7368613235360000006b14d640012c00007d4b00100000";

    /// The MAC knsupdate put in its request, and the request as it was before signing.
    fn split_request(request: &[u8]) -> (Vec<u8>, Vec<u8>, u64) {
        let parsed = parse_response(request).unwrap();
        let t = parsed.tsig.unwrap();
        let mut unsigned = request[..t.offset].to_vec();
        unsigned[ARCOUNT_AT + 1] -= 1;
        (unsigned, t.mac.to_vec(), t.time_signed)
    }

    #[test]
    fn signs_as_knsupdate_does() {
        // Re-signing knsupdate's message at its time gives its MAC and its TSIG record.
        let captured = hex(KNSUPDATE_ADD);
        let (mut unsigned, mac, time) = split_request(&captured);
        assert_eq!(sign(&mut unsigned, &key(), time), mac);
        assert_eq!(unsigned, captured);
    }

    #[test]
    fn verifies_knot_responses() {
        let request = hex(KNSUPDATE_ADD);
        let (_, request_mac, time) = split_request(&request);
        let response = hex(KNOT_ADD_RESPONSE);
        let tsig = parse_response(&response).unwrap().tsig.unwrap();
        assert_eq!(verify(&response, &tsig, &request_mac, &key(), time), Ok(()));
        assert_eq!(
            verify(&response, &tsig, &request_mac, &key(), time + 300),
            Ok(())
        );
        assert_eq!(
            verify(&response, &tsig, &request_mac, &key(), time + 301),
            Err(VerifyError::Time)
        );
        assert_eq!(
            verify(&response, &tsig, &request_mac, &key(), time - 301),
            Err(VerifyError::Time)
        );
        // Another request's MAC, another key, a flipped bit anywhere before the TSIG record.
        let mut other_mac = request_mac.clone();
        other_mac[0] ^= 1;
        assert_eq!(
            verify(&response, &tsig, &other_mac, &key(), time),
            Err(VerifyError::BadMac)
        );
        let mut wrong = key();
        wrong.secret[0] ^= 1;
        assert_eq!(
            verify(&response, &tsig, &request_mac, &wrong, time),
            Err(VerifyError::BadMac)
        );
        // (The ID, bytes 0 and 1, is covered as the TSIG's Original ID; `outcome` checks it.)
        for at in 2..tsig.offset {
            let mut altered = response.clone();
            altered[at] ^= 0x20;
            let Ok(parsed) = parse_response(&altered) else {
                continue;
            };
            let Some(t) = parsed.tsig else { continue };
            assert!(
                verify(&altered, &t, &request_mac, &key(), time).is_err(),
                "flipped byte {at}"
            );
        }
        let mut renamed = key();
        renamed.name = "other-key".into();
        assert_eq!(
            verify(&response, &tsig, &request_mac, &renamed, time),
            Err(VerifyError::OtherKey)
        );

        // The signed REFUSED verifies too.
        let (_, frozen_mac, time) = split_request(&hex(KNSUPDATE_FROZEN));
        let refused = hex(KNOT_REFUSED);
        let parsed = parse_response(&refused).unwrap();
        assert_eq!(parsed.rcode, 5);
        let t = parsed.tsig.unwrap();
        assert_eq!(verify(&refused, &t, &frozen_mac, &key(), time), Ok(()));
    }

    #[test]
    fn unsigned_error_response() {
        let response = hex(KNOT_BADSIG);
        let parsed = parse_response(&response).unwrap();
        assert_eq!(parsed.rcode, 9);
        let t = parsed.tsig.unwrap();
        assert_eq!((t.error, t.mac.len()), (16, 0));
        assert_eq!(
            verify(&response, &t, &[0; 32], &key(), t.time_signed),
            Err(VerifyError::MacLength)
        );
        assert_eq!(server_time(&t), None);
    }

    #[test]
    fn signs_our_own_messages() {
        let mut m = update_message(
            7,
            "example.test",
            "_acme-challenge.example.test",
            TxtChange::Add,
            60,
            b"v",
        );
        let before = m.len();
        let mac = sign(&mut m, &key(), 1_700_000_000);
        assert_eq!(mac.len(), MAC_BYTES);
        let parsed = parse_response(&m).unwrap();
        let t = parsed.tsig.unwrap();
        assert_eq!(t.offset, before);
        assert_eq!(
            (t.original_id, t.time_signed, t.fudge, t.error),
            (7, 1_700_000_000, FUDGE, 0)
        );
        assert_eq!(t.mac, &mac[..]);
    }
}
