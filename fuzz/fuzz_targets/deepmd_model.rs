//! deepmd-kit serialized model (.yaml, or .json when the first byte is
//! odd) → the model reader (and a prediction if it reads).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use forcefit::model::{AnyModel, ModelFile};
fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let name = if first % 2 == 1 { "model.json" } else { "model.yaml" };
    let _ = forcefit::model::deepmd::file::parse(&forcefit_fuzz::text(rest), Path::new(name));
    let file = ModelFile {
        path: name.into(),
        bytes: rest.to_vec(),
    };
    if let Ok(model) = AnyModel::from_model_files(&[file]) {
        forcefit_fuzz::predict_cluster(&model);
    }
});
