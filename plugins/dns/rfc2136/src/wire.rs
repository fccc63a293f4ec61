//! The DNS wire format this plugin needs (RFC 1035 §4, RFC 2136 §2): names, the UPDATE message
//! it sends, and the response it reads. Pure, unit-tested on the host.

use alloc::vec::Vec;

use pluginhost_sdk::proto::dns::TxtChange;

/// `SOA`, the zone section's type (RFC 2136 §2.3).
pub const TYPE_SOA: u16 = 6;
/// `TXT`.
pub const TYPE_TXT: u16 = 16;
/// `TSIG` (RFC 8945).
pub const TYPE_TSIG: u16 = 250;
/// `IN`.
pub const CLASS_IN: u16 = 1;
/// `NONE`: delete this RR from an RRset (RFC 2136 §2.5.4).
pub const CLASS_NONE: u16 = 254;
/// `ANY`.
pub const CLASS_ANY: u16 = 255;
/// The UPDATE opcode.
pub const OPCODE_UPDATE: u8 = 5;
/// The header's QR bit.
const FLAG_QR: u16 = 0x8000;
/// The header's length.
pub const HEADER_BYTES: usize = 12;
/// Where ARCOUNT sits in the header.
pub const ARCOUNT_AT: usize = 10;
/// The longest name in wire form (RFC 1035 §3.1).
pub const MAX_NAME_BYTES: usize = 255;
/// At most this many compression pointers are followed while reading one name.
const MAX_POINTERS: usize = 64;

/// Appends `name` (checked: ASCII labels of 1..=63 bytes, no trailing dot; empty for the root)
/// in uncompressed, lower-case wire form: the canonical form RFC 8945 signs.
pub fn put_name(out: &mut Vec<u8>, name: &str) {
    if !name.is_empty() {
        for label in name.split('.') {
            out.push(label.len() as u8);
            out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    out.push(0);
}

/// `name` in canonical wire form (see [`put_name`]).
pub fn name_bytes(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    put_name(&mut out, name);
    out
}

/// Appends a big-endian `u16`.
pub fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a big-endian `u32`.
pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends the low 48 bits of `value`, big-endian (TSIG's Time Signed).
pub fn put_u48(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(value.to_be_bytes().get(2..).unwrap_or_default());
}

/// Adds `delta` to the header's ARCOUNT (wrapping; a message shorter than a header is left as
/// it is).
pub fn adjust_arcount(message: &mut [u8], delta: i16) {
    if let Some([high, low]) = message.get_mut(ARCOUNT_AT..ARCOUNT_AT + 2) {
        let n = u16::from_be_bytes([*high, *low]).wrapping_add_signed(delta);
        [*high, *low] = n.to_be_bytes();
    }
}

/// The UPDATE message (without TSIG): zone section `zone SOA IN`, no prerequisites, and one
/// update RR, `owner TTL IN TXT "value"` to add or `owner 0 NONE TXT "value"` to remove exactly
/// that record. Names are not compressed. `value` is at most 255 bytes (checked by the plan).
#[inline(never)]
pub fn update_message(
    id: u16,
    zone: &str,
    owner: &str,
    change: TxtChange,
    ttl: u32,
    value: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + zone.len() + owner.len() + value.len());
    put_u16(&mut out, id);
    put_u16(&mut out, u16::from(OPCODE_UPDATE) << 11);
    for count in [1, 0, 1, 0] {
        put_u16(&mut out, count);
    }
    put_name(&mut out, zone);
    put_u16(&mut out, TYPE_SOA);
    put_u16(&mut out, CLASS_IN);
    put_name(&mut out, owner);
    put_u16(&mut out, TYPE_TXT);
    let (class, ttl) = match change {
        TxtChange::Add => (CLASS_IN, ttl),
        TxtChange::Remove => (CLASS_NONE, 0),
    };
    put_u16(&mut out, class);
    put_u32(&mut out, ttl);
    let value = value.get(..255).unwrap_or(value);
    put_u16(&mut out, value.len() as u16 + 1);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
    out
}

/// Why a response could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The message ends inside a field.
    Truncated,
    /// A name is malformed: a bad label type, a pointer loop, longer than 255 bytes.
    BadName,
    /// A TSIG record is not the last record of the additional section, or there are two.
    MisplacedTsig,
    /// Bytes follow the last record.
    TrailingBytes,
}

impl WireError {
    /// What is wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            WireError::Truncated => "the message ends inside a field",
            WireError::BadName => "a name is malformed",
            WireError::MisplacedTsig => "a TSIG record is not the last additional record",
            WireError::TrailingBytes => "bytes follow the last record",
        }
    }
}

