//! Request validation: pure, unit-tested on the host.

use alloc::string::String;
use alloc::vec::Vec;

use pluginhost_sdk::process::{encode_argv, MAX_STDOUT_BYTES};
use pluginhost_sdk::proto::reload::ReloadRequest;
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::Error;

/// The most arguments after the program.
pub const MAX_ARGS: usize = 32;
/// The most standard output returned, whatever the request asks (16 KiB).
pub const STDOUT_CAP: usize = 16 * 1024;
const _: () = assert!(STDOUT_CAP <= MAX_STDOUT_BYTES);

/// The argument vector (`program` first) and the output bound to use.
pub fn check(request: &ReloadRequest) -> Result<(Vec<&str>, usize), PluginFailure> {
    let program = request.program.as_str();
    if !program.starts_with('/')
        || program.ends_with('/')
        || program
            .split('/')
            .skip(1)
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(PluginFailure::bad_request(
            "program must be an absolute path without empty, '.' or '..' components",
        ));
    }
    if request.args.len() > MAX_ARGS {
        return Err(PluginFailure::bad_request("at most 32 arguments"));
    }
    let mut argv = Vec::with_capacity(request.args.len() + 1);
    argv.push(program);
    argv.extend(request.args.iter().map(String::as_str));
    match encode_argv(&argv) {
        Ok(_) => {}
        Err(Error::Limit) => {
            return Err(PluginFailure::limit(
                "the argument vector is longer than 4 KiB",
            ))
        }
        Err(_) => {
            return Err(PluginFailure::bad_request(
                "program and arguments must not contain NUL bytes",
            ))
        }
    }
    let max_stdout = (request.max_stdout as usize).min(STDOUT_CAP);
    Ok((argv, max_stdout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use pluginhost_sdk::process::MAX_ARGV_BYTES;
    use pluginhost_sdk::proto::FailureCode;

    fn request(program: &str, args: &[&str]) -> ReloadRequest {
        ReloadRequest {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            max_stdout: 1 << 20,
        }
    }

    #[test]
    fn builds_argv() {
        let r = request("/usr/sbin/reload-service", &["nginx", ""]);
        let (argv, max) = check(&r).unwrap();
        assert_eq!(argv, ["/usr/sbin/reload-service", "nginx", ""]);
        assert_eq!(max, STDOUT_CAP);
        let mut r = request("/bin/true", &[]);
        r.max_stdout = 10;
        assert_eq!(check(&r).unwrap(), (vec!["/bin/true"], 10));
    }

    #[test]
    fn refuses_bad_requests() {
        for program in [
            "",
            "reload",
            "./reload",
            "/usr/../bin/sh",
            "/usr//sbin/x",
            "/usr/sbin/",
            "/a\0b",
        ] {
            let f = check(&request(program, &[])).unwrap_err();
            assert_eq!(f.code, FailureCode::BadRequest, "{program:?}");
        }
        let f = check(&request("/bin/x", &["a\0b"])).unwrap_err();
        assert_eq!(f.code, FailureCode::BadRequest);
        let many = vec!["a"; MAX_ARGS + 1];
        assert_eq!(
            check(&request("/bin/x", &many)).unwrap_err().code,
            FailureCode::BadRequest
        );
        let long = "a".repeat(MAX_ARGV_BYTES);
        assert_eq!(
            check(&request("/bin/x", &[&long])).unwrap_err().code,
            FailureCode::Limit
        );
    }
}
