//! checkpoint.json → `Checkpoint::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::train::checkpoint::Checkpoint::parse(
        &forcefit_fuzz::text(data),
        Path::new("checkpoint.json"),
    );
});
