//! The mapping on small inputs written here, one variation each; their
//! files are also the base of the bad-input cases.

use super::TempDir;
use crate::Result;
use crate::dropin::aenet::{AenetInput, Overrides, read};
use crate::model::ModelConfig;
use crate::nn::Activation;
use crate::train::config::OptimizerKind;

/// Small inputs for the mapping and the bad-input cases: two species,
/// both setups alike, force training on 25 % of the structures.
pub const GENERATE: &str = "OUTPUT x.train

TYPES
2
O   -432.5  ! eV
Ti -1604.6

SETUPS
Ti  Ti.stp
O   O.stp

forces
forcespercent 25

FILES
2
a.xsf
b.xsf
";

/// A setup for `{el}`.
pub fn stp(el: &str) -> String {
    format!(
        "DESCR
 test setup
END DESCR
ATOM {el}
ENV 2
Ti
O
RMIN 0.35d0
BASIS type=Chebyshev
radial_Rc = 4.0  radial_N = 4 angular_Rc = 3.0  angular_N = 2
"
    )
}

pub const TRAIN: &str = "TRAININGSET x.train.ascii
TESTPERCENT 25
ITERATIONS 3
BATCHSIZE 2
NPSEED 1
FORCES
alpha=0.1
METHOD
method=adam lr=0.001
SAVE_ENERGIES
SAVE_FORCES
NETWORKS
  Ti Ti.nn 2 3:tanh 3:tanh
  O  O.nn  2 3:tanh 3:tanh
";

/// The four files of a small case in `dir`.
pub struct Case {
    pub generate: String,
    pub ti: String,
    pub o: String,
    pub train: String,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            generate: GENERATE.into(),
            ti: stp("Ti"),
            o: stp("O"),
            train: TRAIN.into(),
        }
    }
}

impl Case {
    pub fn read_with(&self, overrides: &Overrides) -> Result<AenetInput> {
        let dir = TempDir::new("case");
        let g = dir.write("generate.in", &self.generate);
        dir.write("Ti.stp", &self.ti);
        dir.write("O.stp", &self.o);
        let t = dir.write("train.in", &self.train);
        read(&g, &t, overrides)
    }

    pub fn read(&self) -> Result<AenetInput> {
        self.read_with(&Overrides::default())
    }
}

/// `text` with its 1-based line `n` replaced by `new` (several lines, or
/// none to delete it).
pub fn edit(text: &str, n: usize, new: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if new.is_empty() {
        lines.remove(n - 1);
    } else {
        lines[n - 1] = new;
    }
    lines.join("\n") + "\n"
}

