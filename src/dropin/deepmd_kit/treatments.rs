//! What `forcefit dp` does with the deepmd-kit keys it does not map, per
//! section: accepted with a warning (no effect on the trained model),
//! accepted at deepmd-kit's default only, or (absent here) unknown.

use super::keys::Treatment;

pub(super) fn top_level_treatment(key: &str) -> Option<Treatment> {
    match key {
        "nvnmd" => Some(Treatment::DefaultOnly(
            "null",
            "NVNMD (non-von Neumann MD) models are not supported",
        )),
        _ => None,
    }
}

pub(super) fn model_treatment(key: &str) -> Option<Treatment> {
    use crate::dropin::Treatment::*;
    Some(match key {
        "data_stat_nbatch" | "data_stat_protect" | "data_bias_nsample" => {
            Warned("forcefit computes the statistics from every training structure")
        }
        "type_embedding" => DefaultOnly("null", "type-embedding models are not supported"),
        "use_srtab" => DefaultOnly(
            "null",
            "tabulated short-range pair potentials are not supported",
        ),
        "srtab_add_bias" | "smin_alpha" | "sw_rmin" | "sw_rmax" => {
            Warned("only used with use_srtab")
        }
        "spin" => DefaultOnly("null", "spin models are not supported"),
        "model_dict" | "shared_dict" => DefaultOnly("null", "multi-task training is not supported"),
        "pair_exclude_types" | "atom_exclude_types" => {
            DefaultOnly("[]", "excluded types are not supported")
        }
        "preset_out_bias" => DefaultOnly("null", "forcefit fits the energy bias to the data"),
        "finetune_head" => DefaultOnly("null", "fine-tuning is not supported"),
        "compress" => DefaultOnly("null", "model compression is not supported"),
        "modifier" => DefaultOnly("null", "model modifiers are not supported"),
        _ => return None,
    })
}

/// Keys of the descriptor and fitting sections forcefit does not map.
pub(super) fn network_treatment(key: &str) -> Option<Treatment> {
    use crate::dropin::Treatment::*;
    Some(match key {
        "seed" => Warned("forcefit draws the initial parameters from training.seed"),
        "uniform_seed" => Warned("forcefit draws the initial parameters from training.seed"),
        "trainable" => DefaultOnly("true", "frozen layers are not supported"),
        "exclude_types" => DefaultOnly("[]", "excluded type pairs are not supported"),
        "rcond" => Warned("forcefit fits the energy bias by least squares"),
        "numb_fparam" | "numb_aparam" | "dim_case_embd" => {
            DefaultOnly("0", "frame and atomic parameters are not supported")
        }
        "atom_ener" => DefaultOnly("[]", "fixed atomic energies are not supported"),
        "layer_name" => DefaultOnly("null", "shared fitting layers are not supported"),
        "use_aparam_as_mask" => DefaultOnly("false", "atomic parameters are not supported"),
        "default_fparam" => DefaultOnly("null", "frame parameters are not supported"),
        "mixed_types" => DefaultOnly("false", "mixed-type fitting is not supported"),
        _ => return None,
    })
}

pub(super) fn loss_treatment(key: &str) -> Option<Treatment> {
    use crate::dropin::Treatment::*;
    Some(match key {
        "start_pref_ae" | "limit_pref_ae" | "start_pref_pf" | "limit_pref_pf" | "start_pref_gf"
        | "limit_pref_gf" => DefaultOnly(
            "0",
            "atomic-energy, prefactor-force and generalized-force losses are not supported",
        ),
        "relative_f" => DefaultOnly("null", "relative force errors are not supported"),
        "enable_atom_ener_coeff" => {
            DefaultOnly("false", "atomic energy coefficients are not supported")
        }
        "numb_generalized_coord" => DefaultOnly("0", "generalized-force losses are not supported"),
        "use_l1_all" => DefaultOnly("false", "L1 losses are not supported"),
        "use_huber" => DefaultOnly("false", "Huber losses are not supported"),
        "f_use_norm" => DefaultOnly("false", "Huber losses are not supported"),
        "huber_delta" => Warned("only used with use_huber"),
        "inference" => Warned("has no effect on training"),
        _ => return None,
    })
}

pub(super) fn data_treatment(key: &str) -> Option<Treatment> {
    use crate::dropin::Treatment::*;
    Some(match key {
        "auto_prob" | "auto_prob_style" | "sys_probs" | "sys_weights" => {
            Warned("forcefit visits every training structure once per epoch, in random order")
        }
        "set_prefix" => DefaultOnly("\"set\"", "forcefit reads set.* directories"),
        "rglob_patterns" => DefaultOnly("null", "give the systems explicitly"),
        _ => return None,
    })
}

pub(super) fn training_treatment(key: &str) -> Option<Treatment> {
    use crate::dropin::Treatment::*;
    Some(match key {
        "save_ckpt" | "max_ckpt_keep" | "ckpt_keep_ratio" => {
            Warned("forcefit keeps one checkpoint.json and writes the best model as model.yaml")
        }
        "disp_training" | "time_training" | "disp_avg" => {
            Warned("forcefit shows a progress bar and writes loss.csv")
        }
        "profiling"
        | "profiling_file"
        | "enable_profiler"
        | "tensorboard"
        | "tensorboard_log_dir"
        | "tensorboard_freq" => Warned("no profiling or TensorBoard output"),
        "stat_file" => Warned("forcefit computes the statistics from the training data each run"),
        "change_bias_after_training" => {
            DefaultOnly("false", "forcefit fits the energy bias before training")
        }
        "mixed_precision" => DefaultOnly("null", "forcefit trains in float64"),
        "enable_ema" => DefaultOnly(
            "false",
            "exponential moving averages of the parameters are not supported",
        ),
        "ema_decay" | "ema_ckpt_keep" => Warned("only used with enable_ema"),
        "gradient_max_norm" => DefaultOnly("null", "gradient clipping is not supported"),
        "zero_stage" => DefaultOnly("0", "forcefit trains in one process"),
        "numb_test" | "validation_data_frac" => {
            Warned("forcefit validates on all of validation_data every epoch")
        }
        "systems" | "batch_size" => DefaultOnly(
            "null",
            "this is deepmd-kit v1's layout: give it in training.training_data (deepmd-kit 2 and 3)",
        ),
        _ => return None,
    })
}
