//! deepmd-kit's input (input.json, or input.yaml when the first byte is
//! odd) → `dropin::deepmd_kit::parse_str`, with made-up data facts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use forcefit::dropin::deepmd_kit::{DataFacts, Overrides, parse_str};
fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let name = if first % 2 == 1 { "input.yaml" } else { "input.json" };
    let facts = DataFacts {
        structures: 1 + (first as usize >> 1),
        mean_atoms: 8.0,
    };
    if let Ok(input) = parse_str(
        &forcefit_fuzz::text(rest),
        Path::new(name),
        facts,
        &Overrides::default(),
    ) {
        let _ = input.config_text();
    }
});
