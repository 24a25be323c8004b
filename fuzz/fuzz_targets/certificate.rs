#![no_main]
// Feeds arbitrary bytes to the PEM certificate reader: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tend_agent::collect::certificates::parse_certificate(data, 1_800_000_000_000);
});
