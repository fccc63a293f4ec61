//! Real third-party servers on loopback for pluginhost's tests and the edge-agent demo.
//!
//! Each server (pebble, knotd, nginx) is started from its Debian package's program, on free
//! ports, with its configuration in a temporary directory, and stopped by the pid this process
//! started. [`program`] finds a server's program; under CI (`CI=true`) a missing program fails
//! instead of skipping.

#![forbid(unsafe_code)]

mod pebble;
mod process;
mod tls;

pub use pebble::{ChallengeServer, Pebble, PebbleOptions};
pub use process::{free_port, in_ci, program, wait_for_port, Server};
pub use tls::{Leaf, TestCa};
