//! A `no_std`-capable WebAssembly plugin host that runs untrusted plugins under deny-by-default
//! capability grants.
//!
//! Each plugin gets its own [wasmi] engine and store, a fuel budget per invocation, and a linker
//! built from one static table of host functions restricted to its [`Grant`]. An import that was
//! not granted makes loading fail; every gated call checks the grant again and counts denials.
//! Privileged work goes through embedder-supplied [back-ends](Backends); the host itself holds no
//! file, socket, key or store.
//!
//! ```
//! use pluginhost::{Capability, Grant, Host, HostConfig};
//!
//! let wasm = wat::parse_str(r#"(module
//!     (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "hello")
//!     (func (export "run") (result i32) (drop (call $out (i32.const 0) (i32.const 5))) (i32.const 0)))"#)?;
//! let host = Host::new(HostConfig::default());
//! let grant = Grant::new(&[Capability::FsWrite]).with_path_prefix(Capability::FsWrite, "/data")?;
//! let mut plugin = host.load(&wasm, grant)?;
//! let output = host.invoke(&mut plugin, "run", b"")?;
//! assert_eq!(output, b"hello");
//! assert_eq!(plugin.stats().invocations, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`DirFilesystem`], [`TcpNetwork`], [`CommandRunner`], [`OsEntropy`], [`SystemClock`], [`InstantClock`]; `Send + Sync` use from threads works without it too |
//! | `tls` | yes | verified client TLS in [`TcpNetwork`] for `net_dial_tls` (rustls with `ring`; implies `std`; needs a C compiler) |
//! | `log` | yes | host and guest log lines go to the [`log`](https://docs.rs/log) crate |
//! | `defmt` | no | host and guest log lines go to `defmt` (firmware); cannot be combined with `log` |
//! | `report` | yes | reports for people: [`inspect`] (a module's imports, exports, custom sections and manifest, without running it) and [`ConformanceReport::findings`]; the gate runs the same checks without it (a device build leaves it out: docs/footprint.md) |
//! | `cap-fs` | yes | the `fs_*` host functions (`fs.read`, `fs.write`) |
//! | `cap-net` | yes | the `net_*` host functions (`net.dial`) |
//! | `cap-process` | yes | the `process_exec` host function (`process.exec`) |
//! | `transient` | yes | `Residency::Transient`: a plugin holds nothing of wasmi's between invocations and loads its module again for each (about 1.3 KiB of flash on a device: docs/footprint.md) |
//! | `compact-code` | no | wasmi's compact encoding of translated code (its `indirect-dispatch`): about a third less RAM per plugin's translated functions on a Cortex-M4, for some execution speed (docs/footprint.md, docs/performance.md) |
//!
//! Without a `cap-*` feature its host functions are not in the capability table, so their code is
//! not in the image and a plugin importing them fails to load with [`LoadError::UnknownImport`].
//!
//! [wasmi]: https://docs.rs/wasmi

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Flash on a device (docs/footprint.md): `String::push(char)` links a UTF-8 encoder and
// `<[u8]>::contains(&byte)` links `memchr`; the host appends ASCII as `&str` and scans short
// inputs byte by byte instead.
#![allow(clippy::single_char_add_str, clippy::manual_contains)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[macro_use]
mod macros;

mod abi;
mod backend;
mod capability;
mod conformance;
mod grant;
#[cfg(feature = "report")]
mod inspect;
mod manifest;
mod runtime;
mod stack_probe;

pub use abi::{ErrorCode, HostFunction, ABI_MODULE, ABI_VERSION, ENTRY_SIGNATURE, HOST_FUNCTIONS};
#[cfg(feature = "tls")]
pub use backend::TlsRootsError;
pub use backend::{
    BackendError, Backends, Connection, EntropySource, Filesystem, MemoryFilesystem, MemoryNetwork,
    MemoryProcessRunner, MemoryService, MonotonicClock, Network, ProcessOutput, ProcessRunner,
    Unavailable, WallClock,
};
#[cfg(feature = "std")]
pub use backend::{
    CommandRunner, DirFilesystem, InstantClock, OsEntropy, Pin, PinError, SystemClock, TcpNetwork,
};
pub use capability::{Capability, CapabilitySet, UnknownCapability};
pub use conformance::{Attempt, Check, ConformanceReport, LimitHit, Resources};
pub use grant::{
    DialTarget, Grant, GrantError, GuestPath, HostError, HostName, HostPattern, PathError,
    MAX_GRANT_ENTRIES, MAX_HOST_BYTES, MAX_LABEL_BYTES, MAX_PATH_BYTES,
};
#[cfg(feature = "report")]
pub use inspect::{inspect, CustomSectionInfo, ExportInfo, ImportInfo, ModuleInfo};
pub use manifest::GrantExcess;
pub use pluginhost_proto as proto;
pub use runtime::{
    engine_config, Call, CallCounts, Completion, Denial, DenialLog, DeniedTarget, GuestLogs, Host,
    HostCallCosts, HostConfig, HostStats, InvokeError, Limits, LoadError, LogLevel, LogLine,
    LogLines, Plugin, PluginStats, Residency, Step, Translation, Trap, UnknownLogLevel, Usage,
    DENIED_TARGETS, DENIED_TARGET_BYTES, RETRANSLATION_FUEL_PER_BYTE,
};
pub use stack_probe::{
    probe_native_stack, ClassDepth, OpClass, StackProbeError, StackProbeReport, PROBE_MODULE,
};

/// The custom section in which a plugin declares its manifest.
pub const MANIFEST_SECTION: &str = "pluginhost.manifest";
