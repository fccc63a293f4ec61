//! pebble, Let's Encrypt's ACME test server, and pebble-challtestsrv, its challenge server, on
//! loopback: free ports, a configuration and an HTTPS certificate made here in a temporary
//! directory, each process stopped by its pid.
//!
//! pebble serves ACME over HTTPS only. Its listener's certificate is issued by a [`TestCa`] made
//! for this run for [`Pebble::NAME`], `localhost` and `127.0.0.1`; a client trusts
//! [`Pebble::tls_ca_pem`] and dials `NAME` pinned to the listener
//! ([`Pebble::pin`]: `acme.example:14000=127.0.0.1:PORT`). The certificates pebble *issues*
//! chain to a root it generates at start ([`Pebble::issuer_roots_pem`]).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::ca::TestCa;
use crate::process::{free_port, program, wait_for_port, Server};

/// How pebble is to behave.
#[derive(Clone, Debug)]
pub struct PebbleOptions {
    /// `PEBBLE_VA_ALWAYS_VALID`: every challenge passes without a validation request.
    pub always_valid: bool,
    /// `PEBBLE_WFE_NONCEREJECT`: the percentage of valid nonces refused with `badNonce`.
    pub nonce_reject_percent: u8,
    /// Start pebble-challtestsrv and point pebble's DNS and `http-01` requests at it.
    pub challenge_server: bool,
    /// Names pebble refuses to issue for (`rejectedIdentifier`).
    pub blocked_names: Vec<String>,
    /// The DNS server on 127.0.0.1 that pebble asks for `dns-01` TXT records and every other
    /// name (`-dnsserver 127.0.0.1:PORT`), e.g. a [`Knot`](crate::Knot)'s port. Takes precedence
    /// over the challenge server's DNS.
    pub dns_port: Option<u16>,
}

impl Default for PebbleOptions {
    fn default() -> Self {
        PebbleOptions {
            always_valid: true,
            nonce_reject_percent: 0,
            challenge_server: false,
            blocked_names: Vec::new(),
            dns_port: None,
        }
    }
}

/// pebble-challtestsrv: answers pebble's DNS queries (every A query with 127.0.0.1) and serves
/// the `http-01` tokens and `dns-01` TXT records a test adds through its management API.
pub struct ChallengeServer {
    _server: Server,
    /// Its management API (plain HTTP) port.
    pub management_port: u16,
    /// Where it serves `http-01` tokens (pebble's `httpPort`).
    pub http01_port: u16,
    /// Its DNS port (pebble's `-dnsserver`).
    pub dns_port: u16,
}

impl ChallengeServer {
    /// Serves `content` at `/.well-known/acme-challenge/<token>` for any host.
    ///
    /// # Errors
    /// If the management API does not accept it.
    pub fn add_http01(&self, token: &str, content: &str) -> io::Result<()> {
        let body = format!(
            r#"{{"token":{},"content":{}}}"#,
            json_string(token),
            json_string(content)
        );
        self.post("/add-http01", &body)
    }

    /// Answers TXT queries for `name` with `value` (for `dns-01`).
    ///
    /// # Errors
    /// If the management API does not accept it.
    pub fn set_txt(&self, name: &str, value: &str) -> io::Result<()> {
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        let body = format!(
            r#"{{"host":{},"value":{}}}"#,
            json_string(&fqdn),
            json_string(value)
        );
        self.post("/set-txt", &body)
    }

    fn post(&self, path: &str, body: &str) -> io::Result<()> {
        let mut sock = TcpStream::connect((Ipv4Addr::LOCALHOST, self.management_port))?;
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            sock,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        sock.read_to_string(&mut answer)?;
        if answer.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "pebble-challtestsrv {path}: {}",
                answer.lines().next().unwrap_or("no answer")
            )))
        }
    }
}

/// A running pebble (and, if asked, its challenge server). Dropping it stops both and removes
/// the temporary directory.
pub struct Pebble {
    // Declared first: the processes stop before the directory goes.
    server: Server,
    challenges: Option<ChallengeServer>,
    /// The ACME listener's port on 127.0.0.1.
    pub port: u16,
    /// The management interface's port on 127.0.0.1 (roots and intermediates).
    pub management_port: u16,
    ca: TestCa,
    dir: tempfile::TempDir,
}

impl Pebble {
    /// The name clients dial (pinned to 127.0.0.1 and [`Pebble::port`]).
    pub const NAME: &'static str = "acme.example";
    /// The port in the URLs clients use (pebble builds its URLs from the `Host` header).
    pub const GRANTED_PORT: u16 = 14000;

