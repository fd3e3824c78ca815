//! Helpers shared by the fuzz targets: every target feeds bytes to one
//! reader and requires an `Ok` or an `Err`, never a panic (libFuzzer
//! reports a panic as a crash). A model that reads back is also asked for
//! a prediction, since a reader that accepts an inconsistent file would
//! only fail there.

use forcefit::model::{AnyModel, Model, Prediction};
use forcefit::structure::{Labels, Origin, Structure};
use std::path::PathBuf;

/// The input as text: invalid UTF-8 is replaced, so that every input
/// reaches the parser (the file readers report invalid UTF-8 themselves).
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Predicts a small cluster of the model's first element(s): three atoms,
/// 2 Å apart, no cell.
pub fn predict_cluster(model: &AnyModel) {
    let species = model.species();
    if species.is_empty() {
        return;
    }
    let pick = |i: usize| species[i % species.len()].clone();
    let s = Structure {
        species: vec![pick(0), pick(1), pick(2)],
        positions: vec![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.3, 1.9, 0.2]],
        cell: None,
        pbc: [false; 3],
        labels: Labels::default(),
        origin: Origin {
            path: PathBuf::from("fuzz-cluster"),
            frame: 0,
            line: 0,
        },
    };
    if let Ok(p) = model.prepare(s) {
        let mut out = Prediction::default();
        model.predict(&p, &mut out);
    }
}

/// Splits `data` at each `@@FILE@@` marker, for targets that read several
/// files from one input (8 bytes: a shorter marker such as `@@@@` occurs
/// inside float arrays, 4.0 ends in byte 0x40 '@').
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(8).position(|w| w == b"@@FILE@@") {
        parts.push(&rest[..i]);
        rest = &rest[i + 8..];
    }
    parts.push(rest);
    parts
}
