"""ASE molecular dynamics with a forcefit calculator conserves energy."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet

import forcefit
from conftest import case_atoms


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nve_energy_drift(nep_oracle):
    """Velocity Verlet, 1 fs, 200 steps, 250 atoms of PbTe at 300 K with
    the trained PbTe NEP (with ZBL): total-energy drift < 1e-4 eV/atom."""
    model, cases = nep_oracle
    atoms = case_atoms(cases[0])
    assert len(atoms) >= 64
    atoms.calc = forcefit.Calculator(model)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(11))
    Stationary(atoms)
    total = [atoms.get_total_energy()]
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.attach(lambda: total.append(atoms.get_total_energy()), interval=10)
    dyn.run(200)
    drift = abs(total[-1] - total[0]) / len(atoms)
    spread = (max(total) - min(total)) / len(atoms)
    assert drift < 1e-4, f"drift {drift:.2e} eV/atom"
    assert spread < 1e-3, f"fluctuation {spread:.2e} eV/atom"
