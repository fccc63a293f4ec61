//! Base64: the URL-safe alphabet without padding (JOSE, RFC 7515) out, the standard alphabet
//! (PEM) in; the `base64` crate, as the DNS plugin uses it.

use alloc::string::String;
use alloc::vec::Vec;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// The standard alphabet, padded or not (PEM bodies may be either).
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `bytes` as base64url without padding.
pub fn url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes standard base64 (with or without padding; ASCII whitespace ignored, as in PEM).
/// `None` for any other character, misplaced padding or a dangling final character.
pub fn decode_std(text: &str) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD_ANY_PADDING.decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &str, &str); 7] = [
            (b"", "", ""),
            (b"f", "Zg", "Zg=="),
            (b"fo", "Zm8", "Zm8="),
            (b"foo", "Zm9v", "Zm9v"),
            (b"foob", "Zm9vYg", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy", "Zm9vYmFy"),
        ];
        for (raw, url_text, std_text) in cases {
            assert_eq!(url(raw), url_text);
            assert_eq!(decode_std(std_text).as_deref(), Some(raw));
        }
        assert_eq!(url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_std("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(
            decode_std("Zm9v\nYmFy\r\n").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(decode_std("Zm9v!"), None);
        assert_eq!(decode_std("Z"), None);
        assert_eq!(decode_std("Zg==Zg"), None);
    }
}
