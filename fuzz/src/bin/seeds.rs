//! Regenerates `fuzz/seeds/<target>/`: the committed starting corpus.
//!
//! - `load`: every `(module ...)` raw-string WAT fixture in `tests/*.rs` that parses as it is
//!   (fixtures built with `format!` placeholders do not, and are skipped), converted with the
//!   `wat` crate, plus the bundled plugins in
//!   `plugins/target/wasm32-unknown-unknown/release/*.wasm` if they are built, plus a few with a
//!   grant byte in front (no capability, read-only, everything unrestricted).
//! - `execute`: deterministic pseudo-random inputs whose wasm-smith module loads and runs.
//! - `host_abi`: for each host function, deterministic pseudo-random inputs starting with its
//!   index (the first byte chooses the function).
//! - `path_grant`, `host_grant`: deterministic pseudo-random inputs.
//!
//! Usage: `cargo run --release --no-default-features --features tools --bin seeds` (from `fuzz/`). The total
//! stays small (a few dozen files, well under 1 MB).

use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{Host, HOST_FUNCTIONS};
use pluginhost_fuzz::{common, execute, host_abi, path_grant};

/// Largest module seed kept, in bytes.
const MAX_SEED: usize = 48 << 10;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Raw-string literals `r#"(module ... )"#` in `text`.
fn wat_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("r#\"(module") {
        let body = &rest[start + 3..];
        let Some(end) = body.find("\"#") else { break };
        out.push(body[..end].to_owned());
        rest = &body[end..];
    }
    out
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join(name), data).expect("write seed");
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.parent().expect("repo").to_path_buf();
    let seeds = fuzz.join("seeds");
    let _ = fs::remove_dir_all(&seeds);

    // load
    let dir = seeds.join("load");
    let mut tests: Vec<PathBuf> = fs::read_dir(repo.join("tests"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    tests.sort();
    let mut kept = 0;
    let mut seen = std::collections::BTreeSet::new();
    for file in tests
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let text = fs::read_to_string(file).unwrap_or_default();
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        for (i, wat) in wat_literals(&text).iter().enumerate() {
            let Ok(wasm) = wat::parse_str(wat) else {
                continue;
            };
            if wasm.len() > MAX_SEED || !seen.insert(wasm.clone()) {
                continue;
            }
            write(
                &dir,
                &format!("{}_{i}.wasm", stem.as_deref().unwrap_or("t")),
                &wasm,
            );
            kept += 1;
        }
    }
    let plugins = repo.join("plugins/target/wasm32-unknown-unknown/release");
    let mut built: Vec<PathBuf> = fs::read_dir(&plugins)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    built.sort();
    for file in built
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
    {
        let Ok(wasm) = fs::read(file) else { continue };
        if wasm.len() > MAX_SEED {
            continue;
        }
        let name = file.file_name().map(|s| s.to_string_lossy().into_owned());
        write(&dir, &format!("plugin_{}", name.unwrap_or_default()), &wasm);
        kept += 1;
        // The same module under other grants: nothing, read-only, and every capability with
        // unrestricted reads.
        if name_is(file, "hostile_exfiltrate.wasm") || name_is(file, "connector_file_deploy.wasm") {
            for g in [0x00u8, 0x11, 0x7f] {
                let mut data = vec![g];
                data.extend_from_slice(&wasm);
                write(&dir, &format!("grant{g:02x}_{}", file_name(file)), &data);
                kept += 1;
            }
        }
    }
    println!("load: {kept} seeds");

    // execute: inputs whose wasm-smith module loads (most run to completion, a few do not), and
    // script-mode inputs.
    let dir = seeds.join("execute");
    let mut rng = Rng(0x5eed_0001);
    let (mut ok, mut other, mut scripts, mut tries) = (0, 0, 0, 0);
    while (ok < 6 || other < 2 || scripts < 4) && tries < 20_000 {
        tries += 1;
        let n = 512 + (rng.next() % 3072) as usize;
        let data = rng.bytes(n);
        let mut u = Unstructured::new(&data);
        let Ok(params) = execute::Params::arbitrary(&mut u) else {
            continue;
        };
        if params.script {
            if scripts < 4 && u.len() >= 100 {
                write(&dir, &format!("script_{scripts}"), &data);
                scripts += 1;
            }
            continue;
        }
        let Ok(module) = wasm_smith::Module::new(execute::smith_config(), &mut u) else {
            continue;
        };
        let mut spec = params.grant.clone();
        if params.link_all {
            spec.caps |= 0x0f;
        }
        let (grant, _) = spec.build();
        let host = Host::new(common::small_config(100_000));
        let mut plugin = match host.load(&module.to_bytes(), grant) {
            Ok(p) => p,
            Err(e) => {
                if std::env::var_os("SEEDS_DEBUG").is_some() {
                    eprintln!("load: {e}");
                }
                continue;
            }
        };
        let completed = host.call(&mut plugin, "run", b"").is_ok();
        if completed && ok < 6 {
            write(&dir, &format!("runs_{ok}"), &data);
            ok += 1;
        } else if !completed && other < 2 {
            write(&dir, &format!("faults_{other}"), &data);
            other += 1;
        }
    }
    println!("execute: {} seeds from {tries} tries", ok + other + scripts);

    // host_abi: for each host function, two inputs whose call passes the host's checks (reaches
    // the back-end) and one refused, found by a bounded pseudo-random search (the first byte
    // chooses the function).
    let dir = seeds.join("host_abi");
    let mut rng = Rng(0x5eed_0002);
    let mut count = 0;
    for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
        let (mut passed, mut refused) = (0, 0);
        for _ in 0..30_000 {
            if passed >= 2 && refused >= 1 {
                break;
            }
            let n = 64 + (rng.next() % 400) as usize;
            let mut data = vec![i as u8];
            data.extend(rng.bytes(n));
            match host_abi::outcome(&data) {
                Some((_, true)) if passed < 2 => {
                    write(&dir, &format!("{}_pass_{passed}", f.name), &data);
                    passed += 1;
                }
                Some((_, false)) if refused < 1 => {
                    write(&dir, &format!("{}_refused", f.name), &data);
                    refused += 1;
                }
                _ => {}
            }
        }
        println!("host_abi {}: {passed} passing, {refused} refused", f.name);
        count += passed + refused;
    }
    println!("host_abi: {count} seeds");

    // path_grant: up to two inputs per disk outcome (operation and result), plus random ones.
    let dir = seeds.join("path_grant");
    let mut rng = Rng(0x5eed_0003);
    let mut kept: std::collections::BTreeMap<String, usize> = Default::default();
    for _ in 0..20_000 {
        let n = 16 + (rng.next() % 200) as usize;
        let data = rng.bytes(n);
        if let Some(label) = path_grant::outcome(&data) {
            let k = kept.entry(label.clone()).or_insert(0);
            if *k < 2 {
                write(&dir, &format!("{}_{k}", label.replace(' ', "_")), &data);
                *k += 1;
            }
        }
    }
    for k in 0..4 {
        write(&dir, &format!("random_{k}"), &rng.bytes(16 + 48 * k));
    }
    println!("path_grant: {kept:?}");

    let dir = seeds.join("host_grant");
    let mut rng = Rng(0x5eed_0004);
    for k in 0..8 {
        write(&dir, &format!("random_{k}"), &rng.bytes(16 + 48 * k));
    }
    println!("host_grant: 8 seeds");
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn name_is(p: &Path, name: &str) -> bool {
    file_name(p) == name
}
