//! libFuzzer entry point of the `load` target; the body lives in `pluginhost_fuzz::load` so the
//! stable replay harness (`src/bin/replay.rs`) runs exactly the same checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pluginhost_fuzz::load::run(data);
});
