"""Preflight: catch a doomed run in seconds, before it trains for hours.

Each check is a small function returning a `Check`: pass, warn or fail, what it measured, and one
line of reason and fix. `run_preflight` runs them all on a tiny batch, on copies of the trainer's
nets and optimizers and inside random streams of its own, so the run it checks trains exactly as it
would have without it. Plugins add their own checks through the `preflight_checks` hook.

The checks guard the ways a WGAN run is known to fail:

1. a critic that couples the samples of a batch under a per-sample gradient penalty (WGAN-GP
   Section 4, "No critic batch normalization"). `composition.build` already refuses torch's batch
   norm modules by name, early and even without a preflight; this check is the behavioural
   version, which also catches couplings no name reveals (minibatch statistics, custom layers);
2. an op without a second derivative, which a gradient penalty needs: Equation 3 is trained through
   ∇D itself;
3. a penalty that breaks its contract: a value that never reaches the critic's weights, or
   norms that are not ‖∇D(p)‖₂ per sample over all axes at the points it chose;
4. generator output whose shape or range does not match the data's;
5. first steps that are not finite, or a critic loss growing by orders of magnitude;
6. a device that cannot be used, or a batch that will not fit in its memory.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import nn

from ..core import randomness
from ..core.engine import Engine
from ..core.hookspecs import Check
from ..core.protocols import LipschitzConstraint, Parts, SampleSpec
from ..core.config import RunSettings
from ..errors import WganKitError
from ..core.engine.acceleration import batch_coupled_modules
from .penalty_contract import penalty_contract

if TYPE_CHECKING:
    from pluggy import HookRelay

    from ..core.registry import Registry

PASS, WARN, FAIL = "pass", "warn", "fail"
TINY_BATCH = 8  # samples per batch in every check: enough to see coupling, cheap for any net
REHEARSAL_STEPS = 2  # generator steps (each after n_critic critic steps) of the first-steps check
GRACE_S = 5.0  # how long a check past the time limit has to return before the process ends
_in_progress = {"check": "device"}  # the check running now, for the time limit's message
GROWTH_LIMIT = 1e3  # |critic loss| + penalty beyond this many times max(initial, 1): exploding
SECTION_4 = "WGAN-GP Section 4, 'No critic batch normalization'"


class Verdict(NamedTuple):
    status: str
    measured: str
    advice: str = ""


def preflight_check(name: str) -> Callable[[Callable[..., Verdict]], Callable[..., Check]]:
    """Make a function returning a `Verdict` the check `name`. An exception it raises is a failure:
    the run would meet the same error in its first step."""

    def decorate(function: Callable[..., Verdict]) -> Callable[..., Check]:
        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Check:
            _in_progress["check"] = name
            try:
                return Check(name, *function(*args, **kwargs))
            except Exception as exc:
                return Check(name, FAIL, f"{type(exc).__name__}: {_first_line(exc)}",
                             "the run would raise this in its first step; --no-preflight shows "
                             "where")
        return checked

    return decorate


@preflight_check("device")
def check_device(device: torch.device) -> Verdict:
    """The run's device takes a tensor (`resolve_device` has already refused unknown names)."""
    try:
        torch.zeros(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        return Verdict(FAIL, f"{device}: {_first_line(exc)}",
                       f"run.device: {device} cannot be used here; use --device cpu or auto")
    return Verdict(PASS, f"{device} takes tensors")


@preflight_check("memory")
def check_memory(critic: nn.Module, constraint: LipschitzConstraint, batch: torch.Tensor,
                 batch_size: int) -> Verdict:
    """On CUDA, a critic step on the tiny batch, scaled to the full batch, against free memory."""
    device = batch.device
    if device.type != "cuda":
        return Verdict(PASS, f"not estimated on {device.type}")
    needed = torch.cuda.memory_allocated(device) + _critic_step_bytes(
        critic, constraint, batch, batch_size)
    free, _ = torch.cuda.mem_get_info(device)
    measured = f"about {needed / 2**30:.2f} GiB for batch {batch_size}; {free / 2**30:.2f} GiB free"
    if needed > free:
        return Verdict(WARN, measured, f"run.batch_size: {batch_size} will likely not fit on "
                                       f"{device}; lower it or use a smaller net")
    return Verdict(PASS, measured)


def _critic_step_bytes(critic: nn.Module, constraint: LipschitzConstraint, batch: torch.Tensor,
                       batch_size: int) -> int:
    """Peak memory of one critic step: gradients once, activations scaled from the tiny batch."""
    device = batch.device
    critic = copy.deepcopy(critic)
    gradients = sum(p.numel() * p.element_size() for p in critic.parameters())
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = torch.cuda.memory_allocated(device)
    loss = critic(batch).mean() - critic(batch.flip(0)).mean()
    penalty = constraint.penalty(critic, batch, batch.flip(0))
    (loss if penalty is None else loss + penalty.value).backward()
    activations = max(torch.cuda.max_memory_allocated(device) - start - gradients, 0)
    return gradients + activations * batch_size // len(batch)


@preflight_check("shapes")
def check_shapes(generator: nn.Module, critic: nn.Module, spec: SampleSpec, batch: torch.Tensor,
                 latent: torch.Tensor) -> Verdict:
    """Real batches, generated batches and the spec agree on a sample's shape; the critic gives one
    score per sample."""
    n, expected = len(batch), (len(batch), *spec.shape)
    with torch.no_grad():
        fake = generator(latent)
        scores = critic(batch)
    if tuple(batch.shape) != expected:
        return Verdict(FAIL, f"real batch {tuple(batch.shape)}, spec {spec.shape}",
                       "data: its batches do not have the shape its spec declares; fix the data "
                       "source's spec or its batches")
    if tuple(fake.shape) != expected:
        return Verdict(FAIL, f"generated {tuple(fake.shape)}, real {expected}",
                       "gen: its output does not have the data's shape; size the generator's "
                       f"output for samples of shape {spec.shape}")
    if tuple(scores.shape) not in ((n,), (n, 1)):
        return Verdict(FAIL, f"scores {tuple(scores.shape)} for {n} samples",
                       f"critic: must give one score per sample, shape ({n},) or ({n}, 1)")
    return Verdict(PASS, f"samples {spec.shape} from data and generator, one score each")


@preflight_check("value range")
def check_value_range(generator: nn.Module, spec: SampleSpec, batch: torch.Tensor,
                      latent: torch.Tensor) -> Verdict:
    """Real samples are finite; generated samples stay in the data's declared value range, also
    for large z, which drives a bounded output layer to its bounds (tanh to ±1)."""
    if not torch.isfinite(batch).all():
        return Verdict(FAIL, "NaN or Inf in the first real batch",
                       "data: holds non-finite values; clean or filter the data source")
    with torch.no_grad():
        fake = torch.cat([generator(latent), generator(10 * latent)])
    low, high = fake.min().item(), fake.max().item()
    measured = f"generated [{low:.3g}, {high:.3g}] for z and 10z"
    if spec.value_range is None:
        return Verdict(PASS, f"{measured}; the data declare no range")
    lower, upper = spec.value_range
    measured += f", data [{lower:g}, {upper:g}]"
    margin = 0.01 * (upper - lower)
    if low < lower - margin or high > upper + margin:
        return Verdict(WARN, measured,
                       "gen: outputs leave the data's range, so the critic can tell fakes by range "
                       "alone; end the generator in a matching nonlinearity (sigmoid for [0, 1], "
                       "tanh for [-1, 1]) or rescale the data")
    return Verdict(PASS, measured)


@preflight_check("sample independence")
def check_sample_independence(critic: nn.Module, constraint: LipschitzConstraint,
                              batch: torch.Tensor) -> Verdict:
    """Changing one sample of a batch changes no other sample's score. A penalty on each sample's
    gradient assumes it (WGAN-GP Section 4); batch norm and minibatch statistics break it."""
    if len(batch) < 2:
        return Verdict(PASS, "a batch of one sample")
    perturbed = batch.clone()
    perturbed[0] += torch.randn_like(perturbed[0])
    before, after = _scores_with_same_randomness(critic, batch, perturbed)
    change = (after[1:] - before[1:]).abs().max().item()
    tolerance = 1e-4 * (1 + before.abs().max().item())
    measured = f"other scores moved by {change:.3g} (tolerance {tolerance:.1g})"
    if not change > tolerance:
        return Verdict(PASS, measured)
    batch_norm = batch_coupled_modules(critic)
    if batch_norm:
        measured += f"; batch norm at {batch_norm[0]}"
    if constraint.penalises_input_gradients:
        return Verdict(FAIL, measured,
                       "critic: one sample's score depends on the others in its batch, and the "
                       "constraint penalises each sample's gradient, which is then invalid "
                       f"({SECTION_4}): use a per-sample normalization (layer norm: "
                       "critic.norm=layer on the built-in nets) or none, or a constraint such as "
                       "clip")
    return Verdict(WARN, measured,
                   "critic: one sample's score depends on the others in its batch; allowed by this "
                   f"constraint, but a gradient penalty would be invalid with it ({SECTION_4})")


def _scores_with_same_randomness(critic: nn.Module, *batches: torch.Tensor
                                 ) -> list[torch.Tensor]:
    """The critic's scores of each batch, each drawn from the same random state (same dropout)."""
    devices = [batches[0].device.index or 0] if batches[0].device.type == "cuda" else []
    scores = []
    for batch in batches:
        with torch.random.fork_rng(devices), torch.no_grad():
            scores.append(critic(batch).reshape(len(batch), -1))
    return scores


@preflight_check("double backward")
def check_double_backward(critic: nn.Module, constraint: LipschitzConstraint,
                          batch: torch.Tensor) -> Verdict:
    """The constraint's penalty trains the critic: its gradient reaches the critic's weights, which
    for a gradient penalty means differentiating through ∇D, a second derivative."""
    try:
        penalty = constraint.penalty(critic, batch, batch)
        if penalty is None:
            return Verdict(PASS, "not needed: the constraint adds no penalty")
        if not penalty.value.requires_grad:  # no op is to blame: the graph was never built
            return Verdict(FAIL, "the penalty's value has no graph to the critic's weights",
                           "constraint: the penalty trains the critic through ∇D; take it with "
                           "torch.autograd.grad(..., create_graph=True)")
        weights = [p for p in critic.parameters() if p.requires_grad]
        for weight in weights:
            weight.grad = None  # so that a gradient after backward is the penalty's own
        penalty.value.backward()
    except RuntimeError as exc:
        culprit = _module_without_double_backward(critic, batch)
        where = f"in {culprit}: " if culprit else ""
        return Verdict(FAIL, f"{where}{_first_line(exc)}",
                       f"critic: {culprit or 'an op'} has no second derivative on "
                       f"{batch.device.type}, which the penalty needs; replace it with an op that "
                       "has one (e.g. a non-cuDNN RNN, plain attention), or use a constraint such "
                       "as clip")
    if weights and all(weight.grad is None for weight in weights):  # backward ran, to no avail
        return Verdict(FAIL, "backward ran, but the penalty's gradient never reaches the critic's "
                             "weights",
                       "constraint: the penalty trains the critic through ∇D; take ∇D of the "
                       "critic it is given with torch.autograd.grad(..., create_graph=True)")
    return Verdict(PASS, "the penalty's gradient reaches the critic's weights")


def _module_without_double_backward(critic: nn.Module, batch: torch.Tensor) -> str | None:
    """The first (innermost) submodule of `critic` that cannot be differentiated twice, tried on
    the inputs it received in a forward pass of `batch`."""
    inputs: dict[str, tuple[Any, ...]] = {}
    modules = dict(critic.named_modules())

    def recorder(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            inputs.setdefault(name, args)  # returns None: a hook's result would replace the output
        return record

    hooks = [module.register_forward_hook(recorder(name)) for name, module in modules.items()
             if name]
    try:
        with torch.no_grad():
            critic(batch)
    finally:
        for hook in hooks:
            hook.remove()
    failing = [name for name, args in inputs.items()
               if not _twice_differentiable(modules[name], args)]
    innermost = [name for name in failing
                 if not any(other.startswith(name + ".") for other in failing)]
    return innermost[0] if innermost else None


def _twice_differentiable(module: nn.Module, args: tuple[Any, ...]) -> bool:
    args = tuple(a.detach().requires_grad_(True) if torch.is_tensor(a) and a.is_floating_point()
                 else a for a in args)
    leaves = [a for a in args if torch.is_tensor(a) and a.requires_grad]
    leaves += [p for p in module.parameters() if p.requires_grad]
    try:
        output = module(*args)
        outputs = [o for o in (output if isinstance(output, (tuple, list)) else (output,))
                   if torch.is_tensor(o) and o.requires_grad]
        if not outputs or not leaves:
            return True
        # Weigh the outputs by trainable weights, as the layers after the module do: the gradient
        # flowing back then needs gradients itself, and an op without them raises.
        weights = [torch.randn_like(o).requires_grad_(True) for o in outputs]
        first = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outputs, weights)), leaves,
                                    create_graph=True, allow_unused=True)
        second = [g.square().sum() for g in first if g is not None and g.requires_grad]
        if second:  # backward(), not grad(): it runs every node, the one that raises included
            sum(second).backward()
    except RuntimeError:
        return False
    return True


