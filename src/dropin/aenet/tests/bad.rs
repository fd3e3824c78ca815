//! One defect per case, written to a file: the error names that file, the
//! line and the keyword.

use super::small::{Case, GENERATE, TRAIN, edit, stp};

/// Reads `case` and checks the error starts with `file:line: KEYWORD:` and
/// contains `needle`.
#[track_caller]
fn fails(case: Case, file: &str, line: usize, keyword: &str, needle: &str) {
    let e = match case.read() {
        Ok(_) => panic!("expected an error at {file}:{line}"),
        Err(e) => e.to_string(),
    };
    let head = format!("{file}:{line}: {keyword}: ");
    let (path, rest) = e.split_at(
        e.find(&head)
            .unwrap_or_else(|| panic!("no `{head}` in: {e}")),
    );
    assert!(
        path.ends_with('/'),
        "the error names a path ending in {file}: {e}"
    );
    assert!(rest.contains(needle), "no `{needle}` in: {e}");
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{e}");
    }
}

fn generate(text: String) -> Case {
    Case {
        generate: text,
        ..Default::default()
    }
}

fn train(text: String) -> Case {
    Case {
        train: text,
        ..Default::default()
    }
}

#[test]
fn missing_files_keyword() {
    let text: String = GENERATE
        .lines()
        .take(14)
        .map(|l| format!("{l}\n"))
        .collect();
    fails(
        generate(text),
        "generate.in",
        14,
        "FILES",
        "missing required keyword",
    );
}

#[test]
fn malformed_free_atom_energy() {
    let case = generate(edit(GENERATE, 5, "O   -432.5x"));
    fails(case, "generate.in", 5, "TYPES", "`-432.5x` is not a number");
}

#[test]
fn files_count_disagrees_with_the_list() {
    let case = generate(edit(GENERATE, 16, "3"));
    fails(
        case,
        "generate.in",
        15,
        "FILES",
        "the count says 3 structure files but 2 follow",
    );
}

#[test]
fn types_count_disagrees_with_the_list() {
    let case = generate(edit(GENERATE, 4, "3"));
    fails(
        case,
        "generate.in",
        3,
        "TYPES",
        "the count says 3 species but 2 follow",
    );
}

#[test]
fn setups_element_not_in_types() {
    let case = generate(edit(GENERATE, 10, "Zr  O.stp"));
    fails(
        case,
        "generate.in",
        10,
        "SETUPS",
        "Zr is not in TYPES (O, Ti)",
    );
}

#[test]
fn unknown_generate_keyword() {
    let case = generate(edit(GENERATE, 2, "FORCEPERCENT 25"));
    fails(case, "generate.in", 2, "FORCEPERCENT", "unknown keyword");
}

#[test]
fn setup_atom_differs_from_its_setups_element() {
    let case = Case {
        o: stp("Ti"),
        ..Default::default()
    };
    fails(case, "O.stp", 4, "ATOM", "Ti, but");
}

#[test]
fn setup_env_element_not_in_types() {
    let case = Case {
        ti: edit(&stp("Ti"), 7, "Zr"),
        ..Default::default()
    };
    fails(case, "Ti.stp", 7, "ENV", "Zr is not in generate.in's TYPES");
}

#[test]
fn setup_env_orders_differ() {
    let o = edit(&edit(&stp("O"), 6, "O"), 7, "Ti");
    let case = Case {
        o,
        ..Default::default()
    };
    fails(case, "O.stp", 5, "ENV", "one species order");
}

#[test]
fn behler_basis_is_refused() {
    let case = Case {
        ti: edit(&stp("Ti"), 9, "BASIS type=Behler2011"),
        ..Default::default()
    };
    fails(
        case,
        "Ti.stp",
        9,
        "BASIS",
        "Behler symmetry functions are refused",
    );
}

#[test]
fn behler_functions_are_refused() {
    let ti = edit(&stp("Ti"), 9, "FUNCTIONS type=Behler2011\n1");
    let case = Case {
        ti: edit(&ti, 11, ""),
        ..Default::default()
    };
    fails(
        case,
        "Ti.stp",
        9,
        "FUNCTIONS",
        "Behler symmetry functions are not supported",
    );
}

