//! aenet potential files (binary .nn or .nn.ascii, told apart by content;
//! several files split at `@@FILE@@`) → the model reader (and a prediction).
#![no_main]
use forcefit::model::{AnyModel, ModelFile};
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    let files: Vec<ModelFile> = forcefit_fuzz::split(data)
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| ModelFile {
            path: format!("potential.{i}.nn").into(),
            bytes: bytes.to_vec(),
        })
        .collect();
    for f in &files {
        let _ = forcefit::model::bp::file::PotentialFile::read(&f.bytes, &f.path);
    }
    if let Ok(model) = AnyModel::from_model_files(&files) {
        forcefit_fuzz::predict_cluster(&model);
    }
});
