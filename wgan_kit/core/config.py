"""The run configuration: settings of the loop plus one plugin choice per part, resolved in layers.

A configuration is a table per section, the same in a TOML file and in `--set section.key=value`:
`run` holds the loop's settings; `gen`, `critic`, `constraint`, `objective` and `data` each hold a
plugin `name` and that plugin's options. Later layers win:

    defaults < the chosen components' suggestions < --recipe < --config FILE < named flags < --set

Suggestions are the settings each component's source paper used (the objective's optimizer, the
toy sets' batch size and λ, ...); a suggestion for an option the chosen plugin lacks is skipped.
A recipe is a named preset of one paper's settings (plugin names included), an ordinary layer.
Every problem in every layer is reported at once.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import WganKitError
from .registry import Component, Registry

SECTIONS: dict[str, str] = {
    "gen": "generator",
    "critic": "critic",
    "constraint": "constraint",
    "objective": "objective",
    "data": "data",
}
DEFAULT_NAMES = {"gen": "mlp", "critic": "mlp", "constraint": "gp", "objective": "wgan",
                 "data": "8gaussians"}
# Whose suggestions win when two components suggest the same key: the more specific, later.
SUGGESTION_ORDER = ("gen", "critic", "objective", "constraint", "data")

Layer = dict[str, dict[str, Any]]


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
                                     "then draws every sample (e.g. 0.999); 0 turns it off.")
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
    keep_checkpoints: int = Field(3, ge=1, le=10**6, description="How many recent checkpoints to keep.")
    archive_every: int = Field(0, ge=0, le=10**9,
                               description="Also keep every checkpoint at a multiple of this "
                                           "step, for good (0: none).")
    # Speed switches (wgan_kit/acceleration.py); none changes what Algorithm 1 computes.
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="Arithmetic of the nets: fp32, bf16 autocast (fast on recent CPUs and "
                            "GPUs), or fp16 autocast with a gradient scaler (for CUDA). Losses and "
                            "the penalty's gradient norm stay fp32.")
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
    than by plugin name; such a run cannot be rebuilt from its TOML alone."""

    run: RunSettings
    parts: dict[str, Part]
    objects: dict[str, str] = field(default_factory=dict)

    def with_objects(self, objects: Mapping[str, Any]) -> RunConfig:
        return replace(self, objects={section: f"python:{type(value).__qualname__}"
                                      for section, value in objects.items()})

    def name_of(self, section: str) -> str:
        part = self.parts.get(section)
        return part.component.name if part else self.objects[section]

    def to_dict(self) -> Layer:
        tables: Layer = {"run": self.run.model_dump(mode="json")}
        for section in SECTIONS:
            part = self.parts.get(section)
            options = part.options.model_dump(mode="json") if part else {}
            tables[section] = {"name": self.name_of(section), **options}
        return tables

    def to_toml(self) -> str:
        lines = ["# Resolved wgan-kit configuration: `wgan-kit run --config <this file>` repeats the run."]
        for section, table in self.to_dict().items():
            lines.append(f"\n[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()
                      if value is not None]
        return "\n".join(lines) + "\n"


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


