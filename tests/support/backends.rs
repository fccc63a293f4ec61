//! Test back-ends: a filesystem that records its requests, an echoing service, entropy and
//! clocks with known answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pluginhost::{
    BackendError, EntropySource, Filesystem, GuestPath, MemoryFilesystem, MemoryService, WallClock,
};

/// A [`MemoryFilesystem`] that records every request reaching it.
#[derive(Default)]
pub struct RecordingFs {
    pub inner: MemoryFilesystem,
    ops: Mutex<Vec<String>>,
}

impl RecordingFs {
    pub fn new() -> Arc<RecordingFs> {
        Arc::new(RecordingFs::default())
    }

    /// The requests so far, e.g. `write /data/x (scope /data)`.
    pub fn ops(&self) -> Vec<String> {
        self.ops.lock().expect("ops lock").clone()
    }

    /// Every file and its contents, for before/after comparisons.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        self.inner
            .paths()
            .into_iter()
            .map(|p| {
                let data = self.inner.get(&p).unwrap_or_default();
                (p, data)
            })
            .collect()
    }

    fn note(&self, op: String) {
        self.ops.lock().expect("ops lock").push(op);
    }
}

impl Filesystem for RecordingFs {
    fn read(
        &self,
        scope: &GuestPath,
        path: &GuestPath,
        dst: &mut [u8],
    ) -> Result<u64, BackendError> {
        self.note(format!("read {path} (scope {scope}) into {}", dst.len()));
        self.inner.read(scope, path, dst)
    }

    fn size(&self, scope: &GuestPath, path: &GuestPath) -> Result<u64, BackendError> {
        self.note(format!("size {path} (scope {scope})"));
        self.inner.size(scope, path)
    }

    fn write(&self, scope: &GuestPath, path: &GuestPath, data: &[u8]) -> Result<(), BackendError> {
        self.note(format!("write {path} (scope {scope}) {}", data.len()));
        self.inner.write(scope, path, data)
    }

    fn rename(
        &self,
        from_scope: &GuestPath,
        from: &GuestPath,
        to_scope: &GuestPath,
        to: &GuestPath,
    ) -> Result<(), BackendError> {
        self.note(format!(
            "rename {from} (scope {from_scope}) -> {to} (scope {to_scope})"
        ));
        self.inner.rename(from_scope, from, to_scope, to)
    }
}

/// Answers every request with `prefix` followed by the request.
pub struct Echo(pub &'static str);

impl MemoryService for Echo {
    fn respond(&self, request: &[u8]) -> Vec<u8> {
        let mut out = self.0.as_bytes().to_vec();
        out.extend_from_slice(request);
        out
    }
}

/// An entropy source with a known answer: byte `i` of each request is `seed + i` (wrapping), so a
/// test sees exactly which bytes reached guest memory. Counts its requests. (For the ABI's
/// plumbing only: real embedders use a real generator.)
pub struct PatternEntropy {
    pub seed: u8,
    pub requests: AtomicUsize,
    /// With `Some(n)`, writes the first `n` bytes and then fails (a source that dies midway).
    pub fail_after: Option<usize>,
}

impl PatternEntropy {
    pub fn new(seed: u8) -> Arc<PatternEntropy> {
        Arc::new(PatternEntropy {
            seed,
            requests: AtomicUsize::new(0),
            fail_after: None,
        })
    }

    pub fn failing_after(n: usize) -> Arc<PatternEntropy> {
        Arc::new(PatternEntropy {
            seed: 1,
            requests: AtomicUsize::new(0),
            fail_after: Some(n),
        })
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The bytes a request of `len` gets.
    pub fn pattern(&self, len: usize) -> Vec<u8> {
        (0..len).map(|i| self.seed.wrapping_add(i as u8)).collect()
    }
}

impl EntropySource for PatternEntropy {
    fn fill(&self, dst: &mut [u8]) -> Result<(), BackendError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let n = self.fail_after.unwrap_or(dst.len()).min(dst.len());
        for (i, b) in dst.iter_mut().take(n).enumerate() {
            *b = self.seed.wrapping_add(i as u8);
        }
        match self.fail_after {
            Some(_) => Err(BackendError::Io),
            None => Ok(()),
        }
    }
}

/// A wall clock stopped at a known second.
pub struct FixedClock(pub i64);

impl WallClock for FixedClock {
    fn unix_seconds(&self) -> Result<i64, BackendError> {
        Ok(self.0)
    }
}
