#![no_main]
// Feeds arbitrary bytes to the agent's `mounts` parser: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tend_agent::collect::parse::parse_text("mounts", &String::from_utf8_lossy(data));
});
