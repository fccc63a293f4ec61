//! The test embedder both heap profiles use: the firmware's (`src/bin/firmware.rs`, on the
//! device) and `benches/examples/plugin_heap.rs` (x86_64, which includes this file with
//! `#[path]`), so the two measure the same plugins against the same back-ends and inputs.
//! `no_std` + `alloc`, like the firmware.

use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use pluginhost::proto::dns::{TxtChange, UpdateTxtRequest};
use pluginhost::{
    BackendError, Backends, EntropySource, MemoryFilesystem, MemoryNetwork, MemoryService,
    WallClock,
};

/// knotd's answer to an update signed with a wrong secret (captured on loopback): `NOTAUTH`,
/// TSIG error `BADSIG`, unsigned.
const KNOT_BADSIG: [u8; 71] = [
    0x7d, 0x4b, 0xa8, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, b'e', b'x', b'a',
    b'm', b'p', b'l', b'e', 0x04, b't', b'e', b's', b't', 0x00, 0x00, 0x06, 0x00, 0x01, 0x08, b'a',
    b'c', b'm', b'e', b'-', b'k', b'e', b'y', 0x00, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x1d, 0x0b, b'h', b'm', b'a', b'c', b'-', b's', b'h', b'a', b'2', b'5', b'6', 0x00, 0x00,
    0x00, 0x6b, 0x14, 0xd6, 0x40, 0x01, 0x2c,
];
/// The rest of that answer: MAC size 0, original ID, error BADSIG, no other data.
const KNOT_BADSIG_TAIL: [u8; 8] = [0x00, 0x00, 0x7d, 0x4b, 0x00, 0x10, 0x00, 0x00];

/// A DNS primary that refuses every update as knotd refuses a wrong TSIG secret: it answers
/// the framed UPDATE with the captured answer, under the request's message ID.
pub struct BadSigPrimary;

impl MemoryService for BadSigPrimary {
    fn respond(&self, request: &[u8]) -> Vec<u8> {
        let mut message: Vec<u8> = KNOT_BADSIG
            .iter()
            .chain(&KNOT_BADSIG_TAIL)
            .copied()
            .collect();
        if let (Some(id), Some(dst)) = (request.get(2..4), message.get_mut(0..2)) {
            dst.copy_from_slice(id);
        }
        let mut framed = (message.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&message);
        framed
    }
}

/// The test embedder's clock: a fixed time (the device has no RTC here).
pub struct TestClock;

impl WallClock for TestClock {
    fn unix_seconds(&self) -> Result<i64, BackendError> {
        Ok(1_796_527_680)
    }
}

/// The test embedder's entropy: an xorshift stream. Only for these measurements; a real device
/// uses its TRNG.
pub struct TestEntropy(pub AtomicU32);

impl TestEntropy {
    /// The stream both profiles use.
    pub fn new() -> TestEntropy {
        TestEntropy(AtomicU32::new(0x9E37_79B9))
    }
}

impl EntropySource for TestEntropy {
    fn fill(&self, dst: &mut [u8]) -> Result<(), BackendError> {
        let mut state = self.0.load(Ordering::Relaxed);
        for byte in dst {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        self.0.store(state, Ordering::Relaxed);
        Ok(())
    }
}

/// What `dns_rfc2136` is granted: its TSIG key's directory and the primary.
pub const RFC2136_GRANT: [&str; 2] = [
    "fs.read=/secrets/tsig/example.com",
    "net.dial=ns.example.com:53",
];

/// `dns_rfc2136`'s back-ends: its TSIG key file, a primary that refuses the signed update
/// ([`BadSigPrimary`]), the fixed clock and the test entropy.
pub fn rfc2136_backends() -> Backends {
    let fs = Arc::new(MemoryFilesystem::with_capacity(8, 4096));
    fs.create_dir("/secrets");
    fs.create_dir("/secrets/tsig");
    fs.create_dir("/secrets/tsig/example.com");
    fs.insert(
        "/secrets/tsig/example.com/update.key",
        b"hmac-sha256:acme-key:5ZPSyh/sus/PFfffE9uqegKo36cx5FtGtxP/+i2l/4I=\n",
    );
    let network = MemoryNetwork::new().with_service("ns.example.com:53", Arc::new(BadSigPrimary));
    Backends::unavailable()
        .with_filesystem(fs)
        .with_network(Arc::new(network))
        .with_wall_clock(Arc::new(TestClock))
        .with_entropy(Arc::new(TestEntropy::new()))
}

/// The `dns_rfc2136` request both profiles send: add a TXT record at `ns.example.com:53`.
pub fn rfc2136_input() -> Vec<u8> {
    let request = UpdateTxtRequest {
        change: TxtChange::Add,
        zone: "example.com".to_string(),
        fqdn: "www.example.com".to_string(),
        value: "gfj9Xq-Mcu_TestToken0123456789abcdefghijkl".to_string(),
        ttl: 120,
        server_host: "ns.example.com".to_string(),
        server_port: 53,
        tsig_key_file: "/secrets/tsig/example.com/update.key".to_string(),
    };
    postcard::to_allocvec(&request).unwrap_or_default()
}

/// The initial linear memory of a module, in bytes (its memory section; 0 if none).
pub fn initial_memory_bytes(wasm: &[u8]) -> Option<u64> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 8;
    while at < wasm.len() {
        let id = *wasm.get(at)?;
        at += 1;
        let size = usize::try_from(leb(wasm, &mut at)?).ok()?;
        if id == 5 {
            let mut p = at;
            let count = leb(wasm, &mut p)?;
            if count == 0 {
                return Some(0);
            }
            p += 1; // limits flags
            return Some(leb(wasm, &mut p)? * 65536);
        }
        at += size;
    }
    Some(0)
}
