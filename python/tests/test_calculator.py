"""forcefit.Calculator against other programs' numbers and against
finite differences."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

import forcefit
from conftest import assert_relative, case_atoms, shared


def test_nep_equals_calorine_oracle(nep_oracle):
    """Energies, per-atom energies, forces, virial (as stress) and
    descriptors equal NEP_CPU's (calorine) to 1e-10 relative."""
    model, cases = nep_oracle
    calc = forcefit.Calculator(model)
    for case in cases:
        atoms = case_atoms(case)
        atoms.calc = calc
        what = case["name"]
        assert_relative(atoms.get_potential_energy(), case["energy"], 1e-10, f"{what} energy")
        assert_relative(atoms.get_potential_energies(), case["atomic_energies"], 1e-10, f"{what} energies")
        assert_relative(atoms.get_forces(), case["forces"], 1e-10, f"{what} forces")
        virial = np.array(case["virial"]).reshape(3, 3)
        expected = -virial / atoms.get_volume()
        expected = expected[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        assert_relative(atoms.get_stress(), expected, 1e-10, f"{what} stress")
        assert_relative(calc.get_descriptors(atoms), case["descriptors"], 1e-10, f"{what} descriptors")


def test_nep_equals_calorine_live(nep_oracle):
    """The same structures through calorine's CPUNEP itself."""
    cpunep = pytest.importorskip("calorine.calculators", reason="calorine is not installed").CPUNEP
    model, cases = nep_oracle
    ours, theirs = forcefit.Calculator(model), cpunep(str(model))
    for case in cases:
        a, b = case_atoms(case), case_atoms(case)
        a.calc, b.calc = ours, theirs
        what = case["name"]
        assert_relative(a.get_potential_energy(), b.get_potential_energy(), 1e-10, f"{what} energy")
        assert_relative(a.get_forces(), b.get_forces(), 1e-10, f"{what} forces")
        assert_relative(a.get_stress(), b.get_stress(), 1e-10, f"{what} stress")


def _water_box(seed: int = 3, n: int = 16) -> Atoms:
    """n water molecules at random orientations on a loose grid."""
    rng = np.random.default_rng(seed)
    base = molecule("H2O")
    side = int(np.ceil(n ** (1 / 3)))
    spacing = 3.1
    atoms = Atoms(cell=np.eye(3) * side * spacing + rng.normal(0, 0.05, (3, 3)), pbc=True)
    for k in range(n):
        m = base.copy()
        m.rotate(rng.uniform(0, 360), rng.normal(size=3))
        grid = np.array([k % side, (k // side) % side, k // side // side], dtype=float)
        m.translate((grid + 0.5) * spacing + rng.normal(0, 0.1, 3))
        atoms += m
    return atoms


def test_deepmd_equals_deepmd_kit():
    """deepmd-kit's numpy backend (DeepPot on the .yaml) on a periodic
    water box and on a cluster: energies and atomic energies to 1e-10;
    forces against central differences of deepmd-kit's energy (its numpy
    backend has no derivatives: its forces come back as NaN)."""
    infer = pytest.importorskip("deepmd.infer", reason="deepmd-kit is not installed")
    path = shared("oracle", "deepmd", "deeppot_sea.yaml")
    dp = infer.DeepPot(str(path))
    type_map = dp.get_type_map()
    calc = forcefit.Calculator(path)
    box = _water_box()
    cluster = molecule("H2O") + molecule("H2O")
    cluster.positions[3:] += [2.8, 0.3, 0.1]
    for atoms in (box, cluster):
        atoms.calc = calc
        types = np.array([type_map.index(s) for s in atoms.get_chemical_symbols()])
        cell = atoms.cell.array.reshape(1, 9) if atoms.pbc.any() else None

        def energy(positions, atomic=False):
            out = dp.eval(positions.reshape(1, -1), cell, types, atomic=atomic)
            return (float(np.ravel(out[0])[0]), np.ravel(out[3])) if atomic else float(np.ravel(out[0])[0])

        e, atomic = energy(atoms.positions, atomic=True)
        assert_relative(atoms.get_potential_energy(), e, 1e-10, "deepmd energy")
        assert_relative(atoms.get_potential_energies(), atomic, 1e-10, "deepmd atomic energies")
        forces = atoms.get_forces()
        fmax = max(1.0, np.abs(forces).max())
        h = 1e-4
        for i in (0, 1, len(atoms) - 1):
            for k in range(3):
                plus, minus = atoms.positions.copy(), atoms.positions.copy()
                plus[i, k] += h
                minus[i, k] -= h
                difference = -(energy(plus) - energy(minus)) / (2 * h)
                assert abs(forces[i, k] - difference) < 1e-6 * fmax, (i, k, forces[i, k], difference)


def test_aenet_equals_predict_x():
    """aenet's predict.x (full-precision build) on the TiO2 oracle cells,
    several of them smaller than the 6 Å cutoff."""
    root = shared("oracle", "aenet", "tio2")
    data = json.loads((root / "tio2_predict.json").read_text())
    calc = forcefit.Calculator({"Ti": root / "potential.Ti.nn", "O": root / "potential.O.nn"})
    for case in data["cases"]:
        atoms = case_atoms(case)
        atoms.calc = calc
        what = case["file"]
        assert_relative(atoms.get_potential_energy(), case["energy_full"], 1e-10, f"{what} energy")
        forces = np.array(case["forces_full"])
        assert np.abs(atoms.get_forces() - forces).max() < 1e-8, f"{what} forces"
        assert_relative(atoms.get_potential_energies(), case["atomic_energies_full"], 1e-9, f"{what} energies")
    ascii = forcefit.Calculator([root / "potential.Ti.nn.ascii", root / "potential.O.nn.ascii"])
    atoms = case_atoms(data["cases"][0])
    atoms.calc = ascii
    assert_relative(atoms.get_potential_energy(), data["cases"][0]["energy_full"], 1e-10, "ascii energy")


def _strained_energy(atoms: Atoms, eps: np.ndarray) -> float:
    a = atoms.copy()
    a.calc = atoms.calc
    a.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    return a.get_potential_energy()


@pytest.mark.parametrize("family", ["nep", "aenet"])
def test_stress_is_the_strain_derivative(nep_oracle, family):
    """σ = (1/V) ∂E/∂ε by central differences, in a triclinic cell."""
    if family == "nep":
        model, cases = nep_oracle
        atoms = case_atoms(cases[0])[:40]
        atoms.set_cell(cases[0]["cell"])
        calc = forcefit.Calculator(model)
    else:
        root = shared("oracle", "aenet", "tio2")
        data = json.loads((root / "tio2_predict.json").read_text())
        atoms = case_atoms(data["cases"][3])
        calc = forcefit.Calculator([root / "potential.Ti.nn", root / "potential.O.nn"])
    rng = np.random.default_rng(7)
    atoms.rattle(0.05, rng=rng)
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.1, (3, 3)), scale_atoms=True)
    atoms.calc = calc
    stress = atoms.get_stress(voigt=False)
    h = 1e-5
    volume = atoms.get_volume()
    for i in range(3):
        for j in range(3):
            eps = np.zeros((3, 3))
            eps[i, j] = eps[j, i] = h / (1 if i == j else 2)
            derivative = (_strained_energy(atoms, eps) - _strained_energy(atoms, -eps)) / (2 * h)
            expected = derivative / volume
            assert abs(stress[i, j] - expected) < 1e-6 * max(1.0, np.abs(stress).max()), (i, j, stress[i, j], expected)


def test_cluster_has_no_stress_and_forces_match_differences(nep_oracle):
    """A non-periodic molecule: forces are −∂E/∂r, stress is absent."""
    model, cases = nep_oracle
    atoms = case_atoms(cases[0])[:12]
    atoms.pbc = False
    atoms.cell = None
    atoms.calc = forcefit.Calculator(model)
    forces = atoms.get_forces()
    h = 1e-5
    for i in (0, 5, 11):
        for k in range(3):
            shifted = []
            for sign in (1, -1):
                a = atoms.copy()
                a.positions[i, k] += sign * h
                a.calc = atoms.calc
                shifted.append(a.get_potential_energy())
            assert abs(-(shifted[0] - shifted[1]) / (2 * h) - forces[i, k]) < 1e-6
    assert "stress" not in atoms.calc.results
    with pytest.raises(Exception):
        atoms.get_stress()


def test_cell_smaller_than_the_cutoff(nep_oracle):
    """A 2-atom rock-salt cell (images beyond the first shell) equals the
    same crystal as a 4×4×4 supercell, per atom."""
    model, _ = nep_oracle
    calc = forcefit.Calculator(model)
    small = bulk("PbTe", "rocksalt", a=6.46)
    small.rattle(0.02, seed=1)
    big = small.repeat((4, 4, 4))
    small.calc = calc
    big.calc = forcefit.Calculator(model)
    assert max(small.cell.lengths()) < calc.cutoff
    e_small = small.get_potential_energy()
    assert abs(big.get_potential_energy() / 64 - e_small) < 1e-9 * abs(e_small)
    assert np.abs(big.get_forces()[:2] - small.get_forces()).max() < 1e-9
    assert np.abs(big.get_stress() - small.get_stress()).max() < 1e-9


def test_threads_do_not_change_results(nep_oracle):
    model, cases = nep_oracle
    atoms = case_atoms(cases[0]).repeat((3, 3, 3))
    one, two = forcefit.Calculator(model, threads=1), forcefit.Calculator(model, threads=2)
    atoms.calc = one
    f1 = atoms.get_forces().copy()
    atoms.calc = two
    assert np.array_equal(f1, atoms.get_forces())


def test_recomputes_when_positions_change(nep_oracle):
    model, cases = nep_oracle
    atoms = case_atoms(cases[0])
    atoms.calc = forcefit.Calculator(model)
    e0 = atoms.get_potential_energy()
    atoms.positions[0] += 0.1
    assert atoms.get_potential_energy() != e0
    atoms.set_cell(atoms.cell.array * 1.01, scale_atoms=True)
    assert atoms.get_potential_energy() != e0


def test_python_threads_share_a_calculator(nep_oracle):
    """The GIL is released while the model computes: Python threads can
    share a calculator's native model and get the sequential numbers."""
    from concurrent.futures import ThreadPoolExecutor

    model, cases = nep_oracle
    calc = forcefit.Calculator(model, threads=1)
    frames = [case_atoms(c) for c in cases]
    arrays = [forcefit._convert.structure(a) for a in frames]
    alone = [calc.native.predict(*a)[0] for a in arrays]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda a: calc.native.predict(*a)[0], arrays))
    assert together == alone
