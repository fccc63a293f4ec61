//! Messages and manifest format shared by `pluginhost` and its guest plugins (guest ABI v2).
//!
//! Everything a certificate authority plugin, a deployment connector and a DNS provider exchange
//! with the host is defined here, once. Both sides encode these types with
//! [postcard](https://docs.rs/postcard): the host writes the request as the invocation's input,
//! the plugin reads it with `input_len`/`input_read`, and writes exactly one
//! [`Response<T>`](Response) (a `Result<T, PluginFailure>`) with `output_write`.
//!
//! | plugin | manifest `protocol=` | request | response |
//! |---|---|---|---|
//! | CA ([`PluginKind::Ca`]) | `issue` | [`ca::IssueRequest`] | `Response<`[`ca::IssueResponse`]`>` |
//! | ACME CA ([`PluginKind::Ca`]) | `acme` | [`acme::AcmeRequest`] | `Response<`[`acme::AcmeResponse`]`>` |
//! | file connector ([`PluginKind::Connector`]) | `deploy` | [`deploy::DeployRequest`] | `Response<`[`deploy::DeployResponse`]`>` |
//! | reload connector ([`PluginKind::Connector`]) | `reload` | [`reload::ReloadRequest`] | `Response<`[`reload::ReloadResponse`]`>` |
//! | DNS provider ([`PluginKind::DnsProvider`]) | `publish-txt` | [`dns::PublishTxtRequest`] | `Response<`[`dns::PublishTxtResponse`]`>` |
//! | DNS provider, dynamic update ([`PluginKind::DnsProvider`]) | `update-txt` | [`dns::UpdateTxtRequest`] | `Response<`[`dns::UpdateTxtResponse`]`>` |
//!
//! A plugin's kind says which family it belongs to; its manifest's optional `protocol` key
//! ([`Protocol`], ABI 2) says which message pair of that family it answers. `acme` and
//! `update-txt` were added in ABI 2.
//!
//! # Wire stability
//! postcard encodes structs as their fields in declaration order and enums by variant index, with
//! no names on the wire. The order of fields and variants in this crate is therefore part of the
//! ABI: new fields or variants are a new ABI version (new variants may be appended to an enum only
//! if every decoder can tolerate them: a plugin built for ABI 1 never sends the failure codes ABI 2
//! appended, and a host refuses a plugin whose manifest needs a newer ABI than its own). The
//! golden-byte tests in this crate pin the encoding.
//!
//! The plugin manifest ([`Manifest`]) has a text encoding instead, so a plugin can embed it at
//! compile time in the custom section named [`MANIFEST_SECTION`].

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod acme;
pub mod ca;
pub mod deploy;
pub mod dns;
pub mod failure;
pub mod manifest;
pub mod protocol;
pub mod reload;

pub use failure::{FailureCode, PluginFailure, Response};
pub use manifest::{
    Manifest, ManifestError, ManifestGrant, PluginKind, ABI_VERSION, MANIFEST_SECTION,
    MIN_ABI_VERSION,
};
pub use protocol::Protocol;

#[cfg(test)]
mod wire_tests;
