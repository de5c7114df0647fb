"""A run's config (`RunConfig`): one chosen component per part, with validated options, and the
loop's run settings (`RunSettings`, its `[run]` table); its file is the run folder's config.toml.
wgan_kit/core/layers.py puts it together from its layers.

Two words, two things: a `RunConfig` is a run's `config`, a `RunSettings` its `run`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .components import Component

Layer = dict[str, dict[str, Any]]  # settings by section, as in a TOML file
SECTIONS: dict[str, str] = {
    "gen": "generator",
    "critic": "critic",
    "constraint": "constraint",
    "objective": "objective",
    "data": "data",
}

PROVENANCE = "provenance"  # the config table recording what each part was when the run was made
SUGGESTED = "suggested"  # the config table recording which settings a component's suggestion set
RECORDS = (PROVENANCE, SUGGESTED)  # a config.toml's tables that are records, not settings


def provenance(component: Component) -> dict[str, str]:
    """What a component was: its package, version and (a `--plugin` file's) file."""
    return {"package": component.package, "version": component.version,
            **({"file": component.file} if component.file else {})}


class RunSettings(BaseModel):
    """Settings of the training loop. Defaults are WGAN-GP's Algorithm 1."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(10_000, ge=1, le=10**9,
                       description="Generator steps (outer iterations of Algorithm 1).")
    batch_size: int = Field(64, ge=1, le=1 << 20, description="m: samples per critic and generator step.")
    generator_batch_size: int | None = Field(
        None, ge=1, le=1 << 20, description="Samples per generator step, if not batch_size "
                                            "(the CIFAR ResNet code uses 128 with batch_size 64).")
    n_critic: int = Field(5, ge=1, le=10_000, description="Critic steps per generator step.")
    critic_schedule: Literal["constant", "wgan"] = Field(
        "constant", description="constant n_critic, or the original WGAN code's: 100 critic steps "
                                "for the first 25 generator steps and every 500th, else n_critic.")
    optimizer: Literal["adam", "rmsprop"] = Field("adam", description="Optimizer of both nets.")
    lr: float = Field(1e-4, gt=0, le=10, description="α, the learning rate of both nets.")
    betas: tuple[float, float] = Field((0.0, 0.9), description="Adam's (β1, β2); unused by RMSProp.")
    lr_schedule: Literal["constant", "linear"] = Field(
        "constant", description="constant α, or α decayed linearly to 0 over run.steps generator "
                                "steps (Appendix F); both nets follow it.")
    critic_weight_decay: float = Field(
        0.0, ge=0, le=1, description="L2 weight decay of the critic's optimizer (Appendix B uses "
                                     "1e-3 with batch- or layer-normalized critics).")
    ema_decay: float = Field(
        0.0, ge=0, lt=1, description="Decay of a moving average of the generator's weights, which "
                                     "then draws every sample (e.g. 0.999), warmed up as "
                                     "min(decay, (1 + t) / (10 + t)) after t updates; 0 turns it "
                                     "off.")
    conditional: bool = Field(
        False, description="Class-conditional generation on a labelled source (AC-GAN, as the "
                           "paper's conditional CIFAR-10 model): the generator takes the class, "
                           "the critic also names it.")
    class_loss_weights: tuple[float, float] = Field(
        (1.0, 0.1), description="Conditional runs: weights of the class cross-entropy on real "
                                "samples in the critic loss and on generated samples in the "
                                "generator loss (the released code's 1 and 0.1).")
    seed: int = Field(0, ge=0, lt=1 << 63, description="Seeds weights, data order, z and ε.")
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
                        description="auto (CUDA when present), cpu, cuda or cuda:N.")
    log_every: int = Field(100, ge=1, le=10**9, description="Generator steps between metric lines.")
    checkpoint_every: int = Field(1000, ge=1, le=10**9,
                                  description="Generator steps between checkpoints.")
    sample_every: int = Field(1000, ge=1, le=10**9,
                              description="Generator steps between sample pictures.")
    heldout_every: int = Field(100, ge=0, le=10**9,
                               description="Generator steps between the critic's losses on a "
                                           "training and a held-out real batch (WGAN-GP Figure "
                                           "5b); 0: never.")
    preflight_limit: float = Field(120.0, ge=0, description="Seconds the preflight may take "
                                   "(its checks run on a tiny batch and take seconds); past "
                                   "them the check it is on is reported as stuck. 0: no limit.")
    eval_every: int = Field(0, ge=0, le=10**9,
                            description="Generator steps between scores of the run while it "
                                        "trains (W1 on points, n-gram JS on text, classifier "
                                        "FID on labelled images, else FID), logged as eval_* in "
                                        "metrics.jsonl; the best-scoring step is kept as "
                                        "best.safetensors. 0: never.")
    eval_samples: int = Field(500, ge=2, le=10**6,
                              description="Generated (and held-out real) samples each score of "
                                          "run.eval_every is taken on: few, for speed.")
    keep_checkpoints: int = Field(3, ge=1, le=10**6, description="How many recent checkpoints to keep.")
    archive_every: int = Field(0, ge=0, le=10**9,
                               description="Also keep every checkpoint at a multiple of this "
                                           "step, for good (0: none).")
    # Speed switches (wgan_kit/core/engine/acceleration.py); none changes what Algorithm 1 computes.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "fp32", description="Arithmetic of the nets: fp32, bf16 autocast (fast on recent CPUs and "
                            "GPUs), fp16 autocast with a gradient scaler (for CUDA), or auto: bf16 "
                            "where the device computes it natively (CUDA GPUs with bf16, CPUs "
                            "with AVX-512 BF16 or AMX), else fp32. Losses and the penalty's "
                            "gradient norm stay fp32.")
    fuse_critic: bool = Field(True, description="One critic forward over real and fake together "
                                                "when the critic has no batch normalization.")
    lean_double_backward: bool = Field(
        True, description="In the penalty's critic pass, ReLU, leaky ReLU and convolutions whose "
                          "double backward skips zero terms and uses native convolution kernels.")
    fused_optimizer: bool = Field(True, description="torch's fused Adam kernels where the device "
                                                    "has them (RMSProp has none).")
    channels_last: bool = Field(True, description="Channels-last memory format for image batches "
                                                  "and convolution weights.")
    compile: bool = Field(False, description="torch.compile the generator and the critic's plain "
                                             "passes; the penalty's double backward stays eager.")


@dataclass(frozen=True)
class Part:
    """One section of a resolved config: the component chosen for it and its validated options."""

    section: str
    component: Component
    options: BaseModel


@dataclass(frozen=True)
class RunConfig:
    """A validated configuration. `objects` names the sections given as Python objects rather
    than by plugin name; such a run cannot be rebuilt from its TOML alone. `suggested` names the
    settings that no layer set but a chosen component's `suggests` did, with the component
    (`{"constraint.weight": "data wgan-kit:8gaussians"}`)."""

    run: RunSettings
    parts: dict[str, Part]
    objects: dict[str, str] = field(default_factory=dict)
    suggested: dict[str, str] = field(default_factory=dict)

    def with_objects(self, objects: Mapping[str, Any]) -> RunConfig:
        return replace(self, objects={section: f"python:{type(value).__qualname__}"
                                      for section, value in objects.items()})

    def name_of(self, section: str) -> str:
        part = self.parts.get(section)
        return part.component.name if part else self.objects[section]

    def defaults_replaced(self) -> dict[str, list[str]]:
        """The options whose own default (a part's, as `plugins show` gives it) another
        component's suggestion replaced, by that component: `{"data 8gaussians":
        ["constraint.weight = 0.1 (gp: 10.0)"]}`."""
        replaced: dict[str, list[str]] = {}
        for key, by in self.suggested.items():
            section, _, option = key.partition(".")
            part = self.parts.get(section)
            by_section = by.partition(" ")[0]
            if (part is None or by_section == section
                    or option not in type(part.options).model_fields):
                continue
            default = part.component.options.model_fields[option].default
            value = getattr(part.options, option)
            if value != default:
                who = f"{by_section} {by.partition(' ')[2].rpartition(':')[2]}"
                replaced.setdefault(who, []).append(
                    f"{key} = {value!r} ({part.component.name}: {default!r})")
        return replaced

    def to_dict(self) -> Layer:
        """The settings by section, each part named by its qualified name (`wgan-kit:gp`), which
        picks the same component whatever else is installed later; `provenance` records the
        package, its version and, for a `--plugin` file, the file, of each part."""
        tables: Layer = {"run": self.run.model_dump(mode="json")}
        for section in SECTIONS:
            part = self.parts.get(section)
            options = part.options.model_dump(mode="json") if part else {}
            name = (part.component.qualified_name if part and part.component.package
                    else self.name_of(section))
            tables[section] = {"name": name, **options}
        tables[PROVENANCE] = {section: provenance(part.component)
                              for section, part in self.parts.items() if part.component.package}
        if self.suggested:
            tables[SUGGESTED] = dict(self.suggested)
        return tables

    def to_toml(self) -> str:
        lines = ["# Resolved wgan-kit configuration: `wgan-kit run --config <this file>` repeats the run."]
        for section, table in self.to_dict().items():
            lines.append(f"\n[{section}]")
            lines += [f"{_toml_key(key)} = {_toml_value(value)}" for key, value in table.items()
                      if value is not None]
        return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    """A bare key, or a quoted one where it holds more (`"constraint.weight"`)."""
    bare = key.isascii() and key.replace("_", "").replace("-", "").isalnum()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
