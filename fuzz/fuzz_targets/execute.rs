//! libFuzzer entry point of the `execute` target; the body lives in `pluginhost_fuzz::execute` so the
//! stable replay harness (`src/bin/replay.rs`) runs exactly the same checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pluginhost_fuzz::execute::run(data);
});
