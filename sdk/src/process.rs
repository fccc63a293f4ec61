//! Programs under the plugin's `process.exec` grants.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error};
use crate::sys;

/// The longest encoded argument vector, in bytes (the host's assumed cap).
pub const MAX_ARGV_BYTES: usize = 4096;

/// The most standard output [`exec`] asks for: 64 KiB (the host's assumed per-call cap) less the
/// 4-byte status.
pub const MAX_STDOUT_BYTES: usize = 64 * 1024 - 4;

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status the host reported.
    pub status: i32,
    /// The start of the program's standard output.
    pub stdout: Vec<u8>,
}

/// Encodes `argv` as the ABI wants it: each argument followed by one NUL byte.
///
/// # Errors
/// [`Error::Invalid`] if `argv` is empty, `argv[0]` is not absolute, or an argument contains a
/// NUL byte; [`Error::Limit`] if the encoding is longer than [`MAX_ARGV_BYTES`].
pub fn encode_argv(argv: &[&str]) -> Result<Vec<u8>, Error> {
    match argv.first() {
        Some(program) if program.starts_with('/') => {}
        _ => return Err(Error::Invalid),
    }
    let mut out = Vec::new();
    for arg in argv {
        if arg.as_bytes().contains(&0) {
            return Err(Error::Invalid);
        }
        if out.len() + arg.len() + 1 > MAX_ARGV_BYTES {
            return Err(Error::Limit);
        }
        out.extend_from_slice(arg.as_bytes());
        out.push(0);
    }
    Ok(out)
}

/// Splits what `process_exec` wrote into the status and the output.
///
/// # Errors
/// [`Error::Io`] if fewer than 4 bytes were written.
pub fn decode_output(written: &[u8]) -> Result<ExecOutput, Error> {
    match written {
        [a, b, c, d, stdout @ ..] => Ok(ExecOutput {
            status: i32::from_le_bytes([*a, *b, *c, *d]),
            stdout: stdout.to_vec(),
        }),
        _ => Err(Error::Io),
    }
}

/// Runs `argv[0]` (an absolute path) with `argv` (no shell, empty environment) and returns its
/// exit status and at most `max_stdout` bytes (capped at [`MAX_STDOUT_BYTES`]) of its output.
///
/// # Errors
/// As [`encode_argv`] and [`decode_output`]; [`Error::Denied`] unless a grant covers `argv[0]`;
/// the host's error otherwise.
pub fn exec(argv: &[&str], max_stdout: usize) -> Result<ExecOutput, Error> {
    let encoded = encode_argv(argv)?;
    let mut dst = vec![0u8; 4 + max_stdout.min(MAX_STDOUT_BYTES)];
    let written = check(sys::process_exec(&encoded, &mut dst))? as usize;
    dst.truncate(written);
    decode_output(&dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn argv_encoding() {
        assert_eq!(
            encode_argv(&["/usr/sbin/nginx", "-s", "reload"]).expect("ok"),
            b"/usr/sbin/nginx\0-s\0reload\0"
        );
        assert_eq!(
            encode_argv(&["/bin/true", ""]).expect("ok"),
            b"/bin/true\0\0"
        );
        assert_eq!(encode_argv(&[]), Err(Error::Invalid));
        assert_eq!(encode_argv(&["nginx"]), Err(Error::Invalid));
        assert_eq!(encode_argv(&["/bin/x", "a\0b"]), Err(Error::Invalid));
        let long = String::from("x").repeat(MAX_ARGV_BYTES);
        assert_eq!(encode_argv(&["/bin/x", &long]), Err(Error::Limit));
        let fits = String::from("x").repeat(MAX_ARGV_BYTES - "/bin/x".len() - 2);
        assert!(encode_argv(&["/bin/x", &fits]).is_ok());
    }

    #[test]
    fn output_decoding() {
        assert_eq!(
            decode_output(&[1, 0, 0, 0, b'o', b'k']),
            Ok(ExecOutput {
                status: 1,
                stdout: b"ok".to_vec()
            })
        );
        assert_eq!(
            decode_output(&[0xff, 0xff, 0xff, 0xff]),
            Ok(ExecOutput {
                status: -1,
                stdout: Vec::new()
            })
        );
        assert_eq!(decode_output(&[0, 0, 0]), Err(Error::Io));
        assert_eq!(
            exec(&["/bin/true"], 10),
            Err(Error::Unknown(crate::sys::NO_HOST))
        );
    }
}