fn ok(case: &Case) -> AenetInput {
    case.read().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_small_case_maps() {
    let input = ok(&Case::default());
    let l = &input.config.loss;
    assert_eq!((l.lambda_e, l.force_structures), (0.9, 0.25));
    assert_eq!(input.config.optimizer.kind, OptimizerKind::Adam);
    assert_eq!(input.warnings.len(), 2, "{:#?}", input.warnings);
}

#[test]
fn without_forces_in_generate_in_it_trains_energies_only() {
    let case = Case {
        generate: edit(GENERATE, 12, "! no forces"),
        ..Default::default()
    };
    let input = ok(&case);
    let l = &input.config.loss;
    assert_eq!(
        (l.lambda_e, l.lambda_f, l.force_structures),
        (1.0, 0.0, 0.0)
    );
    assert!(!input.outputs.save_forces);
    let all = input.warnings.join("\n");
    assert!(
        all.contains("train.in:7: FORCES: generate.in has no `forces`"),
        "{all}"
    );
    assert!(all.contains("train.in:11: SAVE_FORCES: ignored"), "{all}");
}

#[test]
fn without_a_forces_block_it_trains_energies_only() {
    let train = edit(&edit(TRAIN, 7, ""), 6, "");
    let input = ok(&Case {
        train,
        ..Default::default()
    });
    assert_eq!(input.config.loss.lambda_f, 0.0);
    assert!(
        input
            .warnings
            .join("\n")
            .contains("generate.in:12: FORCES: train.in has no FORCES block")
    );
}

#[test]
fn forcespercent_defaults_to_all_structures_with_a_warning() {
    let input = ok(&Case {
        generate: edit(GENERATE, 13, "! none"),
        ..Default::default()
    });
    assert_eq!(input.config.loss.force_structures, 1.0);
    assert!(
        input
            .warnings
            .join("\n")
            .contains("FORCESPERCENT not given")
    );
}

#[test]
fn different_networks_become_per_element_networks() {
    let train = edit(TRAIN, 14, "  O  O.nn  1 4:twist");
    let input = ok(&Case {
        train,
        ..Default::default()
    });
    let ModelConfig::Bp(m) = &input.config.model else {
        panic!()
    };
    assert_eq!(m.networks["O"].hidden, [4]);
    assert_eq!(m.networks["O"].activations, [Activation::Twist]);
    assert_eq!(m.networks["Ti"].activations, [Activation::Tanh; 2]);
    let mixed = edit(TRAIN, 13, "  Ti Ti.nn 2 3:tanh 3:sigmoid");
    let ModelConfig::Bp(m) = ok(&Case {
        train: mixed,
        ..Default::default()
    })
    .translation
    .config
    .model
    else {
        panic!()
    };
    assert_eq!(m.networks.len(), 2);
}

#[test]
fn adam_regularization_is_warned_adamw_decays() {
    let train = edit(TRAIN, 10, "REGULARIZATION 0.01");
    let input = ok(&Case {
        train: train.clone(),
        ..Default::default()
    });
    assert_eq!(input.config.optimizer.weight_decay, 0.0);
    assert_eq!(input.config.loss.lambda_2, 0.0);
    assert!(
        input
            .warnings
            .join("\n")
            .contains("train.in:10: REGULARIZATION: ignored: torch's Adam")
    );
    let adamw = edit(&train, 9, "method=adamw lr=0.001");
    let input = ok(&Case {
        train: adamw,
        ..Default::default()
    });
    assert_eq!(input.config.optimizer.kind, OptimizerKind::Adamw);
    assert_eq!(input.config.optimizer.weight_decay, 0.01);
}

#[test]
fn command_line_overrides() {
    let overrides = Overrides {
        optimizer: Some(OptimizerKind::Fekf),
        epochs: Some(7),
        time_limit: Some(5.0),
        ..Default::default()
    };
    let input = Case::default().read_with(&overrides).unwrap();
    let c = &input.config;
    assert_eq!(
        (c.optimizer.kind, c.optimizer.batch_size),
        (OptimizerKind::Fekf, None)
    );
    assert_eq!((c.run.epochs, c.run.time_limit), (Some(7), Some(5.0)));
    let overrides = Overrides {
        batch_size: Some(5),
        ..Default::default()
    };
    let input = Case::default().read_with(&overrides).unwrap();
    assert_eq!(input.config.optimizer.batch_size, Some(5));
}

#[test]
fn a_train_x_method_becomes_forcefits_adam_with_a_warning() {
    let case = Case {
        train: edit(TRAIN, 9, "lm batchsize=5000 learnrate=0.1d0"),
        ..Default::default()
    };
    let input = case.read().unwrap();
    assert_eq!(input.config.optimizer.kind, OptimizerKind::Adam);
    let warned = input.warnings.join("\n");
    assert!(
        warned.contains(
            "train.in:9: METHOD: train.x's Levenberg-Marquardt is replaced by forcefit's Adam"
        ),
        "{warned}"
    );
    let overrides = Overrides {
        optimizer: Some(OptimizerKind::Adam),
        ..Default::default()
    };
    let input = case.read_with(&overrides).unwrap();
    assert_eq!(input.config.optimizer.lr, super::super::RECIPE_LR);
    assert!(
        input
            .warnings
            .join("\n")
            .contains("train.x's lm replaced by --optimizer")
    );
}