@preflight_check("penalty norm")
def check_penalty_norm(critic: nn.Module, constraint: LipschitzConstraint, batch: torch.Tensor,
                       fake: torch.Tensor | None = None) -> Verdict:
    """The penalty keeps its contract (`penalty_contract`): its value trains this critic, and its
    norms are ‖∇D(p)‖₂ per sample over all axes at the points it chose, whichever they are.
    `fake` defaults to the batch in another order, so that real and fake differ."""
    findings = penalty_contract(critic, constraint, batch,
                                batch.roll(1, 0) if fake is None else fake)
    if findings.problems:
        return Verdict(FAIL, *findings.problems[0])
    return Verdict(PASS, findings.measured)


@preflight_check("first steps")
def check_first_steps(trainer: Engine, batch: torch.Tensor, latent: torch.Tensor, *,
                      steps: int = REHEARSAL_STEPS) -> Verdict:
    """A few real steps of Algorithm 1 on tiny batches, on copies of the nets and optimizers: the
    losses stay finite, and the critic's loss (with its penalty) does not grow by orders of
    magnitude."""
    rehearsal = _rehearsal(trainer, len(batch), steps)
    critic, parts = rehearsal.critic, rehearsal.parts
    with torch.no_grad():
        fake = rehearsal.generator(latent)
        loss = parts.objective.critic_loss(critic(batch), critic(fake)).item()
    penalty = parts.constraint.penalty(critic, batch, fake)
    start = _critic_objective({"critic_loss": loss,
                               "penalty": penalty.value.item() if penalty is not None else 0.0})
    seen = _MetricsRecorder()
    advice = f"lower run.lr (now {trainer.run.lr:g}) or the penalty weight, and check the data"
    try:
        rehearsal.fit(progress=seen)
    except WganKitError as exc:
        return Verdict(FAIL, str(exc).split(";")[0],
                       f"training is not finite in its first steps: {advice}")
    largest = max(_critic_objective(metrics) for metrics in seen.metrics)
    measured = (f"critic loss + penalty {start:.3g} -> up to {largest:.3g} in "
                f"{steps * trainer.run.n_critic} critic steps")
    if largest > GROWTH_LIMIT * max(start, 1.0):
        return Verdict(FAIL, measured, f"the critic's loss explodes in its first steps: {advice}")
    return Verdict(PASS, measured)


