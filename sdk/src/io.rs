//! The invocation's input and output, raw and as postcard messages.

use alloc::vec;
use alloc::vec::Vec;

use pluginhost_proto::PluginFailure;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{check, Error};
use crate::sys;

/// The largest input [`try_input`] accepts (16 MiB); a longer input is [`Error::Limit`].
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// This invocation's input.
///
/// # Errors
/// [`Error::Limit`] if the input is longer than [`MAX_INPUT_BYTES`]; the host's error otherwise.
pub fn try_input() -> Result<Vec<u8>, Error> {
    let len = check(sys::input_len())? as usize;
    if len > MAX_INPUT_BYTES {
        return Err(Error::Limit);
    }
    let mut buf = vec![0u8; len];
    let copied = check(sys::input_read(&mut buf))? as usize;
    buf.truncate(copied);
    Ok(buf)
}

/// This invocation's input, or an empty vector if it could not be read (see [`try_input`]).
pub fn input() -> Vec<u8> {
    try_input().unwrap_or_default()
}

/// Appends `bytes` to the invocation's output in one host call, so that either all of it is
/// appended or (on [`Error::Limit`]) none of it.
///
/// # Errors
/// [`Error::Limit`] if the host's output cap would be exceeded; [`Error::Io`] if the host
/// reports a count other than `bytes.len()`.
pub fn output(bytes: &[u8]) -> Result<(), Error> {
    let written = check(sys::output_write(bytes))? as usize;
    if written == bytes.len() {
        Ok(())
    } else {
        Err(Error::Io)
    }
}

/// Decodes one postcard message that fills `bytes` exactly (trailing bytes are an error).
///
/// # Errors
/// [`Error::Decode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(Error::Decode),
    }
}

/// Encodes `message` with postcard.
///
/// # Errors
/// [`Error::Encode`].
pub fn encode<T: Serialize + ?Sized>(message: &T) -> Result<Vec<u8>, Error> {
    postcard::to_allocvec(message).map_err(|_| Error::Encode)
}

/// Reads the input and decodes it as one postcard message (see [`decode`]).
///
/// # Errors
/// As [`try_input`] and [`decode`].
pub fn input_message<T: DeserializeOwned>() -> Result<T, Error> {
    decode(&try_input()?)
}

/// Encodes `message` with postcard and writes it as the output (see [`output`]).
///
/// # Errors
/// As [`encode`] and [`output`].
pub fn output_message<T: Serialize + ?Sized>(message: &T) -> Result<(), Error> {
    output(&encode(message)?)
}

/// The usual body of a plugin: decode the input as `Req`, call `handler`, and write its
/// `Result<Resp, PluginFailure>` as the output.
///
/// An input that does not decode is answered with a [`FailureCode::BadRequest`] failure, and a
/// response too large for the host's output cap with a [`FailureCode::Limit`] failure, so the
/// host always gets one well-formed response.
///
/// [`FailureCode::BadRequest`]: pluginhost_proto::FailureCode::BadRequest
/// [`FailureCode::Limit`]: pluginhost_proto::FailureCode::Limit
///
/// # Errors
/// Only if no response at all could be written.
pub fn serve<Req, Resp, F>(handler: F) -> Result<(), Error>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Req) -> Result<Resp, PluginFailure>,
{
    let response = read_request::<Req>().and_then(handler);
    write_response(&response)
}

/// [`serve`]'s first step: the input as a `Req`, or the failure to answer with.
///
/// Not inlined, nor is [`write_response`]: the function that calls them (the plugin's `run`)
/// stays on the call stack for the whole invocation, and a host that translates code lazily
/// keeps it translated all that time (docs/plugin-authoring.md).
#[inline(never)]
fn read_request<Req: DeserializeOwned>() -> Result<Req, PluginFailure> {
    match input_message::<Req>() {
        Ok(request) => Ok(request),
        Err(Error::Decode) => Err(PluginFailure::bad_request(
            "the input is not a valid request message for this plugin",
        )),
        Err(error) => Err(PluginFailure::from(error)),
    }
}

/// [`serve`]'s last step: writes `response`, or a [`FailureCode::Limit`] failure in its place if
/// it is larger than the host's output cap.
///
/// [`FailureCode::Limit`]: pluginhost_proto::FailureCode::Limit
#[inline(never)]
fn write_response<Resp: Serialize>(response: &Result<Resp, PluginFailure>) -> Result<(), Error> {
    match output_message(response) {
        Err(Error::Limit) => {
            let failure: Result<(), PluginFailure> = Err(PluginFailure::limit(
                "the response is larger than the host's output cap",
            ));
            output_message(&failure)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn decode_is_strict() {
        let bytes = encode(&(String::from("a"), 7u32)).expect("encode");
        assert_eq!(decode::<(String, u32)>(&bytes), Ok((String::from("a"), 7)));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode::<(String, u32)>(&longer), Err(Error::Decode));
        assert_eq!(decode::<(String, u32)>(&bytes[..1]), Err(Error::Decode));
    }

    #[test]
    fn no_host_off_wasm() {
        assert_eq!(try_input(), Err(Error::Unknown(sys::NO_HOST)));
        assert!(input().is_empty());
        assert_eq!(output(b"x"), Err(Error::Unknown(sys::NO_HOST)));
    }
}
