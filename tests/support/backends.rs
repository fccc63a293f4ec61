//! Test back-ends: a filesystem that records its requests, an echoing service.

use std::sync::{Arc, Mutex};

use pluginhost::{BackendError, Filesystem, GuestPath, MemoryFilesystem, MemoryService};

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
