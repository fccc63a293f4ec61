//! `knotd` (Knot DNS, Debian `knot`) as an authoritative primary for one zone on 127.0.0.1, with
//! TSIG keys and an ACL that lets one key update only the `_acme-challenge` TXT records of the
//! names it is started for.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use tempfile::TempDir;

use crate::process::{free_port, program, wait_for_port, Server};

/// A TSIG key `knotd` knows: its name and base64 secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigKey {
    /// The key's name, e.g. `acme-update`.
    pub name: String,
    /// The shared secret, base64.
    pub secret: String,
}

impl TsigKey {
    /// A key named `name` with 32 random bytes of secret.
    ///
    /// # Errors
    /// If the system's random source fails.
    pub fn generate(name: &str) -> io::Result<TsigKey> {
        let mut secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
            .map_err(|_| io::Error::other("the system random source failed"))?;
        Ok(TsigKey {
            name: name.to_string(),
            secret: base64::engine::general_purpose::STANDARD.encode(secret),
        })
    }

    /// The one-line key file form `hmac-sha256:<name>:<secret>` (what `kdig -y`, `knsupdate -y`
    /// and the `dns-rfc2136` plugin's key file take).
    pub fn key_file_line(&self) -> String {
        format!("hmac-sha256:{}:{}\n", self.name, self.secret)
    }
}

/// A running `knotd`, killed (by its pid) and its directory removed when dropped.
pub struct Knot {
    // Declared first: dropped (killed) before the directory goes.
    server: Server,
    dir: TempDir,
    config: PathBuf,
    port: u16,
    zone: String,
    update_key: TsigKey,
    other_key: TsigKey,
}

impl Knot {
    /// Starts `knotd` in the foreground with its configuration, zone file, journal and control
    /// socket in a temporary directory, listening on 127.0.0.1 on a free port (UDP and TCP),
    /// authoritative for `zone` (an SOA, an NS and `ns1.<zone>` A 127.0.0.1). Two TSIG keys
    /// exist: [`Knot::update_key`], which may update TXT records owned by
    /// `_acme-challenge.<name>` for each of `names` and nothing else, and [`Knot::other_key`],
    /// which the server knows but lets update nothing.
    ///
    /// Returns `Ok(None)` when `knotd` is not installed (outside CI; see [`program`]).
    ///
    /// # Errors
    /// If the directory, the files or the process cannot be made, or nothing listens on the
    /// port within 10 s (the error then quotes `knotd`'s log).
    pub fn start(zone: &str, names: &[&str]) -> io::Result<Option<Knot>> {
        let Some(knotd) = program("knotd", "knot") else {
            return Ok(None);
        };
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        let dir = tempfile::Builder::new().prefix("knotd-").tempdir()?;
        let root = dir.path();
        for sub in ["run", "storage", "zones"] {
            fs::create_dir(root.join(sub))?;
        }
        fs::write(
            root.join("zones").join(format!("{zone}.zone")),
            format!(
                "$ORIGIN {zone}.\n$TTL 300\n\
                 @ IN SOA ns1 hostmaster 1 3600 600 86400 60\n\
                 @ IN NS ns1\n\
                 ns1 IN A 127.0.0.1\n"
            ),
        )?;
        let update_key = TsigKey::generate("acme-update")?;
        let other_key = TsigKey::generate("other-key")?;
        let owners: Vec<String> = names
            .iter()
            .map(|n| format!("_acme-challenge.{}.", n.trim_end_matches('.')))
            .collect();
        let port = free_port();
        let config = root.join("knot.conf");
        fs::write(
            &config,
            config_text(root, port, &zone, &update_key, &other_key, &owners),
        )?;
        let mut command = Command::new(&knotd);
        command.arg("--config").arg(&config);
        let log = root.join("knotd.log");
        let mut server = Server::start("knotd", command, &log)?;
        if let Err(e) = wait_for_port(port, Duration::from_secs(10)) {
            let running = server.running();
            let text = fs::read_to_string(&log).unwrap_or_default();
            return Err(io::Error::new(
                e.kind(),
                format!("knotd (running: {running}): {e}; its log:\n{text}"),
            ));
        }
        Ok(Some(Knot {
            server,
            dir,
            config,
            port,
            zone,
            update_key,
            other_key,
        }))
    }

    /// The port `knotd` listens on at 127.0.0.1 (UDP and TCP).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The zone it serves, lower-case, without the trailing dot.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The key allowed to update the `_acme-challenge` TXT records.
    pub fn update_key(&self) -> &TsigKey {
        &self.update_key
    }

    /// A key the server knows but allows no update with.
    pub fn other_key(&self) -> &TsigKey {
        &self.other_key
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// The temporary directory holding its configuration, zone file and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The TXT values served for `name` (asked over TCP with `kdig` from Debian
    /// `knot-dnsutils`), each without its quotes. Returns `Ok(None)` when `kdig` is missing
    /// (outside CI).
    ///
    /// # Errors
    /// If `kdig` cannot run or fails.
    pub fn query_txt(&self, name: &str) -> io::Result<Option<Vec<String>>> {
        let Some(kdig) = program("kdig", "knot-dnsutils") else {
            return Ok(None);
        };
        let out = Command::new(kdig)
            .arg("@127.0.0.1")
            .args(["-p", &self.port.to_string()])
            .args(["+tcp", "+short", "+timeout=5", "+retry=0", "TXT", name])
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "kdig TXT {name}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().trim_matches('"').to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        ))
    }

    /// Freezes (`true`) or thaws the zone with `knotc`: while frozen, `knotd` answers every
    /// update with `REFUSED`.
    ///
    /// # Errors
    /// If `knotc` is missing or fails.
    pub fn freeze(&self, frozen: bool) -> io::Result<()> {
        let knotc = program("knotc", "knot")
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "knotc is not installed"))?;
        let command = if frozen { "zone-freeze" } else { "zone-thaw" };
        let out = Command::new(knotc)
            .arg("--config")
            .arg(&self.config)
            .args(["--blocking", command, &self.zone])
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "knotc {command}: {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// `knotd`'s log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("knotd.log")).unwrap_or_default()
    }
}

fn config_text(
    root: &Path,
    port: u16,
    zone: &str,
    update: &TsigKey,
    other: &TsigKey,
    owners: &[String],
) -> String {
    let root = root.display();
    let owners = owners.join(", ");
    format!(
        "server:\n\
         \x20   rundir: \"{root}/run\"\n\
         \x20   listen: 127.0.0.1@{port}\n\
         database:\n\
         \x20   storage: \"{root}/storage\"\n\
         key:\n\
         \x20 - id: {update_name}\n\
         \x20   algorithm: hmac-sha256\n\
         \x20   secret: {update_secret}\n\
         \x20 - id: {other_name}\n\
         \x20   algorithm: hmac-sha256\n\
         \x20   secret: {other_secret}\n\
         acl:\n\
         \x20 - id: acme-challenges\n\
         \x20   key: {update_name}\n\
         \x20   action: update\n\
         \x20   update-type: [TXT]\n\
         \x20   update-owner: name\n\
         \x20   update-owner-match: equal\n\
         \x20   update-owner-name: [{owners}]\n\
         template:\n\
         \x20 - id: default\n\
         \x20   storage: \"{root}/zones\"\n\
         \x20   file: \"%s.zone\"\n\
         zone:\n\
         \x20 - domain: {zone}\n\
         \x20   acl: acme-challenges\n\
         log:\n\
         \x20 - target: stderr\n\
         \x20   any: info\n",
        update_name = update.name,
        update_secret = update.secret,
        other_name = other.name,
        other_secret = other.secret,
    )
}
