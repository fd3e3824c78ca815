"""forcefit.train from Python: on ASE structures, Ctrl-C and resume, and
the errors users see."""

from __future__ import annotations

import _thread
import json
import signal
import threading
import time

import numpy as np
import pytest
from ase.io import read

import forcefit
from conftest import REPO, assert_relative, shared

# A small NEP that trains in seconds.
MODEL = {"cutoff": [4.0, 3.5], "n_max": [3, 3], "basis_size": [6, 6], "l_max": [4, 0, 0], "neuron": 8}


def water():
    """Ten frames of a VASP water MD (OUTCAR), as ASE reads them."""
    return read(shared("datasets", "vasp", "OUTCAR.h2o.md.10"), index=":")


def test_train_on_atoms_and_calorine_agrees(tmp_path):
    frames = water()
    result = forcefit.train(
        train=frames[:8],
        test=frames[8:],
        model=MODEL,
        optimizer={"type": "adam", "lr": 0.01, "batch_size": 4},
        train_options={"epochs": 15, "seed": 3},
        output_dir=tmp_path / "run",
        quiet=True,
        threads=2,
    )
    assert result.epochs == 15
    assert [p.name for p in result.model_files] == ["nep.txt"]
    assert (tmp_path / "run" / "forcefit.toml").is_file()
    curve = result.learning_curve
    assert curve and isinstance(curve[-1]["loss"], float) and curve[-1]["epoch"] == 15
    assert result.summary["epochs"] == 15
    # The labels went in as VASP gave them: the training set's reference
    # energies in the written data equal ASE's.
    written = read(tmp_path / "run" / "data" / "train.xyz", index=":")
    assert np.allclose([a.get_potential_energy() for a in written], [a.get_potential_energy() for a in frames[:8]], rtol=0, atol=0)
    atoms = frames[9].copy()
    atoms.calc = result.calculator()
    ours = (atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress())
    cpunep = pytest.importorskip("calorine.calculators", reason="calorine is not installed").CPUNEP
    theirs = frames[9].copy()
    theirs.calc = cpunep(str(result.model_files[0]))
    assert_relative(ours[0], theirs.get_potential_energy(), 1e-10, "energy")
    assert_relative(ours[1], theirs.get_forces(), 1e-10, "forces")
    assert_relative(ours[2], theirs.get_stress(), 1e-10, "stress")


def test_committee_training(tmp_path):
    frames = water()
    result = forcefit.train(
        train=frames,
        model=MODEL,
        train_options={"epochs": 3},
        committee=2,
        output_dir=tmp_path,
        quiet=True,
    )
    assert len(result.members) == 2
    assert result.members[1].model_files[0] == tmp_path / "member-1" / "nep.txt"
    dev = result.committee().get_deviation(frames[0].copy())
    assert dev["max_devi_f"] > 0


def test_ctrl_c_writes_a_checkpoint_and_resume_finishes(tmp_path):
    frames = water()
    # Far more epochs than run before the interrupt arrives (about a
    # thousand a second here), so that it cannot come after the end.
    options = {"epochs": 20000, "checkpoint_every": 1}
    kwargs = dict(
        train=frames,
        model=MODEL,
        optimizer={"batch_size": 1},
        output_dir=tmp_path,
        quiet=True,
        threads=1,
    )
    checkpoint = tmp_path / "checkpoint.json"
    running = threading.Event()
    running.set()

    def interrupt_after_first_checkpoint():
        while running.is_set() and not checkpoint.exists():
            time.sleep(0.01)
        if running.is_set():
            _thread.interrupt_main()

    # A shell starts background jobs with SIGINT ignored, and then Python
    # installs no handler and interrupt_main() does nothing: install it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=interrupt_after_first_checkpoint, daemon=True)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            forcefit.train(**kwargs, train_options=options)
    finally:
        running.clear()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert checkpoint.is_file()
    reached = json.loads(checkpoint.read_text())["epoch"]
    assert 1 <= reached < 20000
    # The run length may change on resume: finish a few epochs later.
    end = {**options, "epochs": reached + 5}
    stopped = forcefit.train(**kwargs, train_options=end, resume=True)
    assert stopped.epochs == reached + 5
    assert stopped.summary["epochs"] == reached + 5


def test_bad_model_key_names_the_key(tmp_path):
    with pytest.raises(forcefit.InputError, match="n_max_radial"):
        forcefit.train(train=water(), model={"n_max_radial": 4}, output_dir=tmp_path, quiet=True)


def test_bad_files(tmp_path, nep_oracle):
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        forcefit.Calculator(tmp_path / "no-such-model.txt")
    bad = tmp_path / "nep.txt"
    bad.write_text("nep4 2 Te Pb\ncutoff 8 four 20 20\n")
    with pytest.raises(forcefit.InputError, match=r"nep\.txt:2"):
        forcefit.Calculator(bad)
    model, _ = nep_oracle
    from ase import Atoms

    with pytest.raises(forcefit.InputError, match='"Si" is not in the model'):
        forcefit.Calculator(model).get_potential_energy(Atoms("Si2", positions=[[0, 0, 0], [0, 0, 2.3]]))
    with pytest.raises(forcefit.InputError, match="unknown kind"):
        forcefit.train(tmp_path, kind="lammps")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('[data]\ntrain = "x.xyz"\n[train]\nepochs = "many"\n')
    with pytest.raises(forcefit.InputError, match=r"bad\.toml:4"):
        forcefit.train(bad_config)


