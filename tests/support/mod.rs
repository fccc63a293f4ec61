//! Shared support of the integration tests, one concept a file.
//!
//! Every test file is its own crate and includes this module with `mod support;` (the
//! containment suite with `#[path = "../support/mod.rs"]`). Each crate uses a subset of it, so
//! the include carries `#[allow(dead_code)]`.
//!
//! * [`abi`]: the guest ABI's error codes and argument encoding, spelled out independently;
//! * [`acme`]: driving the `ca-acme` plugin through an order as a host does;
//! * [`csr`]: a device key and a certificate signing request for a CA plugin;
//! * [`wat`]: compiling WAT, writing bytes and imports into it, a benign echo plugin;
//! * [`fixture`]: plugins that make a fixed sequence of host calls and report each result;
//! * [`modules`]: hand-encoded modules too large to write as WAT;
//! * [`hosts`]: host configurations, hosts over one back-end, grants from specs;
//! * [`backends`]: test back-ends (a recording filesystem, an echoing service);
//! * [`fifo_race`]: a FIFO swapped onto a file while a plugin reads and writes it;
//! * [`checks`]: assertions about a plugin's counters and a host's health;
//! * [`alloc`]: a counting global allocator, which a crate installs explicitly, and
//!   [`measure`]: what one piece of work allocated on its thread, counted by it.

pub mod abi;
pub mod acme;
pub mod alloc;
pub mod backends;
pub mod checks;
pub mod csr;
pub mod fifo_race;
pub mod fixture;
pub mod hosts;
pub mod measure;
pub mod modules;
pub mod wat;