#[test]
fn chebyshev_settings_differ_between_elements() {
    let o = edit(
        &stp("O"),
        10,
        "radial_Rc = 4.0 radial_N = 5 angular_Rc = 3.0 angular_N = 2",
    );
    let case = Case {
        o,
        ..Default::default()
    };
    fails(
        case,
        "O.stp",
        10,
        "BASIS",
        "one Chebyshev basis for every species",
    );
}

#[test]
fn chebyshev_order_out_of_bounds() {
    let ti = edit(
        &stp("Ti"),
        10,
        "radial_Rc = 4.0 radial_N = 100000 angular_Rc = 3.0 angular_N = 2",
    );
    let case = Case {
        ti,
        ..Default::default()
    };
    fails(
        case,
        "Ti.stp",
        10,
        "BASIS",
        "radial_N = 100000 is not an order",
    );
}

#[test]
fn networks_missing_an_element() {
    let case = train(edit(TRAIN, 14, ""));
    fails(case, "train.in", 12, "NETWORKS", "no network for O");
}

#[test]
fn hidden_layer_count_disagrees_with_the_layers() {
    let case = train(edit(TRAIN, 13, "  Ti Ti.nn 3 3:tanh 3:tanh"));
    fails(
        case,
        "train.in",
        13,
        "NETWORKS",
        "3 hidden layers announced but 2 given",
    );
}

#[test]
fn activation_aenet_does_not_have() {
    let case = train(edit(TRAIN, 14, "  O  O.nn  2 3:tanh 3:relu"));
    fails(
        case,
        "train.in",
        14,
        "NETWORKS",
        "aenet has no activation `relu`",
    );
}

#[test]
fn layer_width_out_of_bounds() {
    let case = train(edit(TRAIN, 14, "  O  O.nn  2 3:tanh 99999999:tanh"));
    fails(case, "train.in", 14, "NETWORKS", "the width must be 1..=");
}

#[test]
fn unknown_train_keyword() {
    let case = train(edit(TRAIN, 1, "LEARNING_RATE 0.1"));
    fails(case, "train.in", 1, "LEARNING_RATE", "unknown keyword");
}

#[test]
fn missing_testpercent() {
    let case = train(edit(TRAIN, 2, "! TESTPERCENT 25"));
    fails(
        case,
        "train.in",
        14,
        "TESTPERCENT",
        "missing required keyword",
    );
}

#[test]
fn keyword_given_twice() {
    let case = train(edit(TRAIN, 4, "iterations 5"));
    fails(
        case,
        "train.in",
        4,
        "ITERATIONS",
        "given twice (first at line 3)",
    );
}

#[test]
fn malformed_iterations() {
    let case = train(edit(TRAIN, 3, "ITERATIONS 3.5"));
    fails(
        case,
        "train.in",
        3,
        "ITERATIONS",
        "`3.5` is not a non-negative integer",
    );
}

#[test]
fn alpha_out_of_range() {
    let case = train(edit(TRAIN, 7, "alpha=1.5"));
    fails(
        case,
        "train.in",
        7,
        "FORCES",
        "alpha=1.5 is not a weight in [0, 1]",
    );
}

#[test]
fn unknown_train_x_method_is_refused() {
    let case = train(edit(TRAIN, 9, "newton"));
    fails(case, "train.in", 9, "METHOD", "unknown method `newton`");
}

#[test]
fn torch_optimizer_forcefit_lacks() {
    let case = train(edit(TRAIN, 9, "method=adagrad lr=0.01"));
    fails(
        case,
        "train.in",
        9,
        "METHOD",
        "torch's adagrad is not in forcefit",
    );
}

#[test]
fn maxenergy_is_refused() {
    let case = train(edit(TRAIN, 1, "MAXENERGY -0.05"));
    fails(case, "train.in", 1, "MAXENERGY", "not supported");
}

#[test]
fn networks_element_not_in_types() {
    let case = train(edit(TRAIN, 14, "  Zr Zr.nn 2 3:tanh 3:tanh"));
    fails(
        case,
        "train.in",
        14,
        "NETWORKS",
        "Zr is not in generate.in's TYPES",
    );
}

#[test]
fn unreadable_setup_is_reported_at_its_line() {
    let case = generate(edit(GENERATE, 9, "Ti  missing.stp"));
    fails(case, "generate.in", 9, "SETUPS", "missing.stp");
}