def _critic_objective(metrics: dict[str, float]) -> float:
    return abs(metrics["critic_loss"]) + abs(metrics.get("penalty", 0.0))


def _rehearsal(trainer: Engine, batch_size: int, steps: int) -> Engine:
    """A trainer on copies of `trainer`'s nets, optimizers (with their state) and constraint, for
    `steps` generator steps on batches of `batch_size`, logging every step and writing nothing."""
    generator, critic, constraint, objective = copy.deepcopy(
        (trainer.generator, trainer.critic, trainer.parts.constraint, trainer.parts.objective))
    run: RunSettings = trainer.run.model_copy(
        update={"steps": steps, "batch_size": batch_size, "log_every": 1,
                "critic_schedule": "constant"})  # n_critic per step: a rehearsal, not a warm-up
    rehearsal = Engine(Parts(generator, critic, constraint, objective, trainer.parts.data),
                       dataclasses.replace(trainer.config, run=run), trainer.device)
    # Copies: a loaded state dict would share its moment tensors with the run's own optimizers.
    for own, original in ((rehearsal.generator_optimizer, trainer.generator_optimizer),
                          (rehearsal.critic_optimizer, trainer.critic_optimizer)):
        own.load_state_dict(copy.deepcopy(original.state_dict()))
    return rehearsal


