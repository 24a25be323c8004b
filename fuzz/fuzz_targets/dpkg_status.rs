#![no_main]
// Feeds arbitrary bytes to the agent's `dpkg-status` parser: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tend_agent::collect::parse::parse_text("dpkg-status", &String::from_utf8_lossy(data));
});
