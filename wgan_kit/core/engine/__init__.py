"""The engine, the bottom floor: Algorithm 1 and everything the loop needs to run it.

`engine.py` (`Engine`: a run's state, `fit`), `loop.py` (Algorithm 1 itself, and the after-step
bookkeeping), `acceleration.py` and `double_backward.py` (precision, fused passes and optimizers,
the lean double backward), `optimizers.py` (optimizers and the schedules of α, n_critic and the
moving average), `metrics.py` (logged means, `RunResult`), `parallel.py` (the data-parallel seam).
Nothing here imports the launch path, evaluation or the CLI: they build on this.
"""

from .engine import Engine

__all__ = ["Engine"]
