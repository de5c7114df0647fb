"""How the loop's passes run fast: precision, one critic forward, fused optimizers, compilation.

Each switch is a `run` setting and leaves the mathematics of Algorithm 1 unchanged (the tests in
`tests/core/engine/test_acceleration.py` check each against the plain computation):

- `fuse_critic`: one critic forward over real and fake concatenated, as the paper's own ResNet code
  does, when the critic scores samples independently (no batch normalization). The penalty's
  interpolates keep their own forward: fused into the same pass, the double backward would run
  over the whole concatenated batch, which measured slower.
- `lean_double_backward`: in the penalty's pass, ReLU, leaky ReLU and convolutions whose double
  backward skips zero terms and takes torch's native convolution kernels
  (`double_backward.py`, beside this module).
- `fused_optimizer`: torch's fused Adam kernels on devices that have them (RMSProp has none).
- `precision`: autocast for the nets (bf16, or fp16 with a gradient scaler); losses, scores and the
  penalty's gradient norm stay fp32. Under fp16 the penalty's inner gradient is scaled and unscaled
  as PyTorch's AMP recipe for gradient penalties prescribes.
- `channels_last`: channels-last memory format for image batches and 4-D weights.
- `compile`: torch.compile for the generator and the critic's plain passes. The penalty's pass is
  differentiated twice, which compiled graphs do not support, so it always runs the critic eagerly.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..config import RunSettings
from ...errors import WganKitError, WganKitWarning
from .double_backward import LeanDoubleBackward

if TYPE_CHECKING:
    from .parallel import DataParallel

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def batch_coupled_modules(net: nn.Module) -> list[str]:
    """Names of the modules that mix the samples of a batch (batch normalization)."""
    return [name for name, module in net.named_modules()
            if isinstance(module, nn.modules.batchnorm._BatchNorm)]


def fused_option(kind: type[torch.optim.Optimizer], run: RunSettings,
                 device: torch.device) -> dict[str, bool]:
    """`{"fused": True}` when the run asks for fused kernels and torch has them for `kind` on
    `device` (Adam on CPU and CUDA; RMSProp nowhere yet), else nothing: torch's default."""
    from torch.optim.optimizer import _get_fused_kernels_supported_devices

    supported = ("fused" in inspect.signature(kind).parameters
                 and device.type in _get_fused_kernels_supported_devices())
    return {"fused": True} if run.fused_optimizer and supported else {}


class Acceleration:
    """The forward passes and updates of one run, done as its speed settings say."""

    def __init__(self, run: RunSettings, device: torch.device, generator: nn.Module,
                 critic: nn.Module) -> None:
        self.precision = native_precision(device) if run.precision == "auto" else run.precision
        _check_precision(self.precision, device)
        self.device = device
        self.dtype = AUTOCAST_DTYPES[self.precision]
        self.fuse_critic = run.fuse_critic and not batch_coupled_modules(critic)
        self.channels_last = run.channels_last and _channels_last_is_safe(
            device, generator, critic)
        if self.channels_last:
            generator.to(memory_format=torch.channels_last)  # only 4-D weights change
            critic.to(memory_format=torch.channels_last)
        # One scaler per net: their updates are separate steps of the loop.
        self.scalers: dict[nn.Module, torch.amp.GradScaler] = (
            {generator: torch.amp.GradScaler(device.type), critic: torch.amp.GradScaler(device.type)}
            if self.precision == "fp16" else {})
        # By name, as checkpoints keep them: an fp16 run's scalers continue at their scale.
        self.scalers_by_net = {name: self.scalers[net] for name, net in
                               (("generator", generator), ("critic", critic))
                               if net in self.scalers}
        self.generator = torch.compile(generator, dynamic=False) if run.compile else generator
        self.critic = torch.compile(critic, dynamic=False) if run.compile else critic
        self.penalty_critic = PenaltyPass(critic, self.autocast, self.scalers.get(critic),
                                          lean_double_backward=run.lean_double_backward)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @contextlib.contextmanager
    def casting_once(self) -> Iterator[None]:
        """Autocast's cache of low-precision weights, kept across the passes inside, which is
        otherwise emptied as each pass ends; arithmetic outside the passes stays as it was.
        Not across an update: the cached copies would go stale."""
        if self.dtype is None:
            yield
            return
        with torch.autocast(self.device.type, dtype=self.dtype), \
                torch.autocast(self.device.type, enabled=False):
            yield

    def batches(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor | None]]
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Real batches, each with its labels (None for an unconditional run)."""
        for batch, labels in batches:
            yield self._laid_out(batch), labels

    def _laid_out(self, batch: torch.Tensor) -> torch.Tensor:
        if self.channels_last and batch.dim() == 4:
            return batch.contiguous(memory_format=torch.channels_last)
        return batch

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                 like: torch.Tensor | None = None) -> torch.Tensor:
        """G(z), or G(z, y) for a conditional run, in the dtype of `like` (the real batch)."""
        with self.autocast():
            fake = self.generator(z) if labels is None else self.generator(z, labels)
        return self._laid_out(fake if like is None else fake.to(like.dtype))

    def critic_scores(self, real: torch.Tensor, fake: torch.Tensor, *, classify: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """D(x) and D(x̃) in fp32, from one forward over both when the critic allows it, and
        with `classify` the class logits of the real samples (AC-GAN), else None."""
        with self.autocast():
            if self.fuse_critic:
                scores, logits = self._scores(torch.cat([real, fake]), classify)
                n = len(real)
                return scores[:n], scores[n:], None if logits is None else logits[:n]
            real_scores, logits = self._scores(real, classify)
            return real_scores, self.critic(fake).float(), logits

    def generator_scores(self, z: torch.Tensor, labels: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D(G(z)) in fp32, with a graph through G for the generator's update; for a conditional
        run, G(z, y) and the critic's class logits for it."""
        with self.autocast():
            return self._scores(self.generate(z, labels), classify=labels is not None)

    def _scores(self, x: torch.Tensor, classify: bool
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if classify:  # the class head reads the score's features: one pass gives both
            scores, logits = self.critic.classify(x)
            return scores.float(), logits.float()
        return self.critic(x).float(), None

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, net: nn.Module,
               parallel: DataParallel) -> bool:
        """One optimizer step on `loss`, on the gradients `parallel` makes the global batch's;
        False when a gradient scaler skipped it (an fp16 overflow, whose metrics are then not
        worth logging)."""
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scalers.get(net)
        if scaler is None:
            loss.backward()
            parallel.average_gradients(net)
            optimizer.step()
            return True
        scaler.scale(loss).backward()
        parallel.average_gradients(net)
        scale = scaler.get_scale()  # a sync, as the scaler's own step has for most optimizers
        scaler.step(optimizer)
        scaler.update()
        return scaler.get_scale() >= scale