/// A cursor over a message.
struct Reader<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.at.checked_add(n).ok_or(WireError::Truncated)?;
        let out = self.message.get(self.at..end).ok_or(WireError::Truncated)?;
        self.at = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        match self.bytes(2)? {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(WireError::Truncated),
        }
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok((u32::from(self.u16()?) << 16) | u32::from(self.u16()?))
    }

    fn u48(&mut self) -> Result<u64, WireError> {
        Ok((u64::from(self.u16()?) << 32) | u64::from(self.u32()?))
    }

    /// Reads a name (following compression pointers) and returns it in canonical wire form.
    fn name(&mut self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        let mut at = self.at;
        let mut resume = None;
        let mut pointers = 0;
        loop {
            let len = *self.message.get(at).ok_or(WireError::Truncated)?;
            match len & 0xC0 {
                0x00 => {
                    let start = at + 1;
                    let label = self
                        .message
                        .get(start..start + usize::from(len))
                        .ok_or(WireError::Truncated)?;
                    out.push(len);
                    out.extend(label.iter().map(u8::to_ascii_lowercase));
                    if out.len() > MAX_NAME_BYTES {
                        return Err(WireError::BadName);
                    }
                    at = start + usize::from(len);
                    if len == 0 {
                        self.at = resume.unwrap_or(at);
                        return Ok(out);
                    }
                }
                0xC0 => {
                    let low = *self.message.get(at + 1).ok_or(WireError::Truncated)?;
                    pointers += 1;
                    if pointers > MAX_POINTERS {
                        return Err(WireError::BadName);
                    }
                    resume.get_or_insert(at + 2);
                    at = (usize::from(len & 0x3F) << 8) | usize::from(low);
                }
                _ => return Err(WireError::BadName),
            }
        }
    }
}

/// A response's header fields and its TSIG record, if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The message ID.
    pub id: u16,
    /// Whether QR is set.
    pub is_response: bool,
    /// The opcode.
    pub opcode: u8,
    /// The header's RCODE (4 bits).
    pub rcode: u8,
    /// The last additional record, if it is a TSIG record.
    pub tsig: Option<TsigRecord<'a>>,
}

/// A TSIG record as received (RFC 8945 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigRecord<'a> {
    /// Where the record starts: the message before it is what the MAC covers.
    pub offset: usize,
    /// The key name, canonical wire form.
    pub key_name: Vec<u8>,
    /// The algorithm name, canonical wire form.
    pub algorithm: Vec<u8>,
    /// Time Signed, seconds since the epoch.
    pub time_signed: u64,
    /// Fudge, seconds.
    pub fudge: u16,
    /// The MAC (empty in an unsigned error response).
    pub mac: &'a [u8],
    /// The ID of the message as it was signed.
    pub original_id: u16,
    /// The TSIG error (0, `BADSIG` 16, `BADKEY` 17, `BADTIME` 18, `BADTRUNC` 22).
    pub error: u16,
    /// Other Data (the server's time for `BADTIME`).
    pub other: &'a [u8],
}

/// Reads a response: its header, every section (names may be compressed), and the TSIG record,
/// which must be the last additional record if present.
#[inline(never)]
pub fn parse_response(message: &[u8]) -> Result<Response<'_>, WireError> {
    let mut r = Reader { message, at: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let zones = r.u16()?;
    let records = [r.u16()?, r.u16()?, r.u16()?];
    for _ in 0..zones {
        r.name()?;
        r.bytes(4)?;
    }
    let total: u32 = records.iter().map(|&n| u32::from(n)).sum();
    let mut tsig = None;
    for index in 0..total {
        let offset = r.at;
        let owner = r.name()?;
        let rtype = r.u16()?;
        r.u16()?; // class
        r.u32()?; // TTL
        let len = usize::from(r.u16()?);
        let end = r.at + len;
        if rtype != TYPE_TSIG {
            r.bytes(len)?;
            continue;
        }
        if index + 1 != total || tsig.is_some() {
            return Err(WireError::MisplacedTsig);
        }
        let algorithm = r.name()?;
        let time_signed = r.u48()?;
        let fudge = r.u16()?;
        let mac_len = usize::from(r.u16()?);
        let mac = r.bytes(mac_len)?;
        let original_id = r.u16()?;
        let error = r.u16()?;
        let other_len = usize::from(r.u16()?);
        let other = r.bytes(other_len)?;
        if r.at != end {
            return Err(WireError::Truncated);
        }
        tsig = Some(TsigRecord {
            offset,
            key_name: owner,
            algorithm,
            time_signed,
            fudge,
            mac,
            original_id,
            error,
            other,
        });
    }
    if r.at != message.len() {
        return Err(WireError::TrailingBytes);
    }
    Ok(Response {
        id,
        is_response: flags & FLAG_QR != 0,
        opcode: ((flags >> 11) & 0xF) as u8,
        rcode: (flags & 0xF) as u8,
        tsig,
    })
}

