//! The bad-input catalogue (docs/bad-input.md), reader by reader: each
//! case feeds one damaged input to the library reader and requires an
//! error (never a panic, never `Ok`) whose message names the file, the
//! line or key, and what was expected. The table in docs/bad-input.md is
//! checked against these cases: every row there has a case here, by id.
//! The inputs the fuzz targets found crashing are kept here too
//! (`fuzz-*` ids).

#[path = "bad_input/cases.rs"]
mod bad_input_cases;
mod common;

use bad_input_cases::{Case, cases};
use std::collections::BTreeSet;

/// Runs one case, returning the message or why it failed.
fn check(case: &Case) -> Result<String, String> {
    let msg = match std::panic::catch_unwind(case.run) {
        Err(_) => return Err("panicked".into()),
        Ok(Ok(())) => return Err("accepted the input".into()),
        Ok(Err(e)) => e.to_string(),
    };
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{}: {msg}", case.id);
    }
    match case.needles.iter().find(|n| !msg.contains(*n)) {
        Some(n) => Err(format!("message lacks {n:?}: {msg}")),
        None => Ok(msg),
    }
}

#[test]
fn every_library_case_is_an_error_naming_where_and_what() {
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    for case in cases() {
        assert!(ids.insert(case.id), "duplicate case id {}", case.id);
        assert!(!case.needles.is_empty(), "{}: no needles", case.id);
        if let Err(why) = check(&case) {
            failures.push(format!("{}: {why}", case.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ids of the catalogue's table rows (`| id | ...`).
fn catalogue_ids() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bad-input.md");
    let text = std::fs::read_to_string(&path).expect("docs/bad-input.md");
    let (_, catalogue) = text
        .split_once("## Catalogue")
        .expect("a Catalogue section");
    catalogue
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_catalogue_lists_only_tested_cases_and_at_least_forty() {
    let library: BTreeSet<&str> = cases().iter().map(|c| c.id).collect();
    let cli: BTreeSet<&str> = bad_input_cases::CLI_IDS.iter().copied().collect();
    let rows = catalogue_ids();
    assert!(rows.len() >= 40, "only {} catalogue rows", rows.len());
    for id in &rows {
        assert!(
            library.contains(id.as_str()) || cli.contains(id.as_str()),
            "docs/bad-input.md row {id} has no test"
        );
    }
    let cli_source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input_cli.rs"),
    )
    .expect("tests/bad_input_cli.rs");
    for id in &cli {
        assert!(
            cli_source.contains(&format!("\"{id}")),
            "CLI case {id} is not tested in tests/bad_input_cli.rs"
        );
    }
    for id in library.iter().chain(&cli) {
        assert!(
            rows.iter().any(|r| r == id),
            "case {id} is not in docs/bad-input.md"
        );
    }
}
