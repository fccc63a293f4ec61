//! libFuzzer entry point of the `host_grant` target; the body lives in `pluginhost_fuzz::host_grant` so the
//! stable replay harness (`src/bin/replay.rs`) runs exactly the same checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pluginhost_fuzz::host_grant::run(data);
});