class _MetricsRecorder:
    """A `Progress` that keeps every logged line."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, float]] = []

    def start(self, done: int, total: int) -> None:
        pass

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        if metrics:
            self.metrics.append(metrics)

    def note(self, text: str) -> None:
        pass


def plugin_checks(trainer: Engine, hooks: HookRelay) -> list[Check]:
    """The checks plugins add through the `preflight_checks` hook, one plugin at a time, so that a
    broken one is reported (as a warning) and the others still run."""
    checks: list[Check] = []
    for hook in hooks.preflight_checks.get_hookimpls():
        _in_progress["check"] = f"plugin {hook.plugin_name}"
        try:
            returned = list(hook.function(trainer=trainer))
            if not all(isinstance(c, Check) for c in returned):
                raise TypeError("preflight_checks must return a list of wgan_kit.Check")
        except Exception as exc:
            checks.append(Check(f"plugin {hook.plugin_name}", WARN,
                                f"{type(exc).__name__}: {_first_line(exc)}",
                                "the plugin's preflight check is broken; report it to its "
                                "authors"))
            continue
        checks += returned
    return checks


@dataclasses.dataclass(frozen=True)
class Preflight:
    """Every check's outcome, and what the preflight cost."""

    checks: list[Check]
    seconds: float

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def summary(self) -> str:
        return (f"preflight: {len(self.checks)} checks, {len(self.failures)} failed, "
                f"{len(self.warnings)} warned, in {self.seconds:.2f} s")

    def to_json(self) -> str:
        return json.dumps({"seconds": round(self.seconds, 4),
                           "checks": [dataclasses.asdict(c) for c in self.checks]}, indent=2)


