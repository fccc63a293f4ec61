//! `Limits::translated_code_bytes`: under `Translation::Lazy` a plugin holds translated code for
//! the functions on its call stack and at most about this many bytes more, translates an evicted
//! function again when it is called (charged `RETRANSLATION_FUEL_PER_BYTE`), and drops what it
//! translated when an invocation ends, so that every invocation is charged the same fuel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "cap-fs")]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

use std::sync::Arc;

use pluginhost::proto::dns::PublishTxtRequest;
use pluginhost::{
    Completion, Grant, Host, HostConfig, InvokeError, Limits, MemoryFilesystem, Plugin, Step,
    Translation, RETRANSLATION_FUEL_PER_BYTE,
};
use pluginhost_bundled as bundled;
use support::checks::assert_benign_runs;
use support::hosts::{grant, host_with_fs};
use support::measure::{measure, KIB};
use support::wat::wasm;

const ZONE: &str = "$ORIGIN example.com.\n\
@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n\
www 300 IN A 192.0.2.10\n";

/// A budget small enough that `dns_zonefile` evicts and translates functions again.
const SMALL_BUDGET: usize = 2 * KIB;

fn config(translation: Translation, budget: Option<usize>) -> HostConfig {
    HostConfig::DEFAULT
        .with_fuel(10_000_000)
        .with_translation(translation)
        .with_limits(Limits::DEFAULT.with_translated_code_bytes(budget))
}

fn publish_request() -> Vec<u8> {
    postcard::to_allocvec(&PublishTxtRequest {
        zone: "example.com".into(),
        fqdn: "www.example.com".into(),
        value: "token-value".into(),
        ttl: 60,
    })
    .unwrap()
}

/// A host and a loaded `dns_zonefile` whose zone file `reset` puts back.
struct Zonefile {
    host: Host,
    plugin: Plugin,
    fs: Arc<MemoryFilesystem>,
}

impl Zonefile {
    fn new(translation: Translation, budget: Option<usize>) -> Zonefile {
        let fs = Arc::new(MemoryFilesystem::new());
        fs.create_dir("/zones");
        let host = host_with_fs(config(translation, budget), fs.clone());
        let plugin = host
            .load_static(
                bundled::DNS_ZONEFILE,
                grant(&["fs.read=/zones", "fs.write=/zones"]),
            )
            .unwrap();
        let mut zonefile = Zonefile { host, plugin, fs };
        zonefile.reset();
        zonefile
    }

    fn reset(&mut self) {
        self.fs.insert("/zones/example.com.zone", ZONE.as_bytes());
    }

    /// Publishes the record into the original zone file.
    fn publish(&mut self) -> Completion {
        self.reset();
        self.host
            .call(&mut self.plugin, "run", &publish_request())
            .unwrap()
    }

    /// The same, run in slices of `slice` fuel.
    fn publish_in_slices(&mut self, slice: u64) -> (Completion, u32) {
        self.reset();
        let request = publish_request();
        let mut call = self.host.start(&mut self.plugin, "run", &request).unwrap();
        let mut slices = 0;
        loop {
            slices += 1;
            if let Step::Done(completion) = call.resume(slice).unwrap() {
                return (completion, slices);
            }
        }
    }
}

#[test]
fn a_real_plugin_gives_the_same_result_under_a_code_budget() {
    let unbounded = Zonefile::new(Translation::Lazy, None).publish();
    let bounded = Zonefile::new(Translation::Lazy, Some(SMALL_BUDGET)).publish();
    assert_eq!(bounded.status, 0);
    assert_eq!(bounded.output, unbounded.output);
    // Functions evicted and called again are translated again, and charged for it.
    assert!(
        bounded.fuel_used > unbounded.fuel_used,
        "{} <= {}",
        bounded.fuel_used,
        unbounded.fuel_used
    );
}

#[test]
fn every_invocation_under_a_code_budget_is_charged_the_same_fuel() {
    // The same instance state and input cost the same fuel, whatever ran before. (The plugin's
    // first invocation costs a little more: its allocator sets up its heap.)
    let mut zonefile = Zonefile::new(Translation::Lazy, Some(SMALL_BUDGET));
    let first = zonefile.publish();
    let later = zonefile.publish();
    for _ in 0..3 {
        assert_eq!(zonefile.publish(), later, "a later invocation");
    }
    assert_eq!(
        Zonefile::new(Translation::Lazy, Some(SMALL_BUDGET)).publish(),
        first,
        "another host"
    );
    for slice in [1_000, 10_000] {
        let (sliced, slices) = zonefile.publish_in_slices(slice);
        assert!(slices > 2, "{slices} slices of {slice}");
        assert_eq!(sliced, later, "in slices of {slice}");
    }
    // A call abandoned while suspended discards the instance, with the code it translated;
    // the rebuilt instance is charged as the first one was.
    zonefile.reset();
    let request = publish_request();
    let (_, abandoned) = measure(|| {
        let mut call = zonefile
            .host
            .start(&mut zonefile.plugin, "run", &request)
            .unwrap();
        assert_eq!(call.resume(5_000), Ok(Step::Paused));
    });
    // Nothing of it stays: the suspended call is dropped before its translated code is.
    assert!(abandoned.retained < 4 * 1024, "{abandoned:?}");
    assert_eq!(zonefile.publish(), first, "after an abandoned call");
    assert_eq!(zonefile.publish(), later);
}

