//! `pluginhost new`: a plugin crate from the SDK that builds for wasm32 with one command and
//! passes `pluginhost check` as written.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

use crate::common::{self, CliError, CliResult};
use crate::exit::{self, Exit};
use crate::protocol::Protocol;

const LONG_ABOUT: &str = "\
Write a new plugin crate: Cargo.toml (a cdylib with the SDK by path, a small release profile), \
.cargo/config.toml (a 16 KiB guest stack), src/lib.rs (a working plugin of the kind, its \
manifest and unit tests), request.json (an example request) and README.md.

Build and check it:
  cd NAME
  cargo build --release --target wasm32-unknown-unknown
  pluginhost check target/wasm32-unknown-unknown/release/NAME.wasm

Kinds: ca (issue: sends the CSR to the CA over net.dial), connector (deploy: writes the chain \
under /certs with fs.write), dns (publish-txt: adds the TXT record to /zones/ZONE.zone). Each \
manifest declares its protocol (`protocol:`, with `abi: 2`), so `pluginhost run --request` \
needs no --protocol.";

/// What the new plugin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A certificate authority plugin (`ca::IssueRequest`).
    Ca,
    /// A deployment connector (`deploy::DeployRequest`).
    Connector,
    /// A DNS provider (`dns::PublishTxtRequest`).
    Dns,
}

/// Arguments of `pluginhost new`.
#[derive(Debug, Parser)]
#[command(
    about = "Write a new plugin crate (ca, connector or dns) from the SDK",
    long_about = LONG_ABOUT,
    after_help = exit::TABLE
)]
pub struct Args {
    /// The kind of plugin
    #[arg(value_enum)]
    kind: Kind,

    /// The plugin's name: its crate, module and manifest name (a-z, 0-9, `-`, `_`; starting
    /// with a letter; at most 64 bytes)
    #[arg(value_name = "NAME")]
    name: String,

    /// The directory to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,

    /// The pluginhost SDK to depend on [default: the sdk/ of the checkout this pluginhost was
    /// built from]
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

struct Template {
    source: &'static str,
    request: &'static str,
    /// What the template's manifest declares.
    protocol: Protocol,
    grants: &'static str,
    run_flags: &'static str,
}

fn template(kind: Kind) -> Template {
    match kind {
        Kind::Ca => Template {
            source: include_str!("../templates/ca.rs"),
            request: include_str!("../templates/ca.json"),
            protocol: Protocol::Issue,
            grants: "net.dial=ca.example.com:443",
            run_flags: "--grant net.dial=ca.example.com:443",
        },
        Kind::Connector => Template {
            source: include_str!("../templates/connector.rs"),
            request: include_str!("../templates/connector.json"),
            protocol: Protocol::Deploy,
            grants: "fs.write=/certs",
            run_flags: "--grant fs.write=/certs --root sandbox   # after mkdir -p sandbox/certs",
        },
        Kind::Dns => Template {
            source: include_str!("../templates/dns.rs"),
            request: include_str!("../templates/dns.json"),
            protocol: Protocol::PublishTxt,
            grants: "fs.read=/zones, fs.write=/zones",
            run_flags: "--grant fs.read=/zones --grant fs.write=/zones --root sandbox   # after mkdir -p sandbox/zones",
        },
    }
}

/// A crate name that is also a valid manifest name.
fn check_name(name: &str) -> Result<(), CliError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid plugin name `{}`: use a-z, 0-9, `-` and `_`, starting with a letter, at most \
             64 bytes",
            common::printable(name)
        )))
    }
}

