"""How wgan-kit's processes wait for work between torch's parallel regions.

torch's OpenMP threads (GNU libgomp in its Linux wheels) spin for 300,000 rounds at the end of
every parallel region, waiting for the next one. On a machine to itself that saves a wake-up;
beside another busy process the spinning thread takes the core from the one that has work, and
the toy MLP's small kernels ran at a quarter of their speed. A spin of 1,000 rounds kept the
quiet speed and more than doubled the contended one; not spinning at all (OMP_WAIT_POLICY=PASSIVE)
cost a fifth of the quiet speed (benchmarks/threads.py measures it; benchmarks/README.md has the
figures). OpenMP reads these variables once, when torch loads, so the `wgan-kit` command sets
them first thing; a value already in the environment is the user's and is left alone, and so is
any OMP_WAIT_POLICY (it decides the spinning itself). A Python script gets the same by calling
`use_thread_policy()` before it imports torch, or by setting the variable in its shell.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import MutableMapping

THREAD_POLICY = {"GOMP_SPINCOUNT": "1000"}


def use_thread_policy(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set each variable of `THREAD_POLICY` that `environ` does not already have; returns those
    set. Warns when torch is already loaded, since OpenMP has then read its environment."""
    if "OMP_WAIT_POLICY" in environ:
        return {}
    added = {key: value for key, value in THREAD_POLICY.items() if key not in environ}
    environ.update(added)
    if added and "torch" in sys.modules and environ is os.environ:
        warnings.warn("use_thread_policy() was called after torch loaded, so it takes effect "
                      "only in processes started from here; call it before `import torch`",
                      stacklevel=2)
    return added