class PenaltyPass(nn.Module):
    """The critic as a constraint's penalty sees it: eager, under autocast, fp32 scores.

    Under a gradient scaler the gradient flowing back from the scores is multiplied by the scale
    and the gradient reaching the input divided by it, so that `autograd.grad(scores, x̂)` returns
    the true gradient while the fp16 passes in between see scaled values: PyTorch's AMP recipe
    for gradient penalties ("scale the outputs of autograd.grad, unscale before the norm"). The
    scale is divided by the batch size, as for a loss that is a mean, since penalties take the
    gradient of a sum of scores.
    """

    def __init__(self, critic: nn.Module,
                 autocast: Callable[[], contextlib.AbstractContextManager[Any]],
                 scaler: torch.amp.GradScaler | None, *, lean_double_backward: bool = False
                 ) -> None:
        super().__init__()
        self.critic = critic
        self.autocast = autocast
        self.scaler = scaler
        self.lean = LeanDoubleBackward if lean_double_backward else contextlib.nullcontext

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scaler is None:
            with self.autocast(), self.lean():
                return self.critic(x).float()
        factor = self.scaler.scale(torch.ones((), device=x.device)) / len(x)
        x = GradientScaling.apply(x, 1 / factor)
        with self.autocast(), self.lean():
            scores = self.critic(x).float()
        return GradientScaling.apply(scores, factor)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) as a value, without the gradient scaling: for penalty terms built from scores
        themselves, such as CT-GAN's consistency term, which the scaler scales once already."""
        with self.autocast():
            return self.critic(x).float()


class GradientScaling(torch.autograd.Function):
    """The identity, multiplying the gradient that flows back through it by `factor`; twice
    differentiable, so that it can sit inside a penalty's double backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(factor)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
        (factor,) = ctx.saved_tensors
        return gradient * factor.to(gradient.dtype), None


def faulty_channels_last_layers(net: nn.Module, isa: str) -> list[str]:
    """The convolutions of `net` whose weight gradient in channels-last layout runs into a fault of
    oneDNN's AVX2 kernels (torch 2.13's oneDNN 3.12): a 1×1 convolution with stride > 1 and 2 to 7
    input channels, whose backward-weights kernel (`jit_1x1:avx2`) reads and writes out of its
    buffers. It gave wrong weight gradients, crashed (SIGSEGV, SIGBUS) or never returned, in
    torch's own backward as in the lean one; with AVX-512 kernels, or in the contiguous layout,
    the same convolution is right. `isa`: the instructions oneDNN's kernels use."""
    if not isa.startswith("AVX2"):
        return []
    return [name for name, module in net.named_modules()
            if isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1)
            and max(module.stride) > 1 and 1 < module.in_channels // module.groups < 8]


def kernel_isa() -> str:
    """The widest instructions torch's CPU kernels use here ("AVX2", "AVX512", ...), narrowed by
    oneDNN's own limit when one is set (`ONEDNN_MAX_CPU_ISA`)."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    return "AVX2" if limit.startswith("AVX2") else torch.backends.cpu.get_cpu_capability()


def _channels_last_is_safe(device: torch.device, *nets: nn.Module) -> bool:
    if device.type != "cpu":
        return True
    faulty = [layer for net in nets for layer in faulty_channels_last_layers(net, kernel_isa())]
    if faulty:
        warnings.warn(f"run.channels_last: off for this run: on this CPU, oneDNN's AVX2 kernel "
                      f"gets the weight gradient of a strided 1×1 convolution with 2-7 input "
                      f"channels wrong in channels-last layout, or crashes ({', '.join(faulty)}); "
                      "the contiguous layout is correct", WganKitWarning, stacklevel=3)
    return not faulty


def native_precision(device: torch.device) -> str:
    """What `precision = "auto"` means on `device`: bf16 where its arithmetic is native (not
    emulated, which is slower than fp32), else fp32."""
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    elif device.type == "cpu":  # torch's own probes, as its oneDNN kernels choose by them
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        native = any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    else:
        native = False
    return "bf16" if native else "fp32"


def _check_precision(precision: str, device: torch.device) -> None:
    if precision == "fp16" and device.type != "cuda":
        raise WganKitError(f"run.precision: 'fp16' is for CUDA (its gradient scaler guards fp16's "
                           f"narrow range), and this run is on {device.type}, where fp16 is "
                           "emulated and many times slower; use --precision bf16 or fp32 (or "
                           "auto: bf16 where the device has it natively, else fp32)")
    if (precision == "bf16" and device.type == "cuda"
            and not torch.cuda.is_bf16_supported(including_emulation=False)):
        raise WganKitError("run.precision: 'bf16', but this GPU has no bf16 arithmetic; "
                           "use fp16 or fp32")
