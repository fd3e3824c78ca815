"""Type stubs of the native module (built from python/src/ with pyo3)."""

from os import PathLike
from typing import Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

class InputError(ValueError): ...

_Path = Union[str, PathLike]
_Prediction = tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]

class NativeModel:
    def __init__(self, paths: Sequence[_Path], threads: Optional[int] = None) -> None: ...
    @property
    def species(self) -> list[str]: ...
    @property
    def cutoff(self) -> float: ...
    @property
    def family(self) -> str: ...
    @property
    def paths(self) -> list[str]: ...
    @property
    def descriptor_dim(self) -> int: ...
    def predict(
        self,
        species: Sequence[str],
        positions: npt.NDArray[np.float64],
        cell: Optional[npt.NDArray[np.float64]],
        pbc: tuple[bool, bool, bool],
    ) -> _Prediction: ...
    def descriptors(
        self,
        species: Sequence[str],
        positions: npt.NDArray[np.float64],
        cell: Optional[npt.NDArray[np.float64]],
        pbc: tuple[bool, bool, bool],
    ) -> npt.NDArray[np.float64]: ...

class NativeCommittee:
    def __init__(self, models: Sequence[Sequence[_Path]], threads: Optional[int] = None) -> None: ...
    def __len__(self) -> int: ...
    @property
    def species(self) -> list[str]: ...
    def predict(
        self,
        species: Sequence[str],
        positions: npt.NDArray[np.float64],
        cell: Optional[npt.NDArray[np.float64]],
        pbc: tuple[bool, bool, bool],
        relative: Optional[float] = None,
    ) -> tuple[list[_Prediction], dict]: ...

def train(
    kind: str,
    source: _Path,
    output_dir: Optional[_Path] = None,
    resume: bool = False,
    quiet: bool = False,
    threads: Optional[int] = None,
    committee: Optional[int] = None,
) -> list[dict]: ...
def json_to_toml(json: str) -> str: ...
def write_xyz(path: _Path, frames: list[tuple]) -> None: ...
