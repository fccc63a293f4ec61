//! libFuzzer entry point of the `host_abi` target; the body lives in `pluginhost_fuzz::host_abi` so the
//! stable replay harness (`src/bin/replay.rs`) runs exactly the same checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pluginhost_fuzz::host_abi::run(data);
});
