//! Builds the `plugins/` workspace for `wasm32-unknown-unknown` and copies each module into
//! `OUT_DIR`, where `src/lib.rs` embeds it with `include_bytes!`.
//!
//! * Target directory: `<target-dir>/plugins` of the outer build (shared by its profiles, so a
//!   debug and a release build of the host reuse one plugin build), or
//!   `PLUGINHOST_BUNDLED_TARGET_DIR`; never `plugins/target`, which people use by hand.
//! * Environment: the nested cargo gets none of the outer build's settings (`RUSTFLAGS`, its
//!   encoded form, wrappers such as clippy's, `CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET`,
//!   profile overrides, the build-script variables); it keeps `CARGO_HOME`, `RUSTUP_*`, network
//!   and registry settings, and uses the same `cargo` and `rustc` as the outer build.
//! * `--locked --release`: `plugins/Cargo.lock` must be up to date.
//! * The target's standard library is installed with `rustup target add` when missing.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-unknown-unknown";
const TARGET_DIR_VAR: &str = "PLUGINHOST_BUNDLED_TARGET_DIR";

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let repo = manifest_dir
        .parent()
        .expect("bundled/ lies inside the repository")
        .to_path_buf();
    let plugins = repo.join("plugins");
    let out_dir = PathBuf::from(env_var("OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={TARGET_DIR_VAR}");
    for dir in ["plugins", "sdk", "proto"] {
        watch(&repo.join(dir)).unwrap_or_else(|e| panic!("cannot list {dir}/: {e}"));
    }

    let modules = module_names(&plugins);
    println!(
        "cargo:rustc-env=PLUGINHOST_BUNDLED_MODULES={}",
        modules.join(",")
    );

    let target_dir = env::var_os(TARGET_DIR_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_target_dir(&out_dir));
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    ensure_target_installed(&rustc);

    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command
        .current_dir(&plugins)
        .args(["build", "--locked", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    clean_environment(&mut command);
    command.env("RUSTC", &rustc);
    // Cargo reads `cargo:` directives from a build script's stdout: keep the nested build's
    // output on stderr, where it is shown only if this script fails (or with `-vv`).
    command
        .stdout(Stdio::from(io::stderr()))
        .stderr(Stdio::inherit());
    eprintln!(
        "building plugins: {:?} (target dir {})",
        command,
        target_dir.display()
    );
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&cargo).display()));
    if !status.success() {
        panic!(
            "building the plugins workspace failed ({status}); see the output above. \
             If the message is about Cargo.lock, run `cargo update --workspace` in plugins/ \
             and commit plugins/Cargo.lock."
        );
    }

    let built = target_dir.join(TARGET).join("release");
    for module in &modules {
        let from = built.join(module);
        let to = out_dir.join(module);
        fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
    }
}

fn env_var(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| panic!("{name} is not set (not run by cargo?)"))
}

/// Emits `rerun-if-changed` for every file under `dir`, skipping `target` directories and hidden
/// entries (a directory itself would be scanned whole, `target/` included).
fn watch(dir: &Path) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            watch(&path)?;
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Ok(())
}

/// `<crate_name>.wasm` of every member of `plugins/Cargo.toml`, in member order.
fn module_names(plugins: &Path) -> Vec<String> {
    let workspace = read(&plugins.join("Cargo.toml"));
    let members = workspace
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("plugins/Cargo.toml has a `members = [...]` list");
    let mut modules = Vec::new();
    for member in members.split(',') {
        let member = member.trim().trim_matches('"');
        if member.is_empty() || member.starts_with('#') {
            continue;
        }
        let manifest = read(&plugins.join(member).join("Cargo.toml"));
        let name = manifest
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("plugins/{member}/Cargo.toml has no package name"));
        modules.push(format!("{}.wasm", name.replace('-', "_")));
    }
    assert!(!modules.is_empty(), "plugins/Cargo.toml lists no members");
    modules
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `<target-dir>/plugins` when `out_dir` has cargo's usual shape
/// (`<target-dir>[/<triple>]/<profile>/build/<package>-<hash>/out`), else `out_dir/plugins`.
fn shared_target_dir(out_dir: &Path) -> PathBuf {
    let mut up = out_dir.ancestors();
    let build = up.nth(2);
    let base = up.nth(1);
    match (build, base) {
        (Some(build), Some(base)) if build.file_name().is_some_and(|n| n == "build") => {
            base.join("plugins")
        }
        _ => out_dir.join("plugins"),
    }
}

/// Installs the target's standard library into the toolchain of `rustc` if it is missing.
fn ensure_target_installed(rustc: &OsString) {
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let installed = |dir: &Option<PathBuf>| {
        dir.as_ref()
            .and_then(|d| fs::read_dir(d).ok())
            .is_some_and(|mut entries| {
                entries.any(|e| {
                    e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
                })
            })
    };
    if installed(&libdir) {
        return;
    }
    // The toolchain: as rustup was asked for it, or the name of rustc's sysroot directory
    // (`~/.rustup/toolchains/<name>`).
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok().or_else(|| {
        let out = Command::new(rustc)
            .args(["--print", "sysroot"])
            .output()
            .ok()?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let name = sysroot.file_name()?.to_string_lossy().into_owned();
        let parent = sysroot
            .parent()?
            .file_name()?
            .to_string_lossy()
            .into_owned();
        (parent == "toolchains").then_some(name)
    });
    let mut command = Command::new("rustup");
    command.args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        command.args(["--toolchain", toolchain]);
    }
    command.stdout(Stdio::from(io::stderr()));
    eprintln!("installing the {TARGET} standard library: {command:?}");
    let hint = match &toolchain {
        Some(toolchain) => format!("rustup target add {TARGET} --toolchain {toolchain}"),
        None => format!("rustup target add {TARGET}"),
    };
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            panic!("the {TARGET} standard library is not installed and `{hint}` failed ({status})")
        }
        Err(e) => panic!(
            "the {TARGET} standard library is not installed and rustup could not be run ({e}); \
             install the target's standard library for this toolchain (`{hint}`)"
        ),
    }
    if !installed(&libdir) && libdir.is_some() {
        panic!("`rustup target add {TARGET}` ran, yet {TARGET} has no libcore in {libdir:?}");
    }
}

/// Removes what the outer build would leak into the nested one. Keeps `CARGO_HOME`,
/// `RUSTUP_*`, and cargo's network, HTTP and registry settings.
fn clean_environment(command: &mut Command) {
    const EXACT: &[&str] = &[
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "MAKEFLAGS",
        "MFLAGS",
        TARGET_DIR_VAR,
    ];
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
    ];
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let leaked = EXACT.contains(&name.as_str())
            || name.starts_with("__CARGO")
            || name.starts_with("DEP_")
            || (name.starts_with("CARGO_") && !KEEP_PREFIXES.iter().any(|k| name.starts_with(k)));
        if leaked {
            command.env_remove(&name);
        }
    }
}
