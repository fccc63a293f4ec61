//! A FIFO swapped onto a file while a plugin reads and writes it: a renamer thread, the plugin,
//! and the tally of the plugin's results.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use super::abi::{IO, NOT_FOUND};
use super::wat::{wasm, wat_bytes};

/// How many `fs_read` + `fs_write` rounds one invocation of [`racing_plugin`] makes.
pub const RACE_ROUNDS: u32 = 2_000;

/// Makes a FIFO at `path` (with the system's `mkfifo`: the tests stay free of `unsafe`).
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Reads (64-byte buffer) and writes (21 bytes) the guest path `path` [`RACE_ROUNDS`] times,
/// counting the results of each by class, and outputs the counts: 8 little-endian `u32`s, for
/// `fs_read` then `fs_write`: successes, `NOT_FOUND`, `IO`, anything else.
pub fn racing_plugin(path: &str) -> Vec<u8> {
    let (path_bytes, path_len) = (wat_bytes(path.as_bytes()), path.len());
    assert!(path_len <= 200);
    wasm(&format!(
        r#"(module
  (import "pluginhost" "fs_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "fs_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{path_bytes}")
  (data (i32.const 224) "written by the plugin")
  (func $count (param $base i32) (param $r i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $base) (i32.shl
      (if (result i32) (i32.ge_s (local.get $r) (i32.const 0)) (then (i32.const 0))
        (else (if (result i32) (i32.eq (local.get $r) (i32.const {NOT_FOUND})) (then (i32.const 1))
          (else (if (result i32) (i32.eq (local.get $r) (i32.const {IO}))
            (then (i32.const 2)) (else (i32.const 3)))))))
      (i32.const 2))))
    (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1))))
  (func (export "run") (result i32)
    (local $i i32)
    (i64.store (i32.const 256) (i64.const 0))
    (i64.store (i32.const 264) (i64.const 0))
    (i64.store (i32.const 272) (i64.const 0))
    (i64.store (i32.const 280) (i64.const 0))
    (loop $round
      (call $count (i32.const 256)
        (call $read (i32.const 0) (i32.const {path_len}) (i32.const 512) (i32.const 64)))
      (call $count (i32.const 272)
        (call $write (i32.const 0) (i32.const {path_len}) (i32.const 224) (i32.const 21)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $i) (i32.const {RACE_ROUNDS}))))
    (drop (call $out (i32.const 256) (i32.const 32)))
    (i32.const 0)))"#
    ))
}

/// The results of [`racing_plugin`]'s calls, summed over invocations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaceTally {
    /// `fs_read`: successes, `NOT_FOUND`, `IO`, anything else.
    pub read: [u64; 4],
    /// `fs_write`: successes, `NOT_FOUND`, `IO`, anything else.
    pub write: [u64; 4],
}

impl RaceTally {
    /// Adds one invocation's output.
    pub fn add(&mut self, output: &[u8]) {
        assert_eq!(output.len(), 32, "racing plugin output");
        let counts = self.read.iter_mut().chain(self.write.iter_mut());
        for (total, count) in counts.zip(output.chunks_exact(4)) {
            *total += u64::from(u32::from_le_bytes(count.try_into().expect("4 bytes")));
        }
    }

    /// Checks that `invocations` runs each made every call, that every result was a success,
    /// `NOT_FOUND` or `IO`, and that the FIFO was met at least once (an `IO`).
    #[track_caller]
    pub fn assert_every_call_returned(&self, invocations: u64) {
        let rounds = invocations * u64::from(RACE_ROUNDS);
        assert_eq!(self.read.iter().sum::<u64>(), rounds, "{self:?}");
        assert_eq!(self.write.iter().sum::<u64>(), rounds, "{self:?}");
        assert_eq!((self.read[3], self.write[3]), (0, 0), "{self:?}");
        assert!(
            self.read[2] + self.write[2] > 0,
            "the FIFO was never met (no IO result): {self:?}"
        );
    }
}

/// A thread that keeps swapping a FIFO and a regular file at `target` (parking each beside it
/// as `<target>.fifo` and `<target>.file` in turn) until stopped.
pub struct Renamer {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Renamer {
    /// Makes a regular file at `target` and a FIFO beside it, and starts swapping them.
    pub fn start(target: &Path) -> Renamer {
        let parked = |suffix: &str| -> PathBuf {
            let mut name = target.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let (fifo_parked, file_parked) = (parked(".fifo"), parked(".file"));
        fs::write(target, "regular").expect("target");
        mkfifo(&fifo_parked);
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
            let target = target.to_path_buf();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // The FIFO takes the target's place, then the regular file takes it back.
                    // Any step may fail while the plugin has just created a new file: go on.
                    let _ = fs::rename(&target, &file_parked);
                    let _ = fs::rename(&fifo_parked, &target);
                    let _ = fs::rename(&target, &fifo_parked);
                    let _ = fs::rename(&file_parked, &target);
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Renamer {
            stop,
            swaps,
            thread: Some(thread),
        }
    }

    /// Stops the thread and returns how many swaps it made.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("renamer");
        }
        self.swaps.load(Ordering::Relaxed)
    }
}

impl Drop for Renamer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
