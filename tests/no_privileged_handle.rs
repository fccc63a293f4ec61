//! The host holds no privileged handle: it cannot name a key store, a signer or a data store, so
//! no key or database handle exists in its address space for a guest to reach.
//!
//! Two checks that fail when someone adds such an import:
//! 1. every path root used in the library's source is an allow-listed crate or the crate's own
//!    module, and no identifier names a key, signer or store;
//! 2. the library's normal dependency tree is exactly an allow-listed set (no crypto, key-store
//!    or database crate can arrive as a dependency either).
//!
//! One deliberate exception: client TLS (feature `tls`, on by default). The host verifies the
//! servers plugins talk to, so rustls and its `ring` provider are in the tree, and the one module
//! that uses them (`src/backend/std_tls.rs`) may name them. They hold no long-term key: the host
//! offers no client certificate, and a third check pins that module to server verification
//! only (no client authentication, no verifier override).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates the library's source may name.
const ALLOWED_CRATES: &[&str] = &[
    "core",
    "alloc",
    "std",
    "wasmi",
    // wasmi's own parser, read directly for the load-time locals cap.
    "wasmparser",
    // wasmi's core types: the error type of `wasmi::ResourceLimiter` (counting refused grows).
    "wasmi_core",
    "spin",
    "heapless",
    "log",
    "defmt",
    "postcard",
    "serde",
    "cap_std",
    // Open flags for `DirFilesystem` (already in the tree through cap-std).
    "rustix",
    // `OsEntropy` (std): the OS's random generator for `random_fill`. Generates bytes, holds none.
    "getrandom",
    "pluginhost_proto",
    // Dev-dependencies, used only by `#[cfg(test)]` modules.
    "tempfile",
    "wat",
];

/// The one module that may name the TLS crates, and what it may name.
const TLS_MODULE: &str = "src/backend/std_tls.rs";
const TLS_CRATES: &[&str] = &["rustls"];
const TLS_WORDS: &[&str] = &["rustls", "ring"];

/// Words that may never appear as an identifier (or part of one) in the library's code.
const FORBIDDEN_WORDS: &[&str] = &[
    "keystore",
    "key_store",
    "keyring",
    "signer",
    "signing",
    "private_key",
    "secret_key",
    "hsm",
    "pkcs11",
    "database",
    "sqlite",
    "rusqlite",
    "sled",
    "redb",
    "rocksdb",
    "postgres",
    "diesel",
    "sqlx",
    "openssl",
    "rustls",
    "ring",
    "aws_lc",
    "p256",
    "p384",
    "ed25519",
    "rsa",
    "ecdsa",
];

/// The library's normal dependency tree (with default features, on the host target).
const ALLOWED_DEPENDENCIES: &[&str] = &[
    "ambient-authority",
    "bitflags",
    "byteorder",
    "cap-primitives",
    "cap-std",
    // getrandom's platform switch (no code of its own).
    "cfg-if",
    "cobs",
    "embedded-io",
    "errno",
    "fs-set-times",
    // `OsEntropy` (std): the OS's generator behind `random_fill`. It hands out random bytes and
    // keeps none: no key, no signer.
    "getrandom",
    "hash32",
    "heapless",
    "io-extras",
    "io-lifetimes",
    "ipnet",
    "libc",
    "libm",
    "linux-raw-sys",
    "log",
    "maybe-owned",
    "once_cell",
    "pluginhost-proto",
    "postcard",
    "proc-macro2",
    "quote",
    "rustix",
    "rustix-linux-procfs",
    "serde",
    "serde_core",
    "serde_derive",
    "spin",
    "stable_deref_trait",
    "syn",
    "thiserror",
    "thiserror-impl",
    "unicode-ident",
    "wasmi",
    "wasmi_collections",
    "wasmi_core",
    "wasmi_ir",
    "wasmparser",
];

