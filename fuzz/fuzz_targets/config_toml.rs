//! forcefit's TOML configuration → `TrainConfig::from_toml`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::train::config::TrainConfig::from_toml(
        &forcefit_fuzz::text(data),
        Path::new("fuzz.toml"),
    );
});