def test_version():
    assert forcefit.__version__.count(".") == 2


def test_nep_drop_in_and_config_file(tmp_path):
    """kind="nep" reads GPUMD's nep.in and writes GPUMD's files; the
    forcefit.toml a structures run writes trains again as a config file."""
    examples = REPO / "examples" / "si"
    if not (examples / "train.xyz").is_file():
        pytest.skip("examples/si is missing")
    run = tmp_path / "gpumd"
    run.mkdir()
    (run / "train.xyz").write_bytes((examples / "train.xyz").read_bytes())
    (run / "nep.in").write_text("type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nneuron 8\nbatch 8\ngeneration 16\nseed 3\n")
    result = forcefit.train(run, kind="nep", quiet=True, threads=1)
    assert result.model_files == [run / "nep.txt"]
    assert (run / "loss.out").is_file()
    assert result.calculator().species == ["Si"]
    first = forcefit.train(train=water(), model=MODEL, train_options={"epochs": 2}, output_dir=tmp_path / "a", quiet=True)
    again = forcefit.train(tmp_path / "a" / "forcefit.toml", output_dir=tmp_path / "b", quiet=True)
    assert (tmp_path / "b" / "nep.txt").read_text() == first.model_files[0].read_text()


def test_deepmd_kit_drop_in(tmp_path):
    """kind="dp" trains what deepmd-kit's input.json describes (its data
    paths relative to the working directory, as for `dp train`), writing
    model.yaml and lcurve.out; the result's calculator loads it."""
    data = shared("datasets", "water-deepmd", "data_3")
    config = {
        "model": {
            "type_map": ["O", "H"],
            "descriptor": {"type": "se_e2_a", "sel": "auto", "rcut": 3.5, "rcut_smth": 0.5,
                           "neuron": [4, 8], "axis_neuron": 4, "seed": 1},
            "fitting_net": {"neuron": [8, 8], "seed": 1},
        },
        "learning_rate": {"type": "exp", "decay_steps": 20, "start_lr": 0.002, "stop_lr": 1e-5},
        "loss": {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1,
                 "start_pref_f": 1000, "limit_pref_f": 1, "start_pref_v": 0, "limit_pref_v": 0},
        "training": {
            "training_data": {"systems": [str(data)], "batch_size": 1},
            "validation_data": {"systems": [str(data)], "batch_size": 1, "numb_btch": 1},
            "numb_steps": 20, "seed": 3, "disp_file": "lcurve.out", "disp_freq": 10,
        },
    }
    path = tmp_path / "input.json"
    path.write_text(json.dumps(config))
    result = forcefit.train(path, kind="dp", output_dir=tmp_path / "out", quiet=True, threads=1)
    assert [p.name for p in result.model_files] == ["model.yaml"]
    assert (tmp_path / "out" / "lcurve.out").is_file()
    frame = forcefit.Calculator(result.model_files[0])
    assert sorted(frame.species) == ["H", "O"]
    assert result.learning_curve, "no learning-curve rows"


def test_aenet_drop_in(tmp_path):
    """kind="aenet" reads aenet's generate.in (with its .stp setups) and
    aenet-PyTorch's train.in from a directory and writes one network per
    element under its NETWORKS name; Calculator loads the pair of files and
    predicts what the result's own calculator predicts."""
    xsf = shared("datasets", "tio2-aenet", "xsf")
    files = sorted(xsf.glob("*.xsf"))[:8]
    run = tmp_path / "aenet"
    run.mkdir()
    listing = "\n".join(str(f) for f in files)
    (run / "generate.in").write_text(
        "OUTPUT TiO.train\n\nTYPES\n2\nO   -432.503149303\nTi -1604.604515075\n\n"
        f"SETUPS\nTi  Ti.stp\nO   O.stp\n\nFILES\n{len(files)}\n{listing}\n"
    )
    for element in ("Ti", "O"):
        (run / f"{element}.stp").write_text(
            f"DESCR\n tiny setup\nEND DESCR\n\nATOM {element}\n\nENV 2\nTi\nO\n\nRMIN 0.75d0\n\n"
            "BASIS type=Chebyshev\nradial_Rc = 4.0  radial_N = 4 angular_Rc = 3.0  angular_N = 2\n"
        )
    (run / "train.in").write_text(
        "TRAININGSET TiO.train.ascii\nTESTPERCENT 25\nITERATIONS 3\nBATCHSIZE 2\n\n"
        "METHOD\nmethod=adam lr=0.001\n\nNETWORKS\n"
        "  Ti  Ti.nn  2  4:tanh  4:tanh\n  O   O.nn   2  4:tanh  4:tanh\n"
    )
    result = forcefit.train(run, kind="aenet", quiet=True, threads=1)
    assert sorted(p.name for p in result.model_files) == ["O.nn", "Ti.nn"]
    atoms = read(files[0])
    ours = forcefit.Calculator([str(p) for p in result.model_files])
    theirs = result.calculator()
    assert ours.species == theirs.species
    a, b = atoms.copy(), atoms.copy()
    a.calc, b.calc = ours, theirs
    assert a.get_potential_energy() == b.get_potential_energy()
    assert np.isfinite(a.get_forces()).all()
    assert len(result.learning_curve) >= 3
