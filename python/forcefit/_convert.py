"""Conversions between ASE's objects and the native module's arrays."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence, Union

import numpy as np
from ase import Atoms
from ase.stress import full_3x3_to_voigt_6_stress

#: A model: one path (``nep.txt``, a deepmd-kit ``.yaml``/``.json``), or
#: aenet's files, one per element, as a list or as ``{"Ti": "Ti.nn", ...}``
#: (aenet-python's form).
ModelSpec = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], Mapping[str, Union[str, os.PathLike]]]


def model_paths(model: ModelSpec) -> list[str]:
    """The file paths of a model given in any of :data:`ModelSpec`'s forms."""
    if isinstance(model, (str, os.PathLike)):
        return [os.fspath(model)]
    if isinstance(model, Mapping):
        return [os.fspath(p) for p in model.values()]
    return [os.fspath(p) for p in model]


def structure(atoms: Atoms) -> tuple[list[str], np.ndarray, Optional[np.ndarray], tuple[bool, bool, bool]]:
    """(species, positions, cell or None, pbc) of ``atoms``, as the native
    module takes them. A structure periodic in no direction is a cluster:
    its cell (ASE often carries a zero one) is not passed."""
    pbc = tuple(bool(p) for p in atoms.pbc)
    positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64) if any(pbc) else None
    return atoms.get_chemical_symbols(), positions, cell, pbc  # type: ignore[return-value]


def stress_from_virial(virial: np.ndarray, atoms: Atoms) -> Optional[np.ndarray]:
    """ASE's stress (Voigt order xx yy zz yz xz xy, eV/Å³) from the virial
    W = −σV (eV, forcefit's and GPUMD's sign); None for a cluster."""
    if not atoms.pbc.any():
        return None
    return full_3x3_to_voigt_6_stress(-np.asarray(virial).reshape(3, 3) / atoms.get_volume())


def virial_from_stress(stress: np.ndarray, volume: float) -> np.ndarray:
    """The 9-component virial W = −σV from ASE's stress (Voigt 6 or 3×3)."""
    s = np.asarray(stress, dtype=np.float64)
    if s.shape == (6,):
        xx, yy, zz, yz, xz, xy = s
        s = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    return (-s.reshape(3, 3) * volume).ravel()
