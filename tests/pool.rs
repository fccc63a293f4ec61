//! The bulkhead: at most `HostConfig::max_concurrent` invocations run at once across a host; the
//! rest are rejected with `InvokeError::Busy` at once, never queued.
//!
//! "At most K at once" is checked deterministically, not by timing: admitted plugins call
//! `fs_read` on a back-end that blocks until the test releases it, and the test releases it only
//! after every other thread has come back with `Busy`. A thread that waited for a slot instead of
//! being rejected would never come back, and the test would fail on its deadline.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use pluginhost::{
    BackendError, Backends, Capability, Filesystem, Grant, GuestPath, Host, HostConfig,
    InvokeError, Plugin,
};
use support::wat::wasm;

/// How long any wait in these tests may take before the test fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

const fn assert_send_sync<T: Send + Sync>() {}
const fn assert_send<T: Send>() {}
const _: () = assert_send_sync::<Host>();
const _: () = assert_send::<Plugin>();
const _: () = assert_send_sync::<HostConfig>();

#[derive(Default)]
struct GateState {
    running: usize,
    max_running: usize,
    entered: usize,
    released: bool,
}

/// A filesystem whose `read` blocks until released, recording how many reads run at once.
#[derive(Default)]
struct GateFs {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl GateFs {
    fn released() -> GateFs {
        let gate = GateFs::default();
        gate.state.lock().unwrap().released = true;
        gate
    }

    fn release(&self) {
        self.state.lock().unwrap().released = true;
        self.changed.notify_all();
    }

    fn is_released(&self) -> bool {
        self.state.lock().unwrap().released
    }

    fn wait_for_entered(&self, n: usize) {
        let state = self.state.lock().unwrap();
        let (state, timeout) = self
            .changed
            .wait_timeout_while(state, DEADLINE, |s| s.entered < n)
            .unwrap();
        assert!(!timeout.timed_out(), "only {} reads started", state.entered);
    }

