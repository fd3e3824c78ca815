"""forcefit from Python: ASE calculators, committees and training.

- :class:`Calculator`: an ASE calculator for a ``nep.txt``, a deepmd-kit
  ``.yaml``/``.json`` or aenet's ``.nn`` files (one per element), recognised
  by content.
- :class:`Committee`: the members' mean energy, forces and stress plus
  DP-GEN's model deviation (deepmd-kit's definitions).
- :func:`train`: trains from a forcefit configuration, a peer's input
  (GPUMD's nep.in, deepmd-kit's input.json, aenet's generate.in/train.in)
  or a list of labelled ASE ``Atoms``.

Errors in the input raise :class:`InputError` (a :class:`ValueError`) with
forcefit's message, which names the file and line or the key; I/O errors
raise :class:`OSError`.
"""

from ._native import InputError, __version__
from .calculator import Calculator
from .committee import Committee
from .training import TrainResult, train

__all__ = [
    "Calculator",
    "Committee",
    "InputError",
    "TrainResult",
    "__version__",
    "train",
]
