"""`wgan-kit plugins new NAME --kind KIND`: a plugin package that installs and passes its own test.

The package is a small working example of its kind, laid out as `plugins/wgan-kit-spectral`:
a light module (options, factory, registration; no torch at import) named by an entry point, a
sibling module with the torch code, and a test that runs the conformance kit on every component.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from ..errors import WganKitError

if TYPE_CHECKING:
    from ..core.registry import Registry

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "wgan-kit-$name"
version = "0.1.0"
description = "$summary"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["wgan-kit>=0.1"]

[project.optional-dependencies]
dev = ["pytest>=8"]

# wgan-kit finds the plugin through this entry point, which names the light module.
[project.entry-points.wgan_kit]
$name = "$module"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

README = """\
# wgan-kit-$name

$summary

```bash
pip install -e '.[dev]' && pytest     # install, then run the conformance test
wgan-kit plugins list                  # shows $name, from the package wgan-kit-$name
wgan-kit plugins show $name            # its options
```

`src/$module/__init__.py` is the light module wgan-kit imports to list plugins: options, factory,
registration. `src/$module/$heavy.py` holds the torch code, imported only when a run uses it.
`tests/test_$module.py` checks every component with `wgan_kit.testing`. See wgan-kit's
CONTRIBUTING.md ("Writing a plugin") for the contracts and the hooks.
"""

TEST = '''\
"""Every component of $module meets wgan-kit's contract for its kind."""

import pytest
from wgan_kit.testing import check_component, components_of

import $module


@pytest.mark.parametrize("component", components_of($module), ids=lambda c: f"{c.kind}-{c.name}")
def test_meets_the_contract_of_its_kind(component):
    check_component(component)
'''

LIGHT_HEADER = '''\
"""`$name`: $summary

TODO: cite the paper section or released code this implements.
This module stays light (no torch at import): the factory imports $heavy.py when a run needs it.
"""

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

WGAN_KIT_PLUGIN_API = ">=1,<2"
'''

# The constraint templates: `plugins new NAME --kind constraint --template penalty|projection`.
PENALTY: dict[str, str] = {
    "heavy": "constraint",
    "summary": "A gradient penalty: lambda * E[(||grad D(x_hat)||_2 - 1)^2] at interpolates of "
               "real and generated samples.",
    "light": '''

class ${Class}Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, description="λ, the penalty coefficient.")


def build(options: ${Class}Options):
    from .constraint import $Class

    return $Class(options.weight)


@hookimpl
def register_components(register):
    register(Component("constraint", "$name", build, ${Class}Options, "$summary"))
''',
    "code": '''\
"""The `$name` constraint: a gradient penalty λ·E[(‖∇D(x̂)‖₂ − 1)²] (cite your paper and
equation here)."""

import torch
from torch import nn

from wgan_kit import Penalty