#[test]
fn a_code_budget_changes_nothing_under_eager_translation() {
    let unbounded = Zonefile::new(Translation::Eager, None).publish();
    let bounded = Zonefile::new(Translation::Eager, Some(SMALL_BUDGET)).publish();
    assert_eq!(bounded, unbounded);
    // And without eviction lazy translation is charged exactly as eager translation.
    assert_eq!(Zonefile::new(Translation::Lazy, None).publish(), unbounded);
}

#[test]
fn a_plugin_under_a_code_budget_keeps_no_translated_code_between_invocations() {
    let mut unbounded = Zonefile::new(Translation::Lazy, None);
    let mut bounded = Zonefile::new(Translation::Lazy, Some(SMALL_BUDGET));
    let (_, kept_unbounded) = measure(|| unbounded.publish());
    let (_, kept_bounded) = measure(|| bounded.publish());
    // Without a budget the plugin keeps the translated code of every function it ran.
    assert!(
        kept_bounded.retained + 16 * 1024 < kept_unbounded.retained,
        "{kept_bounded:?} vs {kept_unbounded:?}"
    );
    // Its peak is lower too: evicted code makes room for the next function.
    let (_, second_bounded) = measure(|| bounded.publish());
    assert!(second_bounded.retained <= kept_bounded.retained);
    assert!(
        second_bounded.peak < kept_unbounded.peak,
        "{second_bounded:?} vs {kept_unbounded:?}"
    );
}

/// `run` calls two functions of `ADDS` additions each in turn, `rounds` times (forever if
/// `rounds` is negative); `ok` returns 0.
fn alternating(rounds: i32) -> Vec<u8> {
    let body: String = (0..ADDS).map(|_| " i32.const 1 i32.add").collect();
    wasm(&format!(
        r#"(module
            (memory (export "memory") 1)
            (func $a (param i32) (result i32) local.get 0 {body})
            (func $b (param i32) (result i32) local.get 0 {body})
            (func (export "run") (result i32) (local $n i32) (local $acc i32)
                (block $done
                    (loop $again
                        (br_if $done (i32.eq (local.get $n) (i32.const {rounds})))
                        (local.set $acc (call $a (local.get $acc)))
                        (local.set $acc (call $b (local.get $acc)))
                        (local.set $n (i32.add (local.get $n) (i32.const 1)))
                        (br $again)))
                (i32.const 0))
            (func (export "ok") (result i32) (i32.const 0)))"#
    ))
}

/// Additions in each of `alternating`'s functions: about 2.4 KB of wasm body each.
const ADDS: usize = 800;

/// Bytes of one of `alternating`'s function bodies: 3 per addition and a few more.
const BODY_BYTES: u64 = 3 * ADDS as u64;

#[test]
fn translating_again_is_charged_so_thrashing_runs_out_of_fuel() {
    // Each call evicts the other function: every call translates again.
    let thrash = |budget| {
        let host = Host::new(config(Translation::Lazy, budget).with_fuel(2_000_000));
        let mut plugin = host.load(&alternating(10), Grant::none()).unwrap();
        host.call(&mut plugin, "run", b"").unwrap().fuel_used
    };
    let kept = thrash(None);
    let evicted = thrash(Some(1));
    // 20 calls; the first of each function is free, the other 18 translate again.
    let charged = 18 * BODY_BYTES * u64::from(RETRANSLATION_FUEL_PER_BYTE);
    assert!(evicted >= kept + charged, "{evicted} < {kept} + {charged}");

    // Forever: the fuel budget ends it, and the host and the plugin stay usable.
    let host = Host::new(config(Translation::Lazy, Some(1)).with_fuel(1_000_000));
    let mut plugin = host.load(&alternating(-1), Grant::none()).unwrap();
    let (result, usage) = measure(|| host.call(&mut plugin, "run", b""));
    assert_eq!(
        result,
        Err(InvokeError::FuelExhausted {
            fuel_used: 1_000_000
        })
    );
    assert!(usage.peak < 256 * KIB, "{usage:?}");
    assert_eq!(host.invoke(&mut plugin, "ok", b""), Ok(Vec::new()));
    assert_benign_runs(&host);
}

#[test]
fn thrashing_is_charged_the_same_in_slices() {
    let run = |slice: Option<u64>| {
        let host = Host::new(config(Translation::Lazy, Some(1)));
        let mut plugin = host.load(&alternating(10), Grant::none()).unwrap();
        match slice {
            None => host.call(&mut plugin, "run", b"").unwrap(),
            Some(slice) => {
                let mut call = host.start(&mut plugin, "run", b"").unwrap();
                loop {
                    if let Step::Done(completion) = call.resume(slice).unwrap() {
                        break completion;
                    }
                }
            }
        }
    };
    let whole = run(None);
    // Slices far smaller than one translation: its charge runs past the slice.
    for slice in [1, 100, 5_000] {
        assert_eq!(run(Some(slice)), whole, "slices of {slice}");
    }

    // Forever, in slices: the budget ends it, and the code it translated goes with the call.
    let host = Host::new(config(Translation::Lazy, Some(1)).with_fuel(1_000_000));
    let mut plugin = host.load(&alternating(-1), Grant::none()).unwrap();
    let (result, usage) = measure(|| {
        let mut call = host.start(&mut plugin, "run", b"").unwrap();
        loop {
            match call.resume(10_000) {
                Ok(Step::Paused) => continue,
                other => break other,
            }
        }
    });
    assert_eq!(
        result,
        Err(InvokeError::FuelExhausted {
            fuel_used: 1_000_000
        })
    );
    assert!(usage.retained < 4 * 1024, "{usage:?}");
}
