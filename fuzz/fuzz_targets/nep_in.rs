//! GPUMD's nep.in → `dropin::gpumd::nep_in::parse` (and the TOML it maps to).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let dir = Path::new("fuzz-dir");
    if let Ok(input) =
        forcefit::dropin::gpumd::nep_in::parse(&forcefit_fuzz::text(data), &dir.join("nep.in"), dir)
    {
        let _ = input.config_text();
    }
});
