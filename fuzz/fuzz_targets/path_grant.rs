//! libFuzzer entry point of the `path_grant` target; the body lives in `pluginhost_fuzz::path_grant` so the
//! stable replay harness (`src/bin/replay.rs`) runs exactly the same checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pluginhost_fuzz::path_grant::run(data);
});
