#![no_main]
// Feeds arbitrary bytes to the ClamAV database header parser: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tend_agent::collect::antivirus::parse_cvd_header(data);
});