    fn snapshot(&self) -> (usize, usize, usize) {
        let s = self.state.lock().unwrap();
        (s.running, s.max_running, s.entered)
    }
}

impl Filesystem for GateFs {
    fn read(&self, _: &GuestPath, _: &GuestPath, dst: &mut [u8]) -> Result<u64, BackendError> {
        let mut state = self.state.lock().unwrap();
        state.running += 1;
        state.entered += 1;
        state.max_running = state.max_running.max(state.running);
        self.changed.notify_all();
        let (mut state, timeout) = self
            .changed
            .wait_timeout_while(state, DEADLINE, |s| !s.released)
            .unwrap();
        state.running -= 1;
        self.changed.notify_all();
        if timeout.timed_out() {
            return Err(BackendError::TimedOut);
        }
        let data = b"payload";
        let n = data.len().min(dst.len());
        dst[..n].copy_from_slice(&data[..n]);
        Ok(data.len() as u64)
    }
    fn size(&self, _: &GuestPath, _: &GuestPath) -> Result<u64, BackendError> {
        Err(BackendError::Unsupported)
    }
    fn write(&self, _: &GuestPath, _: &GuestPath, _: &[u8]) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
    fn rename(
        &self,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
    ) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
}

/// Reads `/data/f` through the (blocking) back-end and writes `<input byte>:<file>`.
const READER: &str = r#"(module
    (import "pluginhost" "input_read" (func $input (param i32 i32) (result i32)))
    (import "pluginhost" "fs_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "/data/f")
    (func (export "run") (result i32)
        (local $n i32)
        (drop (call $input (i32.const 100) (i32.const 1)))
        (i32.store8 (i32.const 101) (i32.const 58))
        (local.set $n (call $read (i32.const 0) (i32.const 7) (i32.const 102) (i32.const 64)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
        (drop (call $out (i32.const 100) (i32.add (i32.const 2) (local.get $n))))
        (i32.const 0)))"#;

fn gated_host(slots: usize, gate: Arc<GateFs>) -> Arc<Host> {
    let backends = Backends::unavailable().with_filesystem(gate);
    Arc::new(Host::with_backends(
        HostConfig::default().with_max_concurrent(slots),
        backends,
    ))
}

fn reader_grant() -> Grant {
    Grant::none()
        .with_path_prefix(Capability::FsRead, "/data")
        .unwrap()
}

fn expected_output(id: u8) -> Vec<u8> {
    let mut out = vec![id, b':'];
    out.extend_from_slice(b"payload");
    out
}

struct Outcome {
    id: u8,
    result: Result<Vec<u8>, InvokeError>,
    /// Whether the gate had been released when `invoke` returned.
    returned_after_release: bool,
    /// Invocations the plugin counted.
    invocations: u64,
}

#[test]
fn at_most_k_run_at_once_and_the_rest_are_busy_immediately() {
    const THREADS: usize = 16;
    const SLOTS: usize = 3;
    let gate = Arc::new(GateFs::default());
    let host = gated_host(SLOTS, Arc::clone(&gate));
    let module = Arc::new(wasm(READER));
    let barrier = Arc::new(Barrier::new(THREADS));
    let (results, outcomes) = mpsc::channel::<Outcome>();

    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (host, gate, module, barrier, results) = (
                Arc::clone(&host),
                Arc::clone(&gate),
                Arc::clone(&module),
                Arc::clone(&barrier),
                results.clone(),
            );
            std::thread::spawn(move || {
                let id = b'a' + u8::try_from(i).unwrap();
                let mut plugin = host.load(&module, reader_grant()).unwrap();
                barrier.wait();
                let result = host.invoke(&mut plugin, "run", &[id]);
                let returned_after_release = gate.is_released();
                let invocations = plugin.stats().invocations;
                results
                    .send(Outcome {
                        id,
                        result,
                        returned_after_release,
                        invocations,
                    })
                    .unwrap();
            })
        })
        .collect();
    drop(results);

    // Everyone not admitted must come back while the admitted K are still blocked.
    let mut busy = Vec::new();
    let start = Instant::now();
    while busy.len() < THREADS - SLOTS {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let outcome = outcomes
            .recv_timeout(left)
            .expect("a rejected invocation waited instead of returning Busy");
        assert_eq!(
            outcome.result,
            Err(InvokeError::Busy),
            "only Busy can return before the release"
        );
        assert!(!outcome.returned_after_release);
        assert_eq!(outcome.invocations, 0, "nothing ran for a Busy invocation");
        busy.push(outcome.id);
    }
    gate.wait_for_entered(SLOTS);
    let (running, max_running, entered) = gate.snapshot();
    assert_eq!(
        (running, entered),
        (SLOTS, SLOTS),
        "exactly K are in the back-end"
    );
    assert!(max_running <= SLOTS);
    let stats = host.stats();
    assert_eq!(stats.in_flight, SLOTS);
    assert_eq!(stats.rejected_busy, THREADS - SLOTS);

    gate.release();
    let mut done = Vec::new();
    for outcome in outcomes.iter() {
        assert!(outcome.returned_after_release);
        assert_eq!(
            outcome.result,
            Ok(expected_output(outcome.id)),
            "thread {}",
            outcome.id
        );
        assert_eq!(outcome.invocations, 1);
        done.push(outcome.id);
    }
    for thread in threads {
        thread.join().unwrap();
    }

    // No lost or duplicated results: every thread is either done or busy, once.
    assert_eq!(done.len(), SLOTS);
    let mut all: Vec<u8> = busy.iter().chain(&done).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..THREADS).map(|i| b'a' + i as u8).collect::<Vec<_>>()
    );

    let (running, max_running, _) = gate.snapshot();
    assert_eq!(running, 0);
    assert_eq!(max_running, SLOTS);
    let stats = host.stats();
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.peak_in_flight, SLOTS);
    assert_eq!(stats.rejected_busy, busy.len());
}