def parse_value(text: str) -> Any:
    """A `--set` value as a TOML literal (`5`, `1e-4`, `true`, `[0.5, 0.9]`), else a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(assignments: Iterable[str]) -> Layer:
    """`section.key=value` strings as a layer; malformed ones are reported all together."""
    layer: Layer = {}
    problems = []
    for item in assignments:
        key, sep, text = item.partition("=")
        section, dot, option = key.strip().partition(".")
        if not sep or not dot or not option:
            problems.append(f"--set {item!r}: expected section.key=value, e.g. run.steps=500")
        elif section not in ("run", *SECTIONS):
            problems.append(f"--set {item!r}: unknown section {section!r}; sections are "
                            f"run, {', '.join(SECTIONS)}")
        else:
            layer.setdefault(section, {})[option] = parse_value(text.strip())
    if problems:
        raise WganKitError(problems)
    return layer


def dotted_layer(settings: Mapping[str, Any], what: str) -> Layer:
    """`{"section.key": value}` (a recipe's settings, Python `options`) as a layer."""
    layer: Layer = {}
    problems = []
    for key, value in settings.items():
        section, _, option = key.partition(".")
        if section not in ("run", *SECTIONS) or not option:
            problems.append(f"{what} {key!r}: expected section.key with a section among run, "
                            f"{', '.join(SECTIONS)}")
        else:
            layer.setdefault(section, {})[option] = value
    if problems:
        raise WganKitError(problems)
    return layer


def load_toml(path: str | Path) -> Layer:
    path = Path(path).expanduser()
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WganKitError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WganKitError(f"--config {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise WganKitError(f"--config {path}: not valid TOML ({exc})") from None
    problems = [f"--config {path}: [{key}] is not a section; sections are run, {', '.join(SECTIONS)}"
                for key, value in tables.items()
                if key not in ("run", *SECTIONS) or not isinstance(value, dict)]
    if problems:
        raise WganKitError(problems)
    return tables


def merge(layers: Iterable[Mapping[str, Mapping[str, Any]]]) -> Layer:
    """Layers merged in order. A layer that names another plugin for a section drops the options
    earlier layers gave the previous one, which would not fit the new plugin."""
    merged: Layer = {}
    for layer in layers:
        for section, table in layer.items():
            current = merged.setdefault(section, {})
            previous = current.get("name", DEFAULT_NAMES.get(section))
            if "name" in table and table["name"] != previous:
                current.clear()
            current.update(table)
    return merged


def resolve(layers: Iterable[Mapping[str, Mapping[str, Any]]], registry: Registry, *,
            skip: set[str] | frozenset[str] = frozenset()) -> RunConfig:
    """Validate the merged layers against the chosen plugins' options; every problem at once.
    Sections in `skip` are provided otherwise (as objects) and get no part."""
    merged = merge(layers)
    problems: list[str] = []
    chosen: dict[str, Component] = {}
    for section, kind in SECTIONS.items():
        if section in skip:
            continue
        name = merged.get(section, {}).get("name", DEFAULT_NAMES[section])
        if not isinstance(name, str) or not name:
            problems.append(f"{section}.name: expected a plugin name, got {name!r}")
            continue
        try:
            chosen[section] = registry.get(kind, name)
        except WganKitError as exc:
            problems += [f"{section}.name: {p}" for p in exc.problems]

    values: Layer = {"run": {}, **{section: {} for section in chosen}}
    for section in SUGGESTION_ORDER:
        if section in chosen:
            for key, value in chosen[section].suggests.items():
                target, _, option = key.partition(".")
                fields = (RunSettings.model_fields if target == "run" else
                          chosen[target].options.model_fields if target in chosen else {})
                if option in fields:
                    values[target][option] = value
    for section, table in merged.items():
        if section in values:
            values[section].update({k: v for k, v in table.items() if k != "name"})

    run = _validate(RunSettings, values["run"], "run", "run", problems)
    parts = {}
    for section, component in chosen.items():
        options = _validate(component.options, values[section], section, component.name, problems)
        if options is not None:
            parts[section] = Part(section, component, options)
    if problems:
        raise WganKitError(problems)
    assert run is not None
    return RunConfig(run, parts)


def _validate(model: type[BaseModel], values: dict[str, Any], section: str, owner: str,
              problems: list[str]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in (section, *error["loc"]))
            if error["type"] == "extra_forbidden":
                allowed = ", ".join(model.model_fields) or "none"
                problems.append(f"{key}: {owner} has no such option; its options are: {allowed}")
            else:
                message = error["msg"][0].lower() + error["msg"][1:]
                problems.append(f"{key}: {message}, got {error['input']!r}")
        return None
