//! Extended XYZ text → `io::extxyz::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::io::extxyz::parse(&forcefit_fuzz::text(data), Path::new("fuzz.xyz"));
});
