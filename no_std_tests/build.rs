//! Build script (runs on the build machine, with std):
//! - writes the `memory.x` of the target board into OUT_DIR;
//! - converts the WAT fixtures in `fixtures/` to `.wasm` in OUT_DIR (the `wat` crate needs std);
//! - copies the real plugins from `plugins/` (built for the device by `build-plugins.sh`, which
//!   `run.sh` calls) into OUT_DIR, so the firmware can `include_bytes!` them.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// mps2-an386 (Cortex-M4F): 4 MiB of SSRAM at 0 for code, 4 MiB at 0x2000_0000 for data.
const MEMORY_ARM: &str = "MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   : ORIGIN = 0x20000000, LENGTH = 4M
}
";

/// QEMU `virt` (RISC-V): DRAM at 0x8000_0000; code and data both in RAM (16 MiB of the 128).
const MEMORY_RISCV: &str = "MEMORY
{
  RAM : ORIGIN = 0x80000000, LENGTH = 16M
}
REGION_ALIAS(\"REGION_TEXT\", RAM);
REGION_ALIAS(\"REGION_RODATA\", RAM);
REGION_ALIAS(\"REGION_DATA\", RAM);
REGION_ALIAS(\"REGION_BSS\", RAM);
REGION_ALIAS(\"REGION_HEAP\", RAM);
REGION_ALIAS(\"REGION_STACK\", RAM);
";

/// The real plugins the firmware bundles (crate file names in `plugins/`).
const PLUGINS: &[&str] = &["connector_file_deploy", "dns_zonefile", "dns_rfc2136"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let target = env::var("TARGET").unwrap_or_default();

    let memory = if target.starts_with("riscv") {
        MEMORY_RISCV
    } else {
        MEMORY_ARM
    };
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");

    // WAT fixtures -> .wasm
    let fixtures = manifest.join("fixtures");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    let mut names: Vec<_> = fs::read_dir(&fixtures)
        .expect("read fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    names.sort();
    for wat_path in names {
        println!("cargo:rerun-if-changed={}", wat_path.display());
        let wasm =
            wat::parse_file(&wat_path).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
        let stem = wat_path.file_stem().expect("stem");
        fs::write(out.join(stem).with_extension("wasm"), wasm).expect("write fixture");
    }

    // Real plugins, built for the device by build-plugins.sh.
    println!("cargo:rerun-if-env-changed=PLUGINS_WASM_DIR");
    let dir = env::var_os("PLUGINS_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/plugins/wasm32-unknown-unknown/release"));
    for plugin in PLUGINS {
        let src = dir.join(format!("{plugin}.wasm"));
        println!("cargo:rerun-if-changed={}", src.display());
        copy_plugin(&src, &out.join(format!("{plugin}.wasm")));
    }
}

fn copy_plugin(src: &Path, dst: &Path) {
    if let Err(e) = fs::copy(src, dst) {
        panic!(
            "\n\nplugin {} is missing ({e}).\nBuild the plugins for the device first: \
             no_std_tests/build-plugins.sh (no_std_tests/run.sh does it), or set PLUGINS_WASM_DIR.\n",
            src.display()
        );
    }
}
