//! Guest-side SDK for `pluginhost` plugins (guest ABI v2; plugins that use only ABI v1's calls
//! still declare `abi=1` and run on every host).
//!
//! A plugin is a `cdylib` for `wasm32-unknown-unknown` that imports host functions from the
//! module `"pluginhost"` and exports `memory` and `run: () -> i32`. This crate wraps the imports
//! in safe functions, defines the plugin's entry point ([`entry!`]) and its embedded manifest
//! ([`manifest!`]), and (with the default `rt` feature, on wasm32 only) supplies a global
//! allocator and a `#[panic_handler]` that traps.
//!
//! ```ignore
//! #![cfg_attr(target_arch = "wasm32", no_std)]
//! #![forbid(unsafe_code)]
//!
//! use pluginhost_sdk::proto::deploy::{DeployRequest, DeployResponse};
//! use pluginhost_sdk::proto::{FailureCode, PluginFailure};
//!
//! pluginhost_sdk::manifest! {
//!     abi: 2,              // the `protocol` key is ABI 2
//!     name: "connector-example",
//!     version: env!("CARGO_PKG_VERSION"),
//!     kind: connector,
//!     protocol: deploy,    // answers deploy::DeployRequest
//!     grants: ["fs.write" => "/certs"],
//! }
//! pluginhost_sdk::entry!(handler);
//!
//! fn handler() -> Result<(), pluginhost_sdk::Error> {
//!     pluginhost_sdk::serve(deploy)
//! }
//!
//! fn deploy(request: DeployRequest) -> Result<DeployResponse, PluginFailure> {
//!     // Write the certificate with `pluginhost_sdk::fs::write`, then answer.
//!     let _ = request;
//!     Err(PluginFailure::new(FailureCode::Internal, "not written yet"))
//! }
//! ```
//!
//! # Safety
//! `unsafe` code is in two private places: the `sys` module, which declares the imports and calls
//! them with pointers taken from live Rust slices, and the allocator's source of memory in `rt`
//! (wasm32 only), which hands talc the unused rest of the initial memory and grown pages.
//! Everything else is safe and `deny(unsafe_code)`.
//!
//! # Off wasm32
//! On any other target the crate still builds (so plugins can unit-test their pure logic with
//! `cargo test`), but there is no host: every host call fails with `Error::Unknown(-99)`.

#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod error;
pub mod fs;
mod io;
pub mod log;
mod macros;
pub mod net;
pub mod process;
pub mod random;
mod rt;
mod sys;
pub mod text;
pub mod time;

pub use error::Error;
pub use io::{
    decode, encode, input, input_message, output, output_message, serve, try_input, MAX_INPUT_BYTES,
};
pub use pluginhost_proto as proto;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use alloc::format;
    pub use alloc::string::String;

    use crate::Error;

    // The `manifest!` macro accepts `abi:` up to the version the proto crate describes.
    const _: () = assert!(pluginhost_proto::ABI_VERSION == 2);

    /// The body of the exported `run`: 0 on `Ok`, the error's (non-zero) exit code on `Err`.
    pub fn run<F: FnOnce() -> Result<(), Error>>(handler: F) -> i32 {
        match handler() {
            Ok(()) => 0,
            Err(error) => error.exit_code(),
        }
    }

    /// Fails the build (at compile time, in a `const`) if `text` is not a valid manifest.
    pub const fn assert_manifest(text: &str) {
        if let Err(error) = pluginhost_proto::manifest::validate(text) {
            panic!("{}", error.as_str());
        }
    }

    /// The bytes of `text` as an array, for the `#[link_section]` static.
    pub const fn manifest_bytes<const N: usize>(text: &str) -> [u8; N] {
        let bytes = text.as_bytes();
        assert!(bytes.len() == N, "manifest length mismatch");
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = bytes[i];
            i += 1;
        }
        out
    }
}