class $Class:
    penalises_input_gradients = True  # a per-sample gradient penalty: batch norm is refused

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def penalty(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> Penalty:
        # The points: here WGAN-GP's interpolates, one ε per sample. Choose yours (any points).
        epsilon = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)
        points = (epsilon * real + (1 - epsilon) * fake).detach().requires_grad_(True)
        # create_graph=True: the penalty trains the critic through ∇D itself.
        (gradient,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
        norm = gradient.flatten(1).norm(dim=1)  # per sample, over all of its axes
        return Penalty(self.weight * (norm - 1).square().mean(), norm.detach())
''',
}

PROJECTION: dict[str, str] = {
    "heavy": "constraint",
    "summary": "Max-norm projection: after each critic step, every weight matrix is scaled "
               "back to a Frobenius norm of at most max_norm.",
    "light": '''

class ${Class}Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_norm: float = Field(1.0, gt=0, description="Largest Frobenius norm a weight may keep.")


def build(options: ${Class}Options):
    from .constraint import $Class

    return $Class(options.max_norm)


@hookimpl
def register_components(register):
    register(Component("constraint", "$name", build, ${Class}Options, "$summary"))
''',
    "code": '''\
"""The `$name` constraint."""

import torch
from torch import nn


class $Class:
    penalises_input_gradients = False

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def penalty(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> None:
        return None

    def project(self, critic: nn.Module) -> None:
        with torch.no_grad():
            for name, parameter in critic.named_parameters():
                if name.endswith("weight"):
                    parameter.mul_((self.max_norm / parameter.norm()).clamp(max=1))
''',
}

KINDS: dict[str, dict[str, str]] = {
    "constraint": PENALTY,
    "objective": {
        "heavy": "objective",
        "summary": "Hinge loss: the critic pushes real scores above 1 and fake ones below -1.",
        "light": '''

class ${Class}Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    margin: float = Field(1.0, gt=0, description="Margin of the critic's hinge.")


def build(options: ${Class}Options):
    from .objective import $Class

    return $Class(options.margin)


@hookimpl
def register_components(register):
    register(Component("objective", "$name", build, ${Class}Options, "$summary"))
''',
        "code": '''\
"""The `$name` objective."""

import torch


class $Class:
    def __init__(self, margin: float) -> None:
        self.margin = margin

    def critic_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return ((self.margin - real_scores).clamp(min=0).mean()
                + (self.margin + fake_scores).clamp(min=0).mean())

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()
''',
    },
    "net": {
        "heavy": "nets",
        "summary": "A one-hidden-layer generator and critic for points.",
        "light": '''

class ${Class}Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(64, ge=1, le=1 << 16, description="Units of the hidden layer.")


def build_generator(options: ${Class}Options, spec):
    from .nets import ${Class}Generator

    return ${Class}Generator(spec, options.hidden)


def build_critic(options: ${Class}Options, spec):
    from .nets import ${Class}Critic

    return ${Class}Critic(spec, options.hidden)


@hookimpl
def register_components(register):
    register(Component("generator", "$name", build_generator, ${Class}Options, "$summary"))
    register(Component("critic", "$name", build_critic, ${Class}Options, "$summary"))
''',
        "code": '''\
"""The `$name` generator and critic."""

import torch
from torch import nn

from wgan_kit import SampleSpec, WganKitError


def _points_only(spec: SampleSpec) -> int:
    if spec.kind != "points":
        raise WganKitError(f"$name: samples of kind {spec.kind!r} are not supported; "
                           "use a points data set such as 8gaussians")
    return spec.shape[0]


class ${Class}Generator(nn.Module):
    def __init__(self, spec: SampleSpec, hidden: int, latent_dim: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, _points_only(spec)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ${Class}Critic(nn.Module):
    def __init__(self, spec: SampleSpec, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(_points_only(spec), hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
''',
    },
    "data": {
        "heavy": "sources",
        "summary": "Points on a noisy circle.",
        "light": '''

class ${Class}Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    radius: float = Field(1.0, gt=0, description="Radius of the circle.")
    noise: float = Field(0.05, ge=0, description="Standard deviation of the noise.")


def build(options: ${Class}Options):
    from .sources import $Class

    return $Class(options.radius, options.noise)


@hookimpl
def register_components(register):
    register(Component("data", "$name", build, ${Class}Options, "$summary"))
''',
        "code": '''\
"""The `$name` data source. Batch i is drawn from a generator seeded by (seed, i), so a resumed
run continues the stream with skip=i."""

import itertools
import math
from collections.abc import Iterator

import torch

from wgan_kit import SampleSpec

HELD_OUT_SEED = 1 << 40


class $Class:
    spec = SampleSpec(shape=(2,), kind="points")

    def __init__(self, radius: float, noise: float) -> None:
        self.radius, self.noise = radius, noise

    def _sample(self, n: int, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        angle = 2 * math.pi * torch.rand(n, generator=generator)
        circle = self.radius * torch.stack([angle.cos(), angle.sin()], dim=1)
        return circle + self.noise * torch.randn(n, 2, generator=generator)

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for i in itertools.count(skip):
            yield self._sample(batch_size, (seed * 1_000_003 + i) % (1 << 63)).to(device)

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return self._sample(n, HELD_OUT_SEED).to(device)

    def decode(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.detach().float().cpu()
''',
    },
}


# Kinds with a choice of template; the first is the default, the one KINDS holds.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "constraint": {"penalty": PENALTY, "projection": PROJECTION},
}


def new_plugin(name: str, kind: str, directory: str | Path = ".", template: str | None = None
               ) -> Path:
    """Write the package `wgan-kit-<name>` of a `kind` plugin into `directory`, from `template`
    where the kind offers several (TEMPLATES); its path."""
    problems = []
    choices = TEMPLATES.get(kind, {})
    if template is not None and kind in KINDS and template not in choices:
        problems.append(f"--template {template!r}: " + (
            f"choose one of {', '.join(choices)}" if choices
            else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} has one template; drop "
                 "--template"))
    if not NAME.fullmatch(name):
        problems.append(f"NAME {name!r}: use lowercase letters, digits and single hyphens, "
                        "starting with a letter (e.g. my-hinge, my-loss)")
    if kind not in KINDS:
        problems.append(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    root = Path(directory).expanduser() / f"wgan-kit-{name}"
    if root.exists():
        problems.append(f"{root}: already exists; choose another NAME or --dir")
    if problems:
        raise WganKitError(problems)
    template = choices[template] if template in choices else KINDS[kind]
    module = f"wgan_kit_{name.replace('-', '_')}"
    values = {"name": name, "module": module, "heavy": template["heavy"],
              "summary": template["summary"],
              "Class": "".join(part.capitalize() for part in name.split("-"))}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{module}/__init__.py": LIGHT_HEADER + template["light"],
        f"src/{module}/{template['heavy']}.py": template["code"],
        f"tests/test_{module}.py": TEST,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return root


REGISTERED_KINDS = {"constraint": ("constraint",), "objective": ("objective",),
                    "net": ("generator", "critic"), "data": ("data",)}


def name_taken(name: str, kind: str, registry: Registry) -> list[str]:
    """Warnings for each component the new plugin's name would clash with: wgan-kit's built-ins
    and the user's own keep the short name (see wgan_kit/core/registry.py), so the new one would
    be reached only as `wgan-kit-NAME:NAME`; another package's makes the short name ambiguous."""
    return [f"{registered} {name!r} is already registered by {c.package}; the new plugin's "
            f"would be reached as wgan-kit-{name}:{name} (or make the short name ambiguous): "
            "choose another NAME unless you mean that"
            for registered in REGISTERED_KINDS.get(kind, ())
            for c in registry.components(registered) if c.name == name]
