"""forcefit.Committee: the mean and the model deviation, against numpy
computations from the members' own predictions."""

from __future__ import annotations

import numpy as np
import pytest

import forcefit
from conftest import case_atoms, shared


@pytest.fixture(scope="module")
def members(nep_oracle):
    """Two PbTe NEPs of the same elements: the oracle's (with ZBL) and the
    GPUMD-trained one of the PbTe data set."""
    model, cases = nep_oracle
    return [model, shared("datasets", "pbte", "nep.txt")], cases


def test_deviation_equals_numpy(members):
    models, cases = members
    atoms = case_atoms(cases[0])
    atoms.rattle(0.05, seed=2)
    committee = forcefit.Committee(models)
    atoms.calc = committee
    forces = atoms.get_forces()
    r = dict(committee.results)
    own = []
    for m in models:
        single = atoms.copy()
        single.calc = forcefit.Calculator(m)
        own.append((single.get_potential_energy(), single.get_forces(), single.calc.results["virial"]))
    e = np.array([o[0] for o in own])
    f = np.array([o[1] for o in own])  # members × atoms × 3
    w = np.array([o[2] for o in own]).reshape(len(models), 9)
    n = len(atoms)
    assert np.allclose(forces, f.mean(axis=0), rtol=0, atol=1e-12)
    assert np.isclose(atoms.get_potential_energy(), e.mean(), rtol=1e-14)
    eps = np.sqrt((f.std(axis=0) ** 2).sum(axis=1))
    assert np.allclose(r["force_deviation"], eps, rtol=1e-12, atol=1e-14)
    assert np.isclose(r["max_devi_f"], eps.max(), rtol=1e-12)
    assert np.isclose(r["min_devi_f"], eps.min(), rtol=1e-12)
    assert np.isclose(r["avg_devi_f"], eps.mean(), rtol=1e-12)
    sigma = (w / n).std(axis=0)
    assert np.isclose(r["max_devi_v"], sigma.max(), rtol=1e-12)
    assert np.isclose(r["min_devi_v"], sigma.min(), rtol=1e-12)
    assert np.isclose(r["avg_devi_v"], np.linalg.norm(sigma) / 3, rtol=1e-12)
    assert np.isclose(r["devi_e"], (e / n).std(), rtol=1e-12)
    assert r["member_forces"].shape == (2, n, 3)
    stress_mean = np.mean([forcefit.Calculator(m).get_stress(atoms) for m in models], axis=0)
    assert np.allclose(atoms.get_stress(), stress_mean, rtol=1e-12, atol=1e-14)


def test_relative_force_deviation(members):
    models, cases = members
    atoms = case_atoms(cases[1])
    nu = 0.5
    committee = forcefit.Committee(models, relative=nu)
    dev = committee.get_deviation(atoms)
    f = committee.results["member_forces"]
    eps = np.sqrt((f.std(axis=0) ** 2).sum(axis=1)) / (np.linalg.norm(f.mean(axis=0), axis=1) + nu)
    assert np.allclose(dev["force_deviation"], eps, rtol=1e-12, atol=1e-15)
    assert np.isclose(dev["max_devi_f"], eps.max(), rtol=1e-12)


def test_members_must_agree_on_elements(nep_oracle):
    model, _ = nep_oracle
    root = shared("oracle", "aenet", "tio2")
    aenet = [root / "potential.Ti.nn", root / "potential.O.nn"]
    with pytest.raises(forcefit.InputError, match="different elements"):
        forcefit.Committee([model, aenet])
    with pytest.raises(forcefit.InputError, match="at least 2"):
        forcefit.Committee([model])
