//! GPUMD nep.txt → the model reader (and a prediction if it reads).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use forcefit::model::{AnyModel, ModelFile};
fuzz_target!(|data: &[u8]| {
    let file = ModelFile {
        path: "nep.txt".into(),
        bytes: data.to_vec(),
    };
    if let Ok(model) = AnyModel::from_model_files(&[file]) {
        forcefit_fuzz::predict_cluster(&model);
    }
    let _ = forcefit::model::nep::file::parse(&forcefit_fuzz::text(data), Path::new("nep.txt"));
});
