#![no_main]
// Feeds arbitrary bytes to the report decoder the server runs on agent input: it must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<tend_proto::agent::ReportBatch>(data);
});
