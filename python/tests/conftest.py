"""Shared fixtures: the oracle files in ../shared beside the repository,
and skips (with the reason) where they or an optional oracle package are
missing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def shared(*parts: str) -> Path:
    """A path under ../shared, or a skip when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing (the shared oracle files live beside the repository)")
    return path


def case_atoms(case: dict) -> Atoms:
    """An oracle JSON case (symbols, positions, cell, pbc) as Atoms."""
    return Atoms(
        symbols=case["symbols"],
        positions=np.array(case["positions"], dtype=np.float64),
        cell=np.array(case["cell"], dtype=np.float64) if case.get("cell") is not None else None,
        pbc=case.get("pbc", [True, True, True]),
    )


@pytest.fixture(scope="session")
def nep_oracle() -> tuple[Path, list[dict]]:
    """calorine's (NEP_CPU's) numbers for pbte_zbl_nep.txt."""
    data = json.loads(shared("oracle", "nep", "pbte_zbl.json").read_text())
    return shared("oracle", "nep", data["model"]), data["cases"]


def assert_relative(ours, theirs, tol: float, what: str) -> None:
    """Every component within tol × the largest magnitude of the reference."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    scale = max(np.abs(theirs).max(initial=0.0), 1e-300)
    worst = np.abs(ours - theirs).max(initial=0.0) / scale
    assert worst <= tol, f"{what}: relative difference {worst:.3e} > {tol:.0e}"
