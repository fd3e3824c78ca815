//! A DeePMD npy system: the input, split at `@@FILE@@`, gives type_map.raw,
//! type.raw, coord.npy, box.npy, energy.npy, force.npy and virial.npy,
//! written to a temporary directory and read by `io::deepmd::read`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

const NAMES: [&str; 7] = [
    "type_map.raw",
    "type.raw",
    "set.000/coord.npy",
    "set.000/box.npy",
    "set.000/energy.npy",
    "set.000/force.npy",
    "set.000/virial.npy",
];

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("forcefit-fuzz-system-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("set.000")).expect("temp dir");
    for (name, bytes) in NAMES.iter().zip(forcefit_fuzz::split(data)) {
        std::fs::write(dir.join(name), bytes).expect("temp file");
    }
    let _ = forcefit::io::deepmd::read(&dir);
});
