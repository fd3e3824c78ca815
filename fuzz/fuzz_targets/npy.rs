//! The bytes of one `.npy` file → `io::deepmd::parse_npy`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::io::deepmd::parse_npy(data, Path::new("fuzz.npy"));
});