/// What feature `tls` adds to the tree, each for a reason. None of them stores a key: they
/// verify certificates and run the ephemeral key exchange of each connection.
const TLS_DEPENDENCIES: &[&str] = &[
    // The TLS client: handshake, records, certificate verification. Client auth never used.
    "rustls",
    // rustls's certificate path validation (webpki) and its DER/PEM types.
    "rustls-webpki",
    "rustls-pki-types",
    // The crypto provider (ECDHE, AES-GCM, ChaCha20-Poly1305, signature verification) and its
    // DER reader; built from C and assembly by `cc` (build-time only, with its helpers).
    "ring",
    "untrusted",
    "cc",
    "find-msvc-tools",
    "shlex",
    // Constant-time comparisons and wiping of session secrets.
    "subtle",
    "zeroize",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("read source dir");
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string and char literals blanked out, and `#[cfg(test)]` modules
/// kept (tests are code too).
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(bytes.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(bytes.len(), |n| i + n + 2);
            i = end;
        } else if let Some(raw) = rest.strip_prefix("r#\"") {
            let end = raw.find("\"#").map_or(bytes.len(), |n| i + 3 + n + 2);
            out.push_str("\"\"");
            i = end;
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if bytes[i] == b'\''
            && rest.len() >= 3
            && (rest.as_bytes()[2] == b'\'' || rest.as_bytes()[1] == b'\\')
        {
            // A char literal ('a' or '\n'); lifetimes ('a) are left alone.
            let end = rest[1..].find('\'').map_or(bytes.len(), |n| i + 1 + n + 1);
            out.push_str("' '");
            i = end;
        } else {
            let c = rest.chars().next().expect("non-empty rest");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn identifiers(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, c) in code.char_indices() {
        if c.is_alphanumeric() || c == '_' {
            if current.is_empty() {
                start = i;
            }
            current.push(c);
        } else if !current.is_empty() {
            out.push((start, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// Root identifiers of paths (`root::...`) that are not preceded by `::` or `.`.
fn path_roots(code: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for (start, ident) in identifiers(code) {
        let after = &code[start + ident.len()..];
        if !after.starts_with("::") {
            continue;
        }
        let before = code[..start].trim_end();
        if before.ends_with("::") || before.ends_with('.') {
            continue;
        }
        roots.insert(ident);
    }
    roots
}

/// The source with attributes (`#[...]`, `#![...]`) removed: lint paths like `clippy::x` are
/// not imports.
fn without_attributes(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    // The first attribute of either kind (an inner one may come before any outer one).
    while let Some(start) = [rest.find("#["), rest.find("#![")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&rest[..start]);
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[start..].char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Names a file brings into scope with `use` (every identifier of its `use` statements), and
/// the roots of those statements.
fn use_statements(code: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut names = BTreeSet::new();
    let mut roots = BTreeSet::new();
    for (start, ident) in identifiers(code) {
        if ident != "use" {
            continue;
        }
        let statement = &code[start + 3..];
        let statement = &statement[..statement.find(';').unwrap_or(statement.len())];
        let idents = identifiers(statement);
        if let Some((_, root)) = idents.first() {
            roots.insert(root.clone());
        }
        names.extend(idents.into_iter().map(|(_, i)| i));
    }
    (names, roots)
}

/// Module names the crate declares (`mod x;` or `mod x {`).
fn local_modules(files: &[(PathBuf, String)]) -> BTreeSet<String> {
    let mut mods = BTreeSet::new();
    for (_, code) in files {
        let idents = identifiers(code);
        for pair in idents.windows(2) {
            if pair[0].1 == "mod" {
                mods.insert(pair[1].1.clone());
            }
        }
    }
    mods
}

fn is_builtin(ident: &str) -> bool {
    const PRIMITIVES: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char", "str", "crate", "self", "super", "Self",
    ];
    PRIMITIVES.contains(&ident) || ident.starts_with(|c: char| c.is_ascii_uppercase())
}

fn library_sources() -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    rust_files(&manifest_dir().join("src"), &mut paths);
    assert!(paths.len() > 10, "found only {} source files", paths.len());
    paths
        .into_iter()
        .map(|p| {
            let source = std::fs::read_to_string(&p).expect("read source");
            (p, code_only(&source))
        })
        .collect()
}

/// What `check_sources` finds wrong, one line per problem.
fn source_violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let locals = local_modules(files);
    let mut problems = Vec::new();
    for (path, code) in files {
        let name = path
            .strip_prefix(manifest_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let code = &without_attributes(code);
        let tls_module = name == TLS_MODULE;
        let allowed = |root: &str| {
            ALLOWED_CRATES.contains(&root) || (tls_module && TLS_CRATES.contains(&root))
        };
        let (imported, use_roots) = use_statements(code);
        for root in use_roots {
            if !(allowed(root.as_str()) || locals.contains(&root) || is_builtin(&root)) {
                problems.push(format!("{name}: `use {root}::...` is not an allow-listed crate or a module of this crate"));
            }
        }
        for root in path_roots(code) {
            let known =
                allowed(root.as_str()) || locals.contains(&root) || imported.contains(&root);
            if !(known || is_builtin(&root)) {
                problems.push(format!("{name}: path root `{root}` is not an allow-listed crate or a module of this crate"));
            }
        }
        for (_, ident) in identifiers(code) {
            let lower = ident.to_ascii_lowercase();
            let words: Vec<&str> = lower.split('_').collect();
            for forbidden in FORBIDDEN_WORDS {
                if tls_module && TLS_WORDS.contains(forbidden) {
                    continue;
                }
                let hit = if forbidden.contains('_') {
                    lower.contains(forbidden)
                } else {
                    words.contains(forbidden)
                };
                if hit {
                    problems.push(format!(
                        "{name}: identifier `{ident}` names a key, signer or store (`{forbidden}`)"
                    ));
                }
            }
        }
        for line in code.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("extern crate ") {
                let krate = rest
                    .trim_end_matches(';')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                if !ALLOWED_CRATES.contains(&krate) {
                    problems.push(format!(
                        "{name}: `extern crate {krate}` is not allow-listed"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn library_source_names_only_allow_listed_crates_and_no_key_or_store() {
    let problems = source_violations(&library_sources());
    assert!(
        problems.is_empty(),
        "forbidden imports in the host library:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_source_check_catches_a_forbidden_import() {
    let planted = vec![(
        manifest_dir().join("src/planted.rs"),
        code_only("use ring::signature::Ed25519KeyPair;\nfn f(_store: &rusqlite::Connection) {}\nmod keystore;\n"),
    )];
    let problems = source_violations(&planted);
    assert!(
        problems.iter().any(|p| p.contains("`ring`")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("`rusqlite`")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("`keystore`")),
        "{problems:?}"
    );
    // Comments and strings do not count.
    let benign = vec![(
        manifest_dir().join("src/benign.rs"),
        code_only("// use ring::x;\nconst S: &str = \"signer::x\";\n"),
    )];
    assert!(source_violations(&benign).is_empty());
}

fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("host triple")
}

/// The names of every package in `pluginhost`'s normal (and build) dependency tree.
fn dependency_tree(extra_args: &[&str]) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(manifest_dir())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(host_triple())
        .args(extra_args)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let name_of = |id: &str| -> String {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str())
            .expect("package by id")
            .to_owned()
    };
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve nodes");
    let root = packages
        .iter()
        .find(|p| p["name"] == "pluginhost")
        .and_then(|p| p["id"].as_str())
        .expect("pluginhost package");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(id) = stack.pop() {
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).expect("node");
        for dep in node["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            let pkg = dep["pkg"].as_str().expect("pkg").to_owned();
            if normal && seen.insert(pkg.clone()) {
                stack.push(pkg);
            }
        }
    }
    seen.iter().map(|id| name_of(id)).collect()
}

/// The TLS module verifies servers and nothing else: no client certificate, no custom (or
/// disabled) certificate verifier, no session resumption store.
#[test]
fn the_tls_module_only_verifies_servers() {
    let source = std::fs::read_to_string(manifest_dir().join(TLS_MODULE)).expect("TLS module");
    let code = code_only(&source);
    assert!(
        code.contains("with_no_client_auth"),
        "client auth must stay off"
    );
    assert!(
        code.contains("with_root_certificates"),
        "verify against the anchors"
    );
    for forbidden in [
        "dangerous",
        "with_client_auth_cert",
        "with_client_cert_resolver",
        "set_certificate_verifier",
        "with_custom_certificate_verifier",
        "ServerCertVerifier",
        "resumption",
        "key_log",
        "KeyLog",
    ] {
        assert!(
            !code.contains(forbidden),
            "{TLS_MODULE} uses `{forbidden}`: the host verifies servers and nothing else"
        );
    }
    // And only that module names the TLS crates.
    let others: Vec<String> = library_sources()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(TLS_MODULE))
        .flat_map(|(p, code)| {
            identifiers(&code)
                .into_iter()
                .filter(|(_, i)| TLS_WORDS.contains(&i.as_str()))
                .map(move |(_, i)| format!("{}: {i}", p.display()))
        })
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

/// The names of every package in `pluginhost`'s normal and build dependency tree with exactly
/// `features` (`cargo tree -p` resolves features for this package alone, where `cargo metadata`
/// would unify them with the workspace's other members).
fn dependency_tree_with(features: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(manifest_dir())
        .args([
            "tree",
            "-p",
            "pluginhost",
            "-e",
            "normal,build",
            "--offline",
        ])
        .args(["--no-default-features", "--features", features])
        .args(["--prefix", "none", "--format", "{p}", "--target"])
        .arg(host_triple())
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "pluginhost")
        .map(str::to_owned)
        .collect()
}

#[test]
fn library_dependency_tree_without_tls_is_exactly_the_allow_list() {
    // Without the workspace's feature unification the tree can only be smaller than the
    // metadata's; what matters is that nothing outside the allow-list, and nothing of TLS, is in.
    let tree = dependency_tree_with("std,log,cap-fs,cap-net,cap-process");
    assert!(
        tree.contains("wasmi") && tree.contains("cap-std"),
        "{tree:?}"
    );
    let allowed: BTreeSet<String> = ALLOWED_DEPENDENCIES.iter().map(|s| s.to_string()).collect();
    let added: Vec<_> = tree.difference(&allowed).collect();
    assert!(
        added.is_empty(),
        "without `tls` the host library depends on crates outside the allow-list: {added:?}"
    );
    let with_tls = dependency_tree_with("std,tls,log,cap-fs,cap-net,cap-process");
    let tls_only: BTreeSet<&str> = with_tls.difference(&tree).map(String::as_str).collect();
    let expected: BTreeSet<&str> = TLS_DEPENDENCIES.iter().copied().collect();
    assert_eq!(tls_only, expected, "what feature `tls` adds");
}

#[test]
fn library_dependency_tree_is_exactly_the_allow_list() {
    let tree = dependency_tree(&[]);
    let allowed: BTreeSet<String> = ALLOWED_DEPENDENCIES
        .iter()
        .chain(TLS_DEPENDENCIES)
        .map(|s| s.to_string())
        .collect();
    let added: Vec<_> = tree.difference(&allowed).collect();
    let removed: Vec<_> = allowed.difference(&tree).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "the host library's dependency tree changed.\n  not allow-listed: {added:?}\n  no longer present: {removed:?}\n\
         Review every added crate: the host must never depend on crypto, key-store or database crates."
    );
    for name in tree
        .iter()
        .filter(|n| !TLS_DEPENDENCIES.contains(&n.as_str()))
    {
        let lower = name.replace('-', "_");
        assert!(
            !FORBIDDEN_WORDS
                .iter()
                .any(|w| lower == *w || lower.starts_with(&format!("{w}_"))),
            "dependency `{name}` is a crypto, key-store or database crate"
        );
    }
}