    /// Starts pebble with `options`. `Ok(None)` when pebble (or pebble-challtestsrv, if
    /// asked for) is not installed, which outside CI skips the test (see [`program`]).
    ///
    /// # Errors
    /// If a process cannot be started or does not listen within 20 s.
    pub fn start(options: &PebbleOptions) -> io::Result<Option<Pebble>> {
        let Some(pebble) = program("pebble", "pebble") else {
            return Ok(None);
        };
        let challtestsrv = if options.challenge_server {
            match program("pebble-challtestsrv", "pebble") {
                Some(p) => Some(p),
                None => return Ok(None),
            }
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix("pebble.").tempdir()?;
        let ca = TestCa::new("pluginhost testbed pebble listener CA");
        let leaf = ca.issue(&[Self::NAME, "localhost", "127.0.0.1"], false);
        std::fs::write(dir.path().join("cert.pem"), &leaf.cert_pem)?;
        std::fs::write(dir.path().join("key.pem"), &leaf.key_pem)?;

        let challenges = match challtestsrv {
            None => None,
            Some(path) => Some(start_challenge_server(&path, dir.path())?),
        };
        let port = free_port();
        let management_port = free_port();
        let http_port = challenges
            .as_ref()
            .map_or_else(free_port, |c| c.http01_port);
        let blocked: Vec<String> = options
            .blocked_names
            .iter()
            .map(|n| json_string(n))
            .collect();
        let config = format!(
            r#"{{"pebble": {{
  "listenAddress": "127.0.0.1:{port}",
  "managementListenAddress": "127.0.0.1:{management_port}",
  "certificate": {},
  "privateKey": {},
  "httpPort": {http_port},
  "tlsPort": {},
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false,
  "domainBlocklist": [{}]
}}}}"#,
            json_string(&dir.path().join("cert.pem").display().to_string()),
            json_string(&dir.path().join("key.pem").display().to_string()),
            free_port(),
            blocked.join(", ")
        );
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config)?;
        let mut command = Command::new(pebble);
        command
            .arg("-config")
            .arg(&config_path)
            .current_dir(dir.path())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env(
                "PEBBLE_VA_ALWAYS_VALID",
                if options.always_valid { "1" } else { "0" },
            )
            .env(
                "PEBBLE_WFE_NONCEREJECT",
                options.nonce_reject_percent.to_string(),
            )
            .env("PEBBLE_AUTHZREUSE", "0");
        if let Some(port) = options.dns_port.or(challenges.as_ref().map(|c| c.dns_port)) {
            command.arg("-dnsserver").arg(format!("127.0.0.1:{port}"));
        }
        let server = Server::start("pebble", command, &dir.path().join("pebble.log"))?;
        wait_for_port(port, Duration::from_secs(20)).map_err(|e| log_error(&dir, e))?;
        wait_for_port(management_port, Duration::from_secs(20)).map_err(|e| log_error(&dir, e))?;
        Ok(Some(Pebble {
            server,
            challenges,
            port,
            management_port,
            ca,
            dir,
        }))
    }

    /// pebble's pid (the process this started).
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// The trust anchor for pebble's HTTPS listeners (PEM).
    pub fn tls_ca_pem(&self) -> String {
        self.ca.cert_pem()
    }

    /// The directory URL clients use: `https://acme.example:14000/dir`.
    pub fn directory_url(&self) -> String {
        format!("https://{}:{}/dir", Self::NAME, Self::GRANTED_PORT)
    }

    /// The pin that sends the directory's name and port to the listener, as `--resolve` takes
    /// it: `acme.example:14000=127.0.0.1:PORT`.
    pub fn pin(&self) -> String {
        format!(
            "{}:{}=127.0.0.1:{}",
            Self::NAME,
            Self::GRANTED_PORT,
            self.port
        )
    }

    /// The challenge server, if it was asked for.
    pub fn challenges(&self) -> Option<&ChallengeServer> {
        self.challenges.as_ref()
    }

    /// The root certificate (PEM) of the CA pebble issues from, generated at start.
    ///
    /// # Errors
    /// If the management interface does not answer.
    pub fn issuer_roots_pem(&self) -> io::Result<String> {
        self.management_get("/roots/0")
    }

    /// pebble's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// `GET path` on the management interface over HTTPS, trusting [`Pebble::tls_ca_pem`].
    fn management_get(&self, path: &str) -> io::Result<String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.tls_ca_pem().as_bytes()) {
            roots
                .add(cert.map_err(io::Error::other)?)
                .map_err(io::Error::other)?;
        }
        #[allow(deprecated)] // ring has no post-quantum key exchange; fine for a loopback test
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let mut conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(io::Error::other)?;
        let mut sock = TcpStream::connect((Ipv4Addr::LOCALHOST, self.management_port))?;
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = Vec::new();
        match tls.read_to_end(&mut answer) {
            Ok(_) => {}
            // Go may close without close_notify after a `Connection: close` response.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
            Err(e) => return Err(e),
        }
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .ok_or_else(|| io::Error::other("no HTTP head"))?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(io::Error::other(format!("GET {path}: {head}")));
        }
        Ok(body.to_string())
    }
}

fn start_challenge_server(path: &Path, dir: &Path) -> io::Result<ChallengeServer> {
    let management_port = free_port();
    let http01_port = free_port();
    let dns_port = free_port();
    let mut command = Command::new(path);
    command
        .arg("-management")
        .arg(format!("127.0.0.1:{management_port}"))
        .arg("-http01")
        .arg(format!("127.0.0.1:{http01_port}"))
        .arg("-dns01")
        .arg(format!("127.0.0.1:{dns_port}"))
        .args(["-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""])
        .args(["-defaultIPv4", "127.0.0.1"])
        .current_dir(dir);
    let server = Server::start(
        "pebble-challtestsrv",
        command,
        &dir.join("challtestsrv.log"),
    )?;
    wait_for_port(management_port, Duration::from_secs(20))?;
    wait_for_port(http01_port, Duration::from_secs(20))?;
    Ok(ChallengeServer {
        _server: server,
        management_port,
        http01_port,
        dns_port,
    })
}

fn log_error(dir: &tempfile::TempDir, e: io::Error) -> io::Error {
    let log = std::fs::read_to_string(dir.path().join("pebble.log")).unwrap_or_default();
    io::Error::new(e.kind(), format!("{e}; pebble's log:\n{log}"))
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