def run_preflight(trainer: Engine, registry: Registry | None = None, *,
                  hooks: HookRelay | None = None) -> Preflight:
    """Run every check on `trainer` and the plugins' (those of `registry`, or the `hooks` of the
    registry the trainer was built from), leaving its nets, optimizers and random streams as they
    were."""
    hooks = registry.hooks.hook if registry is not None else hooks
    started = time.perf_counter()
    with _time_limit(trainer.run.preflight_limit), \
            randomness.installed(randomness.capture()):  # the caller's streams come back after
        randomness.seed_everything(trainer.run.seed)
        checks = _built_in_checks(trainer)
        if hooks is not None:
            checks += plugin_checks(trainer, hooks)
    return Preflight(checks, time.perf_counter() - started)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """The checks take seconds on a tiny batch; one that has not returned after `seconds` is
    stuck (a hung kernel would hold the run forever before its first step). The main thread is
    then interrupted and the check named in a `WganKitError`; a check stuck in native code, which
    no exception reaches, ends the process with the same line and status 2. Nothing is written
    yet either way."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    finished, expired, lock = threading.Event(), threading.Event(), threading.Lock()

    def message() -> str:
        return (f"preflight: the check {_in_progress['check']!r} did not finish in {seconds:g} s "
                "(a stuck kernel?); nothing was written. Give it longer with --set "
                "run.preflight_limit=SECONDS, or skip the preflight with --no-preflight")

    def expire() -> None:
        with lock:
            if finished.is_set():
                return
            expired.set()  # a real signal, which also wakes a system call the check waits in
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if not finished.wait(GRACE_S):
            print(f"error: {message()}", file=sys.stderr, flush=True)
            os._exit(2)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except KeyboardInterrupt:
        if expired.is_set():
            raise WganKitError(message()) from None
        raise
    finally:
        with lock:
            finished.set()
        timer.cancel()


def _built_in_checks(trainer: Engine) -> list[Check]:
    device = check_device(trainer.device)
    if device.status == FAIL:
        return [device]
    data, constraint = trainer.parts.data, trainer.parts.constraint
    n = min(TINY_BATCH, trainer.run.batch_size)
    batch = next(data.batches(n, seed=trainer.run.seed, device=trainer.device))
    latent = trainer.latent(n)
    generator, critic = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.critic)
    shapes = check_shapes(generator, critic, data.spec, batch, latent)
    if shapes.status == FAIL:  # every later check would fail on the same mismatch
        return [device, shapes]
    return [device, shapes,
            check_memory(critic, constraint, batch, trainer.run.batch_size),
            check_value_range(generator, data.spec, batch, latent),
            check_sample_independence(critic, constraint, batch),
            check_double_backward(critic, constraint, batch),
            check_penalty_norm(critic, constraint, batch, _detached(generator, latent)),
            check_first_steps(trainer, batch, latent)]


def _detached(generator: nn.Module, latent: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return generator(latent)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