#[test]
fn with_retries_every_thread_finishes_and_the_cap_still_holds() {
    const THREADS: usize = 16;
    const SLOTS: usize = 3;
    const ROUNDS: usize = 5;
    let gate = Arc::new(GateFs::released());
    let host = gated_host(SLOTS, Arc::clone(&gate));
    let module = Arc::new(wasm(READER));
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (host, module, barrier) =
                (Arc::clone(&host), Arc::clone(&module), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let id = b'a' + u8::try_from(i).unwrap();
                let mut plugin = host.load(&module, reader_grant()).unwrap();
                barrier.wait();
                let mut busy = 0usize;
                let start = Instant::now();
                for _ in 0..ROUNDS {
                    loop {
                        match host.invoke(&mut plugin, "run", &[id]) {
                            Ok(output) => {
                                assert_eq!(output, expected_output(id));
                                break;
                            }
                            Err(InvokeError::Busy) => {
                                busy += 1;
                                assert!(start.elapsed() < DEADLINE);
                                std::thread::yield_now();
                            }
                            Err(other) => panic!("thread {id}: {other:?}"),
                        }
                    }
                }
                assert_eq!(plugin.stats().completed, ROUNDS as u64);
                busy
            })
        })
        .collect();
    let busy: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let stats = host.stats();
    assert_eq!(stats.in_flight, 0);
    assert!(stats.peak_in_flight <= SLOTS && stats.peak_in_flight >= 1);
    assert_eq!(stats.rejected_busy, busy);
    let (running, max_running, entered) = gate.snapshot();
    assert_eq!(running, 0);
    assert!(max_running <= SLOTS, "{max_running} reads ran at once");
    assert_eq!(entered, THREADS * ROUNDS);
}

#[test]
fn busy_does_not_touch_the_plugin_and_a_freed_slot_is_reusable() {
    let gate = Arc::new(GateFs::released());
    let host = gated_host(1, gate);
    let mut a = host.load(&wasm(READER), reader_grant()).unwrap();
    let mut b = host.load(&wasm(READER), reader_grant()).unwrap();
    let call = host.start(&mut a, "run", b"a").unwrap();
    for _ in 0..3 {
        assert_eq!(host.invoke(&mut b, "run", b"b"), Err(InvokeError::Busy));
        assert_eq!(
            host.start(&mut b, "run", b"b").err(),
            Some(InvokeError::Busy)
        );
    }
    assert_eq!(InvokeError::Busy.kind(), "busy");
    let stats = b.stats();
    assert_eq!((stats.invocations, stats.rebuilds), (0, 0));
    assert!(b.is_live());
    assert_eq!(call.finish().unwrap().output, expected_output(b'a'));
    assert_eq!(host.invoke(&mut b, "run", b"b"), Ok(expected_output(b'b')));
    let stats = host.stats();
    assert_eq!(
        (stats.in_flight, stats.peak_in_flight, stats.rejected_busy),
        (0, 1, 6)
    );
}

#[test]
fn a_rejected_or_failed_start_gives_its_slot_back() {
    let host = gated_host(1, Arc::new(GateFs::released()));
    let mut plugin = host.load(&wasm(READER), reader_grant()).unwrap();
    let too_big = vec![0; host.config().limits.input_bytes + 1];
    assert!(matches!(
        host.invoke(&mut plugin, "run", &too_big),
        Err(InvokeError::InputTooLarge { .. })
    ));
    assert!(matches!(
        host.invoke(&mut plugin, "nope", b""),
        Err(InvokeError::NoEntry { .. })
    ));
    assert_eq!(host.stats().in_flight, 0);
    assert_eq!(
        host.invoke(&mut plugin, "run", b"x"),
        Ok(expected_output(b'x'))
    );
}

#[test]
fn a_pool_of_zero_rejects_everything() {
    let host = gated_host(0, Arc::new(GateFs::released()));
    let mut plugin = host.load(&wasm(READER), reader_grant()).unwrap();
    assert_eq!(
        host.invoke(&mut plugin, "run", b"x"),
        Err(InvokeError::Busy)
    );
    assert_eq!(host.stats().rejected_busy, 1);
    assert_eq!(host.stats().peak_in_flight, 0);
}
