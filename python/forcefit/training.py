"""Training from Python: a configuration file, a peer's input, or a list
of labelled ASE structures."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
from ase import Atoms

from . import _convert, _native
from .calculator import Calculator
from .committee import Committee

PathLike = Union[str, os.PathLike]

#: ``kind`` values: forcefit's TOML, and the drop-ins' inputs.
KINDS = ("forcefit", "nep", "gnep", "dp", "aenet")


class TrainResult:
    """What a training run wrote.

    Attributes:
        output_dir: the run's directory.
        model_files: the best model's file(s) (aenet: one per element).
        best_epoch, epochs, steps: as in ``summary.json``.
        stopped: why the run ended early (a time limit, Ctrl-C), or None.
        members: for a committee, one :class:`TrainResult` per member
            (this object then describes member 0); else ``[self]``.
    """

    def __init__(self, run: Mapping[str, Any], members: Optional[list["TrainResult"]] = None) -> None:
        self.output_dir = Path(run["output_dir"])
        self.best_epoch: int = run["best_epoch"]
        self.epochs: int = run["epochs"]
        self.steps: int = run["steps"]
        self.stopped: Optional[str] = run["stopped"]
        written = [Path(p) for p in run["model_files"]]
        # aenet writes .nn and .nn.ascii of each element: one set suffices.
        binary = [p for p in written if not p.name.endswith(".ascii")]
        self.model_files: list[Path] = binary or written
        self.members: list[TrainResult] = members if members is not None else [self]

    def calculator(self, threads: Optional[int] = None) -> Calculator:
        """An ASE calculator for the best model."""
        return Calculator(self.model_files, threads=threads)

    def committee(self, threads: Optional[int] = None, relative: Optional[float] = None) -> Committee:
        """A :class:`Committee` calculator of every member (committees only)."""
        if len(self.members) < 2:
            raise ValueError("this run trained one model, not a committee")
        return Committee([m.model_files for m in self.members], threads=threads, relative=relative)

    @property
    def learning_curve(self) -> list[dict[str, Optional[float]]]:
        """The rows of ``loss.csv``, one per logged epoch: numbers as
        floats, None where a column is empty (validation epochs only)."""
        with open(self.output_dir / "loss.csv", newline="") as f:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]

    @property
    def summary(self) -> dict:
        """``summary.json``: the best model's errors, epochs, model settings."""
        with open(self.output_dir / "summary.json") as f:
            return json.load(f)

    def __repr__(self) -> str:
        files = ", ".join(str(p) for p in self.model_files)
        return f"TrainResult({files}, best_epoch={self.best_epoch}, epochs={self.epochs})"