/// The name of an RCODE (RFC 1035, RFC 2136, RFC 8945), or `None`.
pub const fn rcode_name(rcode: u16) -> Option<&'static str> {
    Some(match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        22 => "BADTRUNC",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec;

    /// Hex to bytes, for captured messages.
    pub fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| (b as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    /// knotd 3.2's answer to an add signed by knsupdate (captured on loopback).
    pub const KNOT_ADD_RESPONSE: &str = "3353a8000001000000000001076578616d706c65047465737400000600010861636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b14d63b012c002045f71a03d5c2b4b02056e231d2c9e7a5586e3a3ab650935c62fca5f438921187335300000000";

    #[test]
    fn names() {
        assert_eq!(name_bytes("Ab.c"), b"\x02ab\x01c\x00");
        assert_eq!(name_bytes(""), b"\x00");
        let mut out = Vec::new();
        put_u48(&mut out, 0x0000_0102_0304_0506);
        assert_eq!(out, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn add_and_remove_messages() {
        let add = update_message(
            0x1234,
            "example.test",
            "_acme-challenge.www.example.test",
            TxtChange::Add,
            60,
            b"tok",
        );
        let mut want = vec![0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0];
        want.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01");
        want.extend_from_slice(b"\x0f_acme-challenge\x03www\x07example\x04test\x00");
        want.extend_from_slice(&[0, 16, 0, 1, 0, 0, 0, 60, 0, 4, 3, b't', b'o', b'k']);
        assert_eq!(add, want);

        let remove = update_message(
            0x1234,
            "example.test",
            "_acme-challenge.www.example.test",
            TxtChange::Remove,
            60,
            b"tok",
        );
        let tail = [0, 16, 0, 254, 0, 0, 0, 0, 0, 4, 3, b't', b'o', b'k'];
        assert!(remove.ends_with(&tail));
        assert_eq!(remove.len(), add.len());
    }

    #[test]
    fn parses_a_real_response() {
        let bytes = hex(KNOT_ADD_RESPONSE);
        let r = parse_response(&bytes).unwrap();
        assert_eq!(
            (r.id, r.is_response, r.opcode, r.rcode),
            (0x3353, true, 5, 0)
        );
        let t = r.tsig.unwrap();
        assert_eq!(t.key_name, name_bytes("acme-key"));
        assert_eq!(t.algorithm, name_bytes("hmac-sha256"));
        assert_eq!((t.time_signed, t.fudge), (0x6b14d63b, 300));
        assert_eq!((t.mac.len(), t.original_id, t.error), (32, 0x3353, 0));
        assert!(t.other.is_empty());
        // The record starts right after the echoed zone section.
        assert_eq!(t.offset, 12 + 14 + 4);
    }

    #[test]
    fn follows_compression_and_refuses_loops() {
        // Header with one zone entry, then an answer-style record whose owner points at it.
        let mut m = vec![0, 1, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x04test\x00\x00\x06\x00\x01");
        m.extend_from_slice(&[0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0]);
        let r = parse_response(&m).unwrap();
        assert_eq!((r.rcode, r.tsig), (0, None));

        let mut looped = vec![0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        looped.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1]);
        assert_eq!(parse_response(&looped), Err(WireError::BadName));
        let mut bad_label = vec![0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        bad_label.extend_from_slice(&[0x40, 0, 0, 6, 0, 1]);
        assert_eq!(parse_response(&bad_label), Err(WireError::BadName));
        let mut long = vec![0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.extend_from_slice(&[0, 0, 6, 0, 1]);
        assert_eq!(parse_response(&long), Err(WireError::BadName));
    }

    #[test]
    fn refuses_malformed_responses() {
        let good = hex(KNOT_ADD_RESPONSE);
        for cut in 0..good.len() {
            assert!(parse_response(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(parse_response(&trailing), Err(WireError::TrailingBytes));
        // TSIG followed by another record (ARCOUNT 2, a copy of the TSIG record appended).
        let t = parse_response(&good).unwrap().tsig.unwrap().offset;
        let mut two = good.clone();
        two.extend_from_slice(&good[t..]);
        two[ARCOUNT_AT + 1] = 2;
        assert_eq!(parse_response(&two), Err(WireError::MisplacedTsig));
        // RDLENGTH longer than the TSIG fields it holds.
        let mut long_rdata = good.clone();
        let rdlen_at = t + 10 + 8;
        long_rdata[rdlen_at + 1] += 1;
        long_rdata.push(0);
        assert_eq!(parse_response(&long_rdata), Err(WireError::Truncated));
        assert_eq!(rcode_name(9), Some("NOTAUTH"));
        assert_eq!(rcode_name(17), Some("BADKEY"));
        assert_eq!(rcode_name(11), None);
    }
}
