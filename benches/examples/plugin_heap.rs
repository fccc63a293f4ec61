//! Heap per real plugin on x86_64, the way the firmware measures it on the Cortex-M4
//! (`no_std_tests`, `heap_profile`): the same device builds of the plugins (16 KiB guest stack),
//! `Limits::EMBEDDED`, `Translation::Lazy`, in-memory back-ends, the same inputs, loaded with
//! `Host::load_static` as the firmware loads its embedded plugins (each file is read once and
//! leaked, standing in for flash); `after_load_copied` is the same load with `Host::load`.
//! `scripts/footprint.sh` runs it and docs/footprint.md shows the result beside the device's.
//!
//! `plugin_heap <dir with connector_file_deploy.wasm, dns_zonefile.wasm and dns_rfc2136.wasm>`;
//! prints one `HEAP64 plugin=... key=value...` line per plugin (bytes relative to before the load).
extern crate alloc;

use std::sync::Arc;

use pluginhost::proto::deploy::DeployRequest;
use pluginhost::proto::dns::PublishTxtRequest;
use pluginhost::{
    Backends, Grant, Host, HostConfig, Limits, MemoryFilesystem, MemoryNetwork,
    MemoryProcessRunner, Residency, Translation,
};
use pluginhost_benches::{live_bytes, peak_bytes, reset_peak, CountingAlloc};

// The firmware's test embedder: the same back-ends, inputs and module reader as on the device.
#[path = "../../no_std_tests/src/embedder.rs"]
mod embedder;
use embedder::{initial_memory_bytes, rfc2136_backends, rfc2136_input, RFC2136_GRANT};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUgZm9yIHRoZSBNQ1UgdGVzdDAKBggqhkjOPQQDAjAQ\n\
MQ4wDAYDVQQDDAVtY3UtY2EwHhcNMjYwMTAxMDAwMDAwWhcNMjcwMTAxMDAwMDAwWjAQMQ4wDAYD\n\
-----END CERTIFICATE-----\n";

const ZONE: &str = "$ORIGIN example.com.\n\
@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n\
@ 3600 IN NS ns1.example.com.\n\
www 300 IN A 192.0.2.10\n";

fn backends(fs: &Arc<MemoryFilesystem>) -> Backends {
    Backends::unavailable()
        .with_filesystem(fs.clone())
        .with_network(Arc::new(MemoryNetwork::new()))
        .with_process(Arc::new(MemoryProcessRunner::new()))
}

fn grant(specs: &[&str]) -> Grant {
    specs
        .iter()
        .fold(Grant::none(), |g, s| g.with_spec(s).expect("grant"))
}

/// The first memory's initial page count (from the memory section, id 5).
fn initial_pages(wasm: &[u8]) -> u64 {
    initial_memory_bytes(wasm).unwrap_or(0) / 65536
}

fn profile(name: &str, wasm: &'static [u8], grant: Grant, backends: Backends, input: &[u8]) {
    let config = HostConfig::DEFAULT
        .with_limits(Limits::EMBEDDED)
        .with_fuel(2_000_000)
        .with_translation(Translation::Lazy);
    let host = Host::new(config);
    let transient = Host::new(config.with_residency(Residency::Transient));
    let pages = initial_pages(wasm);
    let base = live_bytes();
    let copied = host
        .load_with_backends(wasm, grant.clone(), backends.clone())
        .expect("load (copied)");
    let after_load_copied = live_bytes() - base;
    drop(copied);
    reset_peak();
    let mut plugin = host
        .load_static_with_backends(wasm, grant.clone(), backends.clone())
        .expect("load");
    let after_load = live_bytes() - base;
    let load_peak = peak_bytes() - base;
    reset_peak();
    let done = host.call(&mut plugin, "run", input).expect("invoke");
    let invoke_peak = peak_bytes() - base;
    let after_invoke = live_bytes().saturating_sub(base);
    let pages_after = plugin.memory_size() / 65536;
    println!(
        "HEAP64 plugin={name} wasm={} linear_memory={} after_load_copied={after_load_copied} \
         beyond_copied={} after_load={after_load} load_peak={load_peak} \
         beyond_linear_memory={} invoke_peak={invoke_peak} after_invoke={after_invoke} \
         beyond_after_invoke={} pages_initial={pages} pages_after_invoke={pages_after} status={}",
        wasm.len(),
        pages * 65536,
        after_load_copied as i64 - (pages * 65536) as i64,
        after_load as i64 - (pages * 65536) as i64,
        after_invoke as i64 - (pages_after * 65536) as i64,
        done.status,
    );
    drop(plugin);

    // Released between invocations (`Residency::Transient`), measured from here: what the
    // back-ends hold already (files written above) is not the plugin's.
    let base = live_bytes();
    reset_peak();
    let mut plugin = transient
        .load_static_with_backends(wasm, grant, backends)
        .expect("load (transient)");
    let rest_after_load = live_bytes().saturating_sub(base);
    reset_peak();
    let again = transient
        .call(&mut plugin, "run", input)
        .expect("invoke (transient)");
    assert_eq!(again.status, done.status);
    let invoke_peak = peak_bytes() - base;
    let rest_after_invoke = live_bytes().saturating_sub(base);
    println!(
        "HEAP64 transient plugin={name} rest_after_load={rest_after_load} invoke_peak={invoke_peak} \
         invoke_peak_beyond_linear_memory={} rest_after_invoke={rest_after_invoke}",
        invoke_peak as i64 - (pages_after * 65536) as i64,
    );
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("plugin directory"));
    // Leaked: a `'static` module, as `include_bytes!` in flash is on the device.
    let read = |name: &str| -> &'static [u8] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        bytes.leak()
    };

    let fs = Arc::new(MemoryFilesystem::with_capacity(32, 64 * 1024));
    fs.create_dir("/certs");
    let deploy = DeployRequest {
        chain_pem: PEM.to_string(),
        key_ref: Some("keystore:mcu-1".to_string()),
        target_dir: "/certs".to_string(),
        file_name: "chain.pem".to_string(),
    };
    let input = postcard::to_allocvec(&deploy).expect("encode");
    let wasm = read("connector_file_deploy.wasm");
    profile(
        "connector_file_deploy",
        wasm,
        grant(&["fs.write=/certs"]),
        backends(&fs),
        &input,
    );

    let fs = Arc::new(MemoryFilesystem::with_capacity(32, 64 * 1024));
    fs.create_dir("/zones");
    fs.insert("/zones/example.com.zone", ZONE.as_bytes());
    let request = PublishTxtRequest {
        zone: "example.com".to_string(),
        fqdn: "www.example.com".to_string(),
        value: "gfj9Xq-Mcu_TestToken0123456789abcdefghijkl".to_string(),
        ttl: 120,
    };
    let input = postcard::to_allocvec(&request).expect("encode");
    let wasm = read("dns_zonefile.wasm");
    let grant_zones = grant(&["fs.read=/zones", "fs.write=/zones"]);
    profile("dns_zonefile", wasm, grant_zones, backends(&fs), &input);

    // The firmware's `dns_rfc2136_update_refused` case: the primary refuses the signed update.
    let wasm = read("dns_rfc2136.wasm");
    let grant_tsig = grant(&RFC2136_GRANT);
    profile(
        "dns_rfc2136",
        wasm,
        grant_tsig,
        rfc2136_backends(),
        &rfc2136_input(),
    );
}
