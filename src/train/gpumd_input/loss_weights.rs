//! `type_weight w_1 … w_N`: GPUMD's per-element force weights, mapped to
//! `[loss] type_weight` (`force_delta` and `lambda_shear`, one number each,
//! are read in the keyword loop).

use super::Line;
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// `type_weight w_1 … w_N`: one weight per element of `type`, in its order.
pub(super) fn type_weight(
    line: &Line,
    path: &Path,
    species: &[String],
) -> Result<BTreeMap<String, f64>> {
    line.count(path, species.len()..=species.len())?;
    let mut weights = BTreeMap::new();
    for (i, s) in species.iter().enumerate() {
        let w = line.real(path, i)?;
        if w < 0.0 {
            return Err(line.error(path, format!("the weight of {s} is negative ({w})")));
        }
        weights.insert(s.clone(), w);
    }
    Ok(weights)
}