/// The SDK directory: `--sdk`, or the checkout this binary was built from.
fn sdk_dir(given: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = given.map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"),
        Path::to_path_buf,
    );
    let manifest = dir.join("Cargo.toml");
    let is_sdk =
        fs::read_to_string(&manifest).is_ok_and(|text| text.contains("name = \"pluginhost-sdk\""));
    if !is_sdk {
        return Err(CliError::usage(format!(
            "{} is not the pluginhost SDK (no package pluginhost-sdk in its Cargo.toml): name it \
             with --sdk DIR",
            dir.display()
        )));
    }
    fs::canonicalize(&dir)
        .map_err(|e| CliError::usage(format!("cannot resolve {}: {e}", dir.display())))
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn fill(text: &str, pairs: &[(&str, &str)]) -> String {
    pairs.iter().fold(text.to_string(), |text, (key, value)| {
        text.replace(&format!("{{{{{key}}}}}"), value)
    })
}

/// Runs `pluginhost new`.
pub fn main(args: &Args) -> CliResult {
    check_name(&args.name)?;
    let sdk = sdk_dir(args.sdk.as_deref())?;
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() {
        return Err(CliError::usage(format!(
            "{} exists already: choose another NAME or --path",
            dir.display()
        )));
    }
    let sdk_text = sdk
        .to_str()
        .ok_or_else(|| CliError::usage("the SDK's path is not UTF-8: name it with --sdk DIR"))?;
    let template = template(args.kind);
    let kind = match args.kind {
        Kind::Ca => "ca",
        Kind::Connector => "connector",
        Kind::Dns => "dns",
    };
    let module = format!("{}.wasm", args.name.replace('-', "_"));
    let sdk_toml = toml_string(sdk_text);
    let pairs = [
        ("name", args.name.as_str()),
        ("sdk", sdk_toml.as_str()),
        ("kind", kind),
        ("protocol", template.protocol.as_str()),
        ("request", template.protocol.request_type()),
        ("module", module.as_str()),
        ("grants", template.grants),
        ("run_flags", template.run_flags),
    ];
    let files: [(&str, String); 6] = [
        (
            "Cargo.toml",
            fill(include_str!("../templates/Cargo.toml.in"), &pairs),
        ),
        (
            ".cargo/config.toml",
            include_str!("../templates/config.toml").to_string(),
        ),
        (
            ".gitignore",
            include_str!("../templates/gitignore").to_string(),
        ),
        (
            "README.md",
            fill(include_str!("../templates/README.md.in"), &pairs),
        ),
        ("request.json", template.request.to_string()),
        ("src/lib.rs", fill(template.source, &pairs)),
    ];
    for (name, contents) in &files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| CliError::usage(format!("cannot create {}: {e}", parent.display())))?;
        }
        fs::write(&path, contents)
            .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let shown = dir.display();
    let text = format!(
        "created {kind} plugin `{name}` in {shown}\n\n  cd {shown}\n  cargo build --release \
         --target wasm32-unknown-unknown\n  pluginhost check \
         target/wasm32-unknown-unknown/release/{module}\n",
        name = args.name
    );
    common::write_stdout(text.as_bytes())?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol;

    #[test]
    fn names_are_crate_and_manifest_names() {
        assert!(check_name("demo").is_ok());
        assert!(check_name("my-plugin_2").is_ok());
        for bad in ["", "Demo", "2fa", "a.b", "a b", "-x", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"/a "b"\c"#), r#""/a \"b\"\\c""#);
    }

    #[test]
    fn templates_fill_every_placeholder() {
        for kind in [Kind::Ca, Kind::Connector, Kind::Dns] {
            let t = template(kind);
            let pairs = [("name", "demo")];
            assert!(!fill(t.source, &pairs).contains("{{"), "{kind:?}");
        }
    }

    #[test]
    fn templates_declare_their_protocol_and_example_fits_it() {
        for (kind, name) in [
            (Kind::Ca, "ca"),
            (Kind::Connector, "connector"),
            (Kind::Dns, "dns"),
        ] {
            let t = template(kind);
            assert_eq!(t.protocol.kind().as_str(), name);
            assert!(t.source.contains("    abi: 2,"), "{kind:?}");
            assert!(
                t.source
                    .contains(&format!("    kind: {name},\n    protocol: {},", t.protocol)),
                "{kind:?}"
            );
            assert!(protocol::encode(t.protocol, t.request).is_ok(), "{kind:?}");
        }
    }
}
