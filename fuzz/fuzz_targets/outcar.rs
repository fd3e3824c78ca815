//! VASP OUTCAR text → `io::outcar::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::io::outcar::parse(&forcefit_fuzz::text(data), Path::new("OUTCAR"));
});
