"""An ASE calculator over any forcefit model."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import all_changes

from . import _convert
from ._native import NativeModel


class Calculator(AseCalculator):
    """An ASE calculator for a forcefit model of any family.

    Args:
        model: ``nep.txt`` (NEP3/4/5, with or without ZBL), deepmd-kit's
            serialized ``.yaml``/``.json`` (se_e2_a), or aenet's potential
            files (``.nn`` or ``.nn.ascii``) as a list or a dict
            ``{"Ti": "Ti.nn", "O": "O.nn"}``; the family is recognised by
            content, as ``forcefit predict`` does.
        threads: worker threads for this calculator (a pool of its own);
            ``None`` uses every core.

    Properties: ``energy`` and ``free_energy`` (eV), ``energies`` (per
    atom, eV), ``forces`` (eV/Å), ``stress`` (eV/Å³, ASE's sign and Voigt
    order xx yy zz yz xz xy; periodic structures only). The GIL is
    released while the model computes, so Python threads run meanwhile.

    Example::

        from ase.io import read
        import forcefit
        atoms = read("POSCAR")
        atoms.calc = forcefit.Calculator("nep.txt")
        print(atoms.get_potential_energy(), atoms.get_stress())
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, model: _convert.ModelSpec, threads: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.native = NativeModel(_convert.model_paths(model), threads)

    @property
    def species(self) -> list[str]:
        """The elements the model knows."""
        return self.native.species

    @property
    def cutoff(self) -> float:
        """The model's largest cutoff, Å."""
        return self.native.cutoff

    def calculate(
        self,
        atoms: Optional[Atoms] = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, energies, forces, virial = self.native.predict(*_convert.structure(self.atoms))
        self.results = results(self.atoms, energy, energies, forces, virial)

    def get_descriptors(self, atoms: Optional[Atoms] = None) -> np.ndarray:
        """Every atom's descriptor, an (n_atoms, dim) array: the numbers
        ``forcefit predict --descriptors`` writes."""
        atoms = self.atoms if atoms is None else atoms
        if atoms is None:
            raise ValueError("get_descriptors needs atoms")
        return self.native.descriptors(*_convert.structure(atoms))


def results(atoms: Atoms, energy: float, energies: np.ndarray, forces: np.ndarray, virial: np.ndarray) -> dict:
    """ASE's results dict from a prediction (stress only when periodic)."""
    out = {
        "energy": energy,
        "free_energy": energy,
        "energies": energies,
        "forces": forces,
        "virial": virial,
    }
    stress = _convert.stress_from_virial(virial, atoms)
    if stress is not None:
        out["stress"] = stress
    return out