def train(
    config: Optional[PathLike] = None,
    *,
    kind: str = "forcefit",
    train: Optional[Iterable[Atoms]] = None,
    test: Optional[Iterable[Atoms]] = None,
    model: Optional[Mapping[str, Any]] = None,
    optimizer: Optional[Mapping[str, Any]] = None,
    loss: Optional[Mapping[str, Any]] = None,
    train_options: Optional[Mapping[str, Any]] = None,
    data_options: Optional[Mapping[str, Any]] = None,
    output_dir: Optional[PathLike] = None,
    committee: Optional[int] = None,
    quiet: bool = False,
    resume: bool = False,
    threads: Optional[int] = None,
    energy_key: str = "energy",
) -> TrainResult:
    """Trains a model (or a committee) and returns what it wrote.

    Two forms:

    - ``train("config.toml")``: a forcefit configuration file;
      ``train(dir, kind="nep")`` (or ``"gnep"``) GPUMD's ``nep.in`` in
      ``dir``; ``train("input.json", kind="dp")`` deepmd-kit's input;
      ``train(dir, kind="aenet")`` aenet's ``generate.in`` and ``train.in``.
    - ``train(train=[atoms, ...], test=[...], model={...}, optimizer={...},
      loss={...}, train_options={...}, output_dir=...)``: labelled ASE
      structures, with the keys of the configuration file's ``[model]``,
      ``[optimizer]``, ``[loss]``, ``[train]`` and ``[data]`` sections
      (docs/training.md). Labels come from ``atoms.calc.results`` or else
      ``atoms.info``/``atoms.arrays``: ``energy`` (or ``energy_key``, e.g.
      ``"free_energy"`` for VASP's TOTEN), ``forces``, and ``stress``
      (converted to the virial W = −σV) or ``virial``. The structures go
      to ``output_dir/data/*.xyz`` and the configuration to
      ``output_dir/forcefit.toml``, which ``forcefit train`` runs as well.

    Progress goes to stderr unless ``quiet``. Ctrl-C stops the run after
    its current step, writes the checkpoint and raises
    ``KeyboardInterrupt``; the same call with ``resume=True`` continues.

    Raises:
        InputError: bad configuration or structures (the message names the
            file and line or the key).
        OSError: a file could not be read or written.
    """
    if kind not in KINDS:
        raise _native.InputError(f"kind: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if (config is None) == (train is None):
        raise _native.InputError("give either a configuration (config=...) or structures (train=[...]), not both")
    if train is not None:
        if kind != "forcefit":
            raise _native.InputError(f"kind={kind!r} reads a peer's input; structures train with kind='forcefit'")
        config = _write_run(
            list(train),
            None if test is None else list(test),
            sections={"model": model, "optimizer": optimizer, "loss": loss},
            train_options=dict(train_options or {}),
            data_options=dict(data_options or {}),
            output_dir=Path(output_dir or (train_options or {}).get("output_dir") or "forcefit-run"),
            energy_key=energy_key,
        )
        output_dir = None
    elif any(s is not None for s in (test, model, optimizer, loss, train_options, data_options)):
        raise _native.InputError(
            "test=, model=, optimizer=, loss=, train_options= and data_options= go with train=[...]; "
            "a configuration file holds its own"
        )
    runs = _native.train(
        kind,
        os.fspath(config),  # type: ignore[arg-type]
        None if output_dir is None else os.fspath(output_dir),
        resume,
        quiet,
        threads,
        committee,
    )
    if not runs:
        raise _native.InputError(f"{config}: the input asks for a prediction, not a training run")
    results = [TrainResult(r) for r in runs]
    if len(results) == 1:
        return results[0]
    return TrainResult(runs[0], members=results)


def _write_run(
    train: Sequence[Atoms],
    test: Optional[Sequence[Atoms]],
    sections: Mapping[str, Optional[Mapping[str, Any]]],
    train_options: dict,
    data_options: dict,
    output_dir: Path,
    energy_key: str,
) -> Path:
    """Writes the structures and ``forcefit.toml`` into ``output_dir``;
    returns the configuration's path."""
    output_dir = output_dir.absolute()
    data_dir = output_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    data = dict(data_options)
    data["train"] = _write_structures(data_dir / "train.xyz", train, energy_key, "train")
    if test is not None:
        data["test"] = _write_structures(data_dir / "test.xyz", test, energy_key, "test")
    train_options["output_dir"] = str(output_dir)
    document: dict[str, Any] = {"data": data}
    for name, section in sections.items():
        if section is not None:
            document[name] = dict(section)
    document["train"] = train_options
    text = _native.json_to_toml(json.dumps(_plain(document)))
    path = output_dir / "forcefit.toml"
    header = "# written by forcefit.train(...) from Python; `forcefit train` runs it as it is\n"
    path.write_text(header + text)
    return path


def _write_structures(path: Path, frames: Sequence[Atoms], energy_key: str, name: str) -> str:
    if not frames:
        raise _native.InputError(f"{name}: no structures given")
    rows = []
    for k, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise _native.InputError(f"{name}[{k}]: expected ase.Atoms, got {type(atoms).__name__}")
        energy, forces, virial = labels(atoms, energy_key)
        rows.append((*_convert.structure(atoms), energy, forces, virial))
    _native.write_xyz(os.fspath(path), rows)
    return str(path)


def labels(atoms: Atoms, energy_key: str = "energy") -> tuple[Optional[float], Optional[np.ndarray], Optional[np.ndarray]]:
    """(energy, forces, virial) of a labelled structure: from its
    calculator's results first, else from ``info``/``arrays``. The virial
    (9 values, W = −σV) comes from ``stress`` (ASE's sign, Voigt or 3×3)
    or is ``virial`` itself (3×3 or 9 values); clusters have none."""
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    energy = results.get(energy_key, atoms.info.get(energy_key))
    forces = results.get("forces", atoms.arrays.get("forces", atoms.arrays.get("force")))
    virial = None
    if atoms.pbc.any():
        if "stress" in results:
            virial = _convert.virial_from_stress(results["stress"], atoms.get_volume())
        elif "virial" in atoms.info:
            virial = np.asarray(atoms.info["virial"], dtype=np.float64).ravel()
        elif "stress" in atoms.info:
            virial = _convert.virial_from_stress(atoms.info["stress"], atoms.get_volume())
    return (
        None if energy is None else float(energy),
        None if forces is None else np.ascontiguousarray(forces, dtype=np.float64),
        virial,
    )


def _plain(value: Any) -> Any:
    """JSON-ready: paths as strings, numpy numbers as Python's, None dropped
    (TOML has no null; an absent key takes its default)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _number(text: str) -> Any:
    """A loss.csv cell: a float, None where empty (no validation that epoch)."""
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text
