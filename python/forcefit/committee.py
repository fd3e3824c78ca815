"""A committee of models as one ASE calculator, with the model deviation."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import all_changes

from . import _convert
from ._native import NativeCommittee
from .calculator import results

#: The deviation keys a :class:`Committee` adds to ``calc.results``.
DEVIATION_KEYS = (
    "max_devi_v",
    "min_devi_v",
    "avg_devi_v",
    "max_devi_f",
    "min_devi_f",
    "avg_devi_f",
    "devi_e",
    "force_deviation",
)


class Committee(AseCalculator):
    """Two or more models of the same elements run as one calculator.

    ``energy``, ``energies``, ``forces`` and ``stress`` are the members'
    means. ``calc.results`` also holds DP-GEN's model deviation, with
    deepmd-kit's definitions (population standard deviations over the
    members, as ``dp model-devi`` and ``forcefit deviation``):

    - ``force_deviation``: ε_i = √⟨‖F_i − ⟨F_i⟩‖²⟩ per atom (divided by
      ‖⟨F_i⟩‖ + ν when ``relative=ν`` is given); ``max_devi_f``,
      ``min_devi_f``, ``avg_devi_f`` its max, min and mean over atoms;
    - ``max_devi_v``, ``min_devi_v``, ``avg_devi_v``: of the 9 components
      of the virial per atom, the largest and smallest deviation and
      √(Σσ²)/3;
    - ``devi_e``: the deviation of the energy per atom.

    The members' own predictions are in ``results["member_energy"]``
    (M), ``results["member_forces"]`` (M × n × 3) and
    ``results["member_virial"]`` (M × 3 × 3).

    Args:
        models: one entry per member, each a model as :class:`Calculator`
            takes it.
        threads: worker threads (a pool of its own); ``None``: every core.
        relative: ν of deepmd-kit's relative force deviation.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(
        self,
        models: Sequence[_convert.ModelSpec],
        threads: Optional[int] = None,
        relative: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.native = NativeCommittee([_convert.model_paths(m) for m in models], threads)
        self.relative = relative

    def calculate(
        self,
        atoms: Optional[Atoms] = None,
        properties: Sequence[str] = ("energy",),
        system_changes: Sequence[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        members, deviation = self.native.predict(*_convert.structure(self.atoms), self.relative)
        energy = np.array([m[0] for m in members])
        forces = np.array([m[2] for m in members])
        virial = np.array([m[3] for m in members])
        mean = results(
            self.atoms,
            float(energy.mean()),
            np.mean([m[1] for m in members], axis=0),
            forces.mean(axis=0),
            virial.mean(axis=0),
        )
        mean.update(deviation)
        mean.update(member_energy=energy, member_forces=forces, member_virial=virial)
        self.results = mean

    def get_deviation(self, atoms: Optional[Atoms] = None) -> dict:
        """The model deviation of ``atoms`` (the keys of :data:`DEVIATION_KEYS`)."""
        self.get_forces(atoms)
        return {k: self.results[k] for k in DEVIATION_KEYS}
