"""Reading pickled data sets without running whatever a pickle names."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np


class NumpyArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays (in tuples, lists and dicts) and nothing else: a pickle naming any
    other callable is refused instead of run. (`_codecs.encode` turns text into bytes: protocol-2
    pickles written by Python 3 store raw array bytes that way.)"""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays "
                                         "are allowed")
        if name == "_reconstruct":
            return np.empty(0).__reduce__()[0]  # numpy's own _reconstruct, whatever its module
        return super().find_class(module, name) if module == "_codecs" else getattr(np, name)
