//! `nginx` (Debian `nginx-light`) serving TLS on 127.0.0.1, run as an ordinary process: its own
//! configuration (`-c`) and prefix (`-p`) in a temporary directory, `daemon off` so the pid
//! started is the master's, and pid file, logs and temporary files inside the prefix.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{free_port, program, wait_for_port, Server};

/// A running nginx master, killed (by its pid) and its prefix removed when dropped.
pub struct Nginx {
    // Declared first: dropped (killed) before the prefix goes.
    server: Server,
    prefix: TempDir,
    program: PathBuf,
    config: PathBuf,
    port: u16,
}

impl Nginx {
    /// Starts nginx with one TLS server on 127.0.0.1 on a free port, presenting the certificate
    /// chain at `certificate` with the private key at `key` (host paths, read by nginx at start
    /// and at each reload), answering every request with `200 ok`.
    ///
    /// Returns `Ok(None)` when nginx is not installed (outside CI; see [`program`]).
    ///
    /// # Errors
    /// If the prefix or configuration cannot be written, nginx cannot start, or nothing listens
    /// on the port within 10 s (the error then quotes nginx's error log).
    pub fn start(certificate: &Path, key: &Path) -> io::Result<Option<Nginx>> {
        let Some(program) = program("nginx", "nginx-light") else {
            return Ok(None);
        };
        let prefix = tempfile::Builder::new().prefix("nginx-").tempdir()?;
        fs::create_dir(prefix.path().join("logs"))?;
        fs::create_dir(prefix.path().join("temp"))?;
        let port = free_port();
        let config = prefix.path().join("nginx.conf");
        fs::write(&config, config_text(prefix.path(), port, certificate, key))?;
        let mut command = Command::new(&program);
        command
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&config)
            .args(["-e", "stderr"]);
        let log = prefix.path().join("logs/stderr.log");
        let mut server = Server::start("nginx", command, &log)?;
        if let Err(e) = wait_for_port(port, Duration::from_secs(10)) {
            let running = server.running();
            let text = fs::read_to_string(&log).unwrap_or_default();
            let errors =
                fs::read_to_string(prefix.path().join("logs/error.log")).unwrap_or_default();
            return Err(io::Error::new(
                e.kind(),
                format!("nginx (running: {running}): {e}; its output:\n{text}{errors}"),
            ));
        }
        Ok(Some(Nginx {
            server,
            prefix,
            program,
            config,
            port,
        }))
    }

    /// The TLS port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The master's pid (the process this started).
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Whether the master is still running.
    pub fn running(&mut self) -> bool {
        self.server.running()
    }

    /// The nginx program (an absolute path, e.g. `/usr/sbin/nginx`): what a `process.exec`
    /// grant names.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The configuration file (`-c`).
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The prefix (`-p`).
    pub fn prefix(&self) -> &Path {
        self.prefix.path()
    }

    /// The arguments after the program that make nginx reload this instance:
    /// `-p <prefix> -c <config> -e /dev/stdout -s reload`. nginx parses and checks the whole
    /// configuration (certificates and keys included) before it signals the master, and exits
    /// 1 without signalling when that fails; `-e /dev/stdout` puts that error on its standard
    /// output, which a process back-end returns (standard error is usually discarded).
    pub fn reload_args(&self) -> Vec<String> {
        vec![
            "-p".into(),
            self.prefix.path().display().to_string(),
            "-c".into(),
            self.config.display().to_string(),
            "-e".into(),
            "/dev/stdout".into(),
            "-s".into(),
            "reload".into(),
        ]
    }

    /// The master's error log so far (`logs/error.log` in the prefix).
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }

    /// How many reload signals (`SIGHUP`) the master has received so far, from its error log.
    pub fn reloads_received(&self) -> usize {
        self.error_log()
            .lines()
            .filter(|l| l.contains("signal 1 (SIGHUP) received"))
            .count()
    }
}

impl Nginx {
    /// Waits until the master has taken its `count`-th reload signal and finished it: new
    /// workers started and the old ones gone, after which every new connection gets the new
    /// configuration. (Until the old workers exit, one of them may still accept a connection.)
    ///
    /// # Errors
    /// `TimedOut` after `limit`, quoting the error log.
    pub fn wait_for_reload(&self, count: usize, limit: Duration) -> io::Result<()> {
        let start = std::time::Instant::now();
        loop {
            let log = self.error_log();
            let after = log
                .lines()
                .skip_while({
                    let mut seen = 0;
                    move |l| {
                        if l.contains("signal 1 (SIGHUP) received") {
                            seen += 1;
                        }
                        seen < count
                    }
                })
                .skip(1);
            if count > 0 && after.clone().any(|l| l.contains("exited with code")) {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "nginx has not finished reload {count} after {limit:?}; its log:\n{log}"
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn config_text(prefix: &Path, port: u16, certificate: &Path, key: &Path) -> String {
    let p = prefix.display();
    format!(
        "daemon off;\n\
         master_process on;\n\
         worker_processes 1;\n\
         pid {p}/logs/nginx.pid;\n\
         error_log {p}/logs/error.log notice;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
         \x20   access_log {p}/logs/access.log;\n\
         \x20   client_body_temp_path {p}/temp/body;\n\
         \x20   proxy_temp_path {p}/temp/proxy;\n\
         \x20   fastcgi_temp_path {p}/temp/fastcgi;\n\
         \x20   uwsgi_temp_path {p}/temp/uwsgi;\n\
         \x20   scgi_temp_path {p}/temp/scgi;\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{port} ssl;\n\
         \x20       ssl_certificate {cert};\n\
         \x20       ssl_certificate_key {key};\n\
         \x20       location / {{ return 200 \"ok\\n\"; }}\n\
         \x20   }}\n\
         }}\n",
        cert = certificate.display(),
        key = key.display(),
    )
}
