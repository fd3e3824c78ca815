//! VASP vasprun.xml text → `io::vasprun::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::io::vasprun::parse(&forcefit_fuzz::text(data), Path::new("vasprun.xml"));
});
