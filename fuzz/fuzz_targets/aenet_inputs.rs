//! aenet's inputs: the first byte picks generate.in, train.in or a
//! descriptor setup (.stp); the rest is its text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use forcefit::dropin::aenet::{check_generate_in, check_setup, check_train_in};
fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = forcefit_fuzz::text(rest);
    let _ = match first % 3 {
        0 => check_generate_in(&text, Path::new("generate.in")),
        1 => check_train_in(&text, Path::new("train.in")),
        _ => check_setup(&text, Path::new("Si.stp")),
    };
});
