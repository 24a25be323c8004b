#![no_main]
// Feeds arbitrary bytes to the agent's `net-dev` parser: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tend_agent::collect::parse::parse_text("net-dev", &String::from_utf8_lossy(data));
});
