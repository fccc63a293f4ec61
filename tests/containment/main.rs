//! The containment suite: every case of the hostile-plugin catalogue
//! (`../shared/hostile-catalogue.md` from the repository root, 32 cases) and this suite's own
//! cases 33-35 (hard links, FIFOs, blocking time) run end to end against the real back-ends.
//!
//! Each case builds a [`harness::Sandbox`] (a temporary directory mapped as guest `/` with a
//! secret outside it, outward symlinks and a hard link to it inside the grant, two counting
//! loopback listeners, a `CommandRunner` refusing the root, a bystander plugin on the same
//! host), runs its own hostile
//! WAT fixture doing exactly the attack, asserts the typed outcome and the counters, and then
//! [`harness::Sandbox::verify`] proves containment: the tree outside the grant is unchanged, the
//! secret appears in no output, no connection or process happened beyond the expected ones, the
//! bystander and the host still work, and host memory stayed under the case's stated bound
//! (counted by this binary's global allocator, [`support::alloc::Counting`]).
//!
//! `README.md` in this folder lists the cases and what each asserts; `selftest.rs` checks that
//! every containment check of the harness fails when containment is broken by hand.

#![cfg(all(
    unix,
    feature = "std",
    feature = "cap-fs",
    feature = "cap-net",
    feature = "cap-process"
))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
#[path = "../support/mod.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

mod harness;

mod exhaustion;
mod fs_grants;
mod fuel;
mod imports;
mod net_process;
mod pointers;
mod selftest;
