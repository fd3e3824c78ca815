//! aenet XSF text → `io::xsf::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = forcefit::io::xsf::parse(&forcefit_fuzz::text(data), Path::new("fuzz.xsf"));
});
