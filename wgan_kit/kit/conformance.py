"""The conformance kit: checks a plugin author calls in their own tests.

    from wgan_kit.testing import check_constraint

    def test_spectral_meets_the_constraint_contract():
        check_constraint("spectral")

Each check builds the component (by name, or a `Component`) on tiny shapes, runs a CPU step and
raises an `AssertionError` naming the component and the guarantee it broke, as scikit-learn's
`check_estimator` does. The guarantees are those of `wgan_kit.core.protocols` plus what the
engine, checkpoints and `--resume` rely on. Also a pytest plugin (entry point `pytest11`) whose fixtures
are `tiny_spec` (each of `TINY_SPECS`), `wgan_kit_registry` and `tiny_run`.

Only tests import this module, so it imports torch freely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import pytest
import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from ..core.layers import NETS, SECTIONS, RunSettings
from ..core.protocols import (
    Critic,
    DataSource,
    Generator,
    LipschitzConstraint,
    Objective,
    Penalty,
    SampleSpec,
    prepare_critic,
    project_weights,
)
from ..core.registry import Component, Registry, load_registry
from ..errors import WganKitError
from ..core.engine.acceleration import batch_coupled_modules
from ..training.penalty_contract import penalty_contract

__all__ = ["CHECKS", "N", "REFERENCE_CRITICS", "TINY_SPECS", "ReferenceConvCritic",
           "ReferenceMLPCritic", "check_component", "check_constraint", "check_critic",
           "check_data_source", "check_generator", "check_objective", "check_options",
           "components_of", "tiny_run", "tiny_spec", "wgan_kit_registry"]

N = 4  # samples per tiny batch
TINY_SPECS = (
    SampleSpec((2,), "points"),
    SampleSpec((1, 28, 28), "image", (-1.0, 1.0)),
    SampleSpec((3, 32, 32), "image", (-1.0, 1.0)),
    SampleSpec((16, 5), "sequence", (0.0, 1.0)),
)


def _require(condition: Any, who: str, guarantee: str, got: str = "") -> None:
    if not condition:
        raise AssertionError(f"{who} breaks a guarantee: {guarantee}"
                             + (f"; got {got}" if got else ""))


def _resolve(component: Component | str, kind: str, registry: Registry | None) -> Component:
    if isinstance(component, str):
        return (registry or load_registry(strict=True)).get(kind, component)
    _require(component.kind == kind, f"{component.kind} {component.name!r}",
             f"check_{kind} checks a {kind}", component.kind)
    return component


def check_options(component: Component, options: Mapping[str, Any] | None = None) -> BaseModel:
    """The options model and suggestions: what `plugins show` and `--set` rely on. Returns the
    options validated from `options` (default: all defaults)."""
    who, model = f"{component.kind} {component.name!r}", component.options
    _require(isinstance(model, type) and issubclass(model, BaseModel), who,
             "its options are a pydantic BaseModel", repr(model))
    _require(model.model_config.get("extra") == "forbid", who,
             "its options model forbids unknown options (model_config extra='forbid'), so a typo "
             "in --set is reported", repr(model.model_config.get("extra")))
    undocumented = [name for name, f in model.model_fields.items() if not f.description]
    _require(not undocumented, who, "every option has Field(description=...) for `plugins show`",
             ", ".join(undocumented))
    for key in component.suggests:
        section, _, option = key.partition(".")
        _require(section in ("run", *SECTIONS) and option, who,
                 "each suggestion is a dotted key such as 'run.lr'", repr(key))
        _require(section != "run" or option in RunSettings.model_fields, who,
                 "each 'run.' suggestion names a run setting", repr(key))
        _require(option != "name" or (component.kind == "data" and section in NETS),
                 who, "only a data source suggests plugins, and only the nets ('gen.name', "
                      "'critic.name')", repr(key))
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        raise AssertionError(f"{who} breaks a guarantee: its options validate from their defaults "
                             f"(plus the given ones); got {exc}") from None


def _build_nets(component: Component, options: BaseModel, specs: Iterable[SampleSpec]
                ) -> list[tuple[SampleSpec, Callable[[], nn.Module]]]:
    """The specs the net accepts, each with a builder; refusing one must be a WganKitError."""
    accepted = []
    for spec in specs:
        who = f"{component.kind} {component.name!r}"
        try:
            component.factory(options, spec)
        except WganKitError:
            continue
        except Exception as exc:
            raise AssertionError(f"{who} breaks a guarantee: it builds for {spec}, or refuses it "
                                 f"with a WganKitError; got {type(exc).__name__}: {exc}") from exc
        accepted.append((spec, lambda spec=spec: _seeded(component.factory, options, spec)))
    _require(accepted, f"{component.kind} {component.name!r}",
             "it builds for at least one of the specs (pass specs= the shapes it supports)",
             "a WganKitError for every one")
    return accepted


def _seeded(factory: Callable[..., Any], *args: Any) -> Any:
    torch.manual_seed(0)
    return factory(*args)


def _real_like(spec: SampleSpec, n: int = N) -> torch.Tensor:
    low, high = spec.value_range or (-1.0, 1.0)
    return low + (high - low) * torch.rand(n, *spec.shape)


def _check_state_dict_round_trip(net: nn.Module, fresh: nn.Module, inputs: torch.Tensor,
                                 who: str) -> None:
    try:
        fresh.load_state_dict(net.state_dict())
    except RuntimeError as exc:
        raise AssertionError(f"{who} breaks a guarantee: a fresh build loads its state_dict "
                             f"(checkpoints and --resume); got {exc}") from exc
    net.eval(), fresh.eval()
    with torch.no_grad():
        _require(torch.allclose(net(inputs), fresh(inputs)), who,
                 "a fresh build that loads its state_dict computes the same outputs")
    net.train(), fresh.train()


def _check_parameters_learn(net: nn.Module, output: torch.Tensor, who: str) -> None:
    output.float().sum().backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    _require(grads and any(g.abs().sum() > 0 for g in grads), who,
             "its parameters get gradients from its output (else it cannot learn)")
    _require(all(torch.isfinite(g).all() for g in grads), who, "its gradients are finite")


def check_generator(component: Component | str, *, options: Mapping[str, Any] | None = None,
                    specs: Iterable[SampleSpec] = TINY_SPECS,
                    registry: Registry | None = None) -> None:
    """G(z) for z ~ N(0, I): shape (N, *spec.shape), finite, within spec.value_range; learns;
    each sample depends on its own z alone in eval mode; its state_dict round-trips."""
    component = _resolve(component, "generator", registry)
    valid = check_options(component, options)
    for spec, build in _build_nets(component, valid, specs):
        who = f"generator {component.name!r} on {spec.kind} {spec.shape}"
        net = build()
        _require(isinstance(net, nn.Module) and isinstance(net, Generator), who,
                 "it is an nn.Module meeting the Generator protocol (a latent_dim attribute)")
        _require(isinstance(net.latent_dim, int) and net.latent_dim >= 1, who,
                 "latent_dim is a positive int", repr(net.latent_dim))
        z = torch.randn(N, net.latent_dim)
        out = net(z)
        _require(isinstance(out, torch.Tensor) and tuple(out.shape) == (N, *spec.shape), who,
                 f"G(z) has shape (N, *spec.shape) = {(N, *spec.shape)}",
                 str(tuple(getattr(out, "shape", ()))))
        _require(out.is_floating_point() and torch.isfinite(out).all(), who,
                 "G(z) is finite floating point")
        if spec.value_range:
            low, high = spec.value_range
            _require(out.min() >= low - 1e-5 and out.max() <= high + 1e-5, who,
                     f"G(z) lies within spec.value_range {spec.value_range}",
                     f"[{out.min().item():.3g}, {out.max().item():.3g}]")
        _check_parameters_learn(net, out, who)
        net.eval()
        with torch.no_grad():
            _require(torch.allclose(net(z)[:2], net(z[:2]), atol=1e-5), who,
                     "in eval mode each sample depends only on its own z")
        net.train()
        _check_state_dict_round_trip(net, build(), z, who)


def check_critic(component: Component | str, *, options: Mapping[str, Any] | None = None,
                 specs: Iterable[SampleSpec] = TINY_SPECS, registry: Registry | None = None
                 ) -> None:
    """D(x): one finite score per sample; gradients reach its input and its parameters, twice
    over (the gradient penalty); each score depends on its own sample alone (except under batch
    normalization, which wgan-kit refuses with a penalty); its state_dict round-trips."""
    component = _resolve(component, "critic", registry)
    valid = check_options(component, options)
    for spec, build in _build_nets(component, valid, specs):
        who = f"critic {component.name!r} on {spec.kind} {spec.shape}"
        net = build()
        _require(isinstance(net, nn.Module) and isinstance(net, Critic), who,
                 "it is an nn.Module meeting the Critic protocol")
        _check_scores_one_per_sample(net, spec, who)
        x = _real_like(spec).requires_grad_(True)
        (gradient,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        _require(torch.isfinite(gradient).all() and gradient.abs().sum() > 0, who,
                 "its scores pass finite, non-zero gradients to its input (the generator learns "
                 "through them)")
        _check_parameters_learn(net, gradient.square().sum(), f"{who} (double backward, as the "
                                                              "gradient penalty needs)")
        if not batch_coupled_modules(net):
            x = _real_like(spec)
            with torch.no_grad():
                _require(torch.allclose(net(x)[:2].flatten(), net(x[:2]).flatten(), atol=1e-5), who,
                         "each score depends only on its own sample (a penalty on per-sample "
                         "gradients needs it, WGAN-GP Section 4)")
        _check_state_dict_round_trip(net, build(), _real_like(spec), who)


def _check_scores_one_per_sample(net: nn.Module, spec: SampleSpec, who: str) -> torch.Tensor:
    scores = net(_real_like(spec))
    _require(isinstance(scores, torch.Tensor) and tuple(scores.shape) in ((N,), (N, 1)), who,
             f"D(x) has shape (N,) or (N, 1) = ({N},)", str(tuple(getattr(scores, "shape", ()))))
    _require(scores.is_floating_point() and torch.isfinite(scores).all(), who,
             "D(x) is finite floating point")
    return scores


class ReferenceMLPCritic(nn.Module):
    """A small fully connected critic, for checking constraints on points."""

    def __init__(self, spec: SampleSpec) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(spec.shape), 16),
                                 nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class ReferenceConvCritic(nn.Module):
    """A small convolutional critic, for checking constraints on images."""

    def __init__(self, spec: SampleSpec) -> None:
        super().__init__()
        channels, height, width = spec.shape
        self.net = nn.Sequential(nn.Conv2d(channels, 8, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                                 nn.Linear(16 * (height // 4) * (width // 4), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


REFERENCE_CRITICS = ((SampleSpec((2,), "points"), ReferenceMLPCritic),
                     (SampleSpec((3, 16, 16), "image", (-1.0, 1.0)), ReferenceConvCritic))


def check_constraint(component: Component | str, *, options: Mapping[str, Any] | None = None,
                     critic: Component | str | None = None,
                     specs: Iterable[SampleSpec] = TINY_SPECS,
                     registry: Registry | None = None) -> None:
    """On each critic (the kit's reference MLP and conv critics, or `critic` on each spec it
    accepts): `prepare`, where it has one, returns a critic that still scores each sample;
    `penalty` is None or a Penalty keeping its contract (`wgan_kit.training.penalty_contract`, the
    preflight's check: a finite scalar whose gradient reaches the critic's weights, ‖∇D(p)‖₂ per
    sample over all axes at the points it chose); a critic step with penalty and `project` (where
    it has one) stays finite; a critic prepared afresh loads a trained one's state_dict."""
    component = _resolve(component, "constraint", registry)
    valid = check_options(component, options)
    if critic is None:
        critics = [(net.__name__, spec, lambda spec=spec, net=net: _seeded(net, spec))
                   for spec, net in REFERENCE_CRITICS]
    else:
        critic_component = _resolve(critic, "critic", registry)
        critics = [(f"critic {critic_component.name!r}", spec, build) for spec, build
                   in _build_nets(critic_component, critic_component.options(), specs)]
    for critic_name, spec, build in critics:
        who = f"constraint {component.name!r} with {critic_name} on {spec.kind} {spec.shape}"
        constraint = component.factory(valid)
        _require(isinstance(constraint, LipschitzConstraint), who,
                 "it meets the LipschitzConstraint protocol (penalty, "
                 "penalises_input_gradients; prepare and project if it needs them)")
        _require(isinstance(constraint.penalises_input_gradients, bool), who,
                 "penalises_input_gradients is a bool", repr(constraint.penalises_input_gradients))
        net = prepare_critic(constraint, build())
        _require(isinstance(net, nn.Module), who, "prepare(critic) returns an nn.Module",
                 type(net).__name__)
        _check_scores_one_per_sample(net, spec, f"{who}, after prepare")
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        real, fake = _real_like(spec), _real_like(spec)  # two different batches
        penalty = constraint.penalty(net, real, fake)
        loss = net(fake).mean() - net(real).mean()
        if penalty is not None:
            _require(isinstance(penalty, Penalty), who, "penalty() returns a Penalty or None",
                     type(penalty).__name__)
            for problem, advice in penalty_contract(net, constraint, real, fake).problems:
                _require(False, who, f"the penalty {problem}; {advice}")
            loss = loss + penalty.value
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        project_weights(constraint, net)
        _require(all(torch.isfinite(p).all() for p in net.parameters()), who,
                 "the critic's parameters stay finite after a step and project()")
        _check_scores_one_per_sample(net, spec, f"{who}, after a step")
        afresh = prepare_critic(component.factory(valid), build())
        _check_state_dict_round_trip(net, afresh, real, f"{who} (a critic prepared afresh)")


def check_objective(component: Component | str, *, options: Mapping[str, Any] | None = None,
                    registry: Registry | None = None) -> None:
    """Both losses are finite scalar means over the batch, take scores of shape (N,) or (N, 1),
    and point the right way: the critic loss falls as real scores rise and fake scores fall, the
    generator loss falls as fake scores rise (for scores in (0.25, 0.75): between the targets of
    least squares, where every common objective points the same way)."""
    component = _resolve(component, "objective", registry)
    who = f"objective {component.name!r}"
    objective = component.factory(check_options(component, options))
    _require(isinstance(objective, Objective), who,
             "it meets the Objective protocol (critic_loss, generator_loss)")
    generator = torch.Generator().manual_seed(0)
    real = (torch.rand(8, generator=generator) / 2 + 0.25).requires_grad_(True)
    fake = (torch.rand(8, generator=generator) / 2 + 0.25).requires_grad_(True)
    critic_loss, generator_loss = objective.critic_loss(real, fake), objective.generator_loss(fake)
    for name, loss in (("critic_loss", critic_loss), ("generator_loss", generator_loss)):
        _require(isinstance(loss, torch.Tensor) and loss.dim() == 0 and torch.isfinite(loss), who,
                 f"{name} is a finite scalar tensor", repr(loss))
    with torch.no_grad():
        twice = lambda s: torch.cat([s, s])  # noqa: E731
        _require(torch.allclose(objective.critic_loss(twice(real), twice(fake)), critic_loss)
                 and torch.allclose(objective.generator_loss(twice(fake)), generator_loss), who,
                 "each loss is a mean over the batch (the same for the batch repeated twice)")
        _require(torch.allclose(objective.critic_loss(real[:, None], fake[:, None]), critic_loss)
                 and torch.allclose(objective.generator_loss(fake[:, None]), generator_loss), who,
                 "scores of shape (N, 1) give the same losses as (N,) (critics may return either)")
    real_grad, fake_grad = torch.autograd.grad(critic_loss, (real, fake))
    _require(real_grad.sum() < 0 and fake_grad.sum() > 0, who,
             "the critic loss falls as real scores rise and as fake scores fall "
             "(higher = more real)")
    (generator_grad,) = torch.autograd.grad(generator_loss, fake)
    _require(generator_grad.sum() < 0, who, "the generator loss falls as fake scores rise")


def check_data_source(component: Component | str, *, options: Mapping[str, Any] | None = None,
                      registry: Registry | None = None) -> None:
    """Batches of shape (batch_size, *spec.shape), finite, within spec.value_range; batch i depends
    only on (seed, batch_size, i), so `skip=i` resumes the stream; held-out samples and `decode`."""
    component = _resolve(component, "data", registry)
    who = f"data {component.name!r}"
    source = component.factory(check_options(component, options))
    _require(isinstance(source, DataSource) and isinstance(source.spec, SampleSpec), who,
             "it meets the DataSource protocol with a SampleSpec as spec")
    spec, cpu = source.spec, torch.device("cpu")
    _require(all(isinstance(d, int) and d > 0 for d in spec.shape), who,
             "spec.shape is a tuple of positive ints", repr(spec.shape))

    def first(count: int, *, seed: int = 0, skip: int = 0) -> list[torch.Tensor]:
        stream = source.batches(8, seed=seed, device=cpu, skip=skip)
        return [next(stream) for _ in range(count)]

    batches = first(3)
    for batch in batches:
        _require(isinstance(batch, torch.Tensor) and tuple(batch.shape) == (8, *spec.shape), who,
                 f"each batch has shape (batch_size, *spec.shape) = {(8, *spec.shape)}",
                 str(tuple(getattr(batch, "shape", ()))))
        _require(batch.is_floating_point() and torch.isfinite(batch).all(), who,
                 "batches are finite floating point")
        if spec.value_range:
            low, high = spec.value_range
            _require(batch.min() >= low - 1e-5 and batch.max() <= high + 1e-5, who,
                     f"batches lie within spec.value_range {spec.value_range}")
    _require(all(a.equal(b) for a, b in zip(batches, first(3))), who,
             "the same seed gives the same stream of batches")
    _require(first(1, skip=2)[0].equal(batches[2]), who,
             "batches(skip=i) starts with batch i of the stream (a resumed run continues it)")
    _require(not first(1, seed=1)[0].equal(batches[0]), who, "another seed gives other batches")
    held_out = source.held_out(8, device=cpu)
    _require(isinstance(held_out, torch.Tensor) and tuple(held_out.shape) == (8, *spec.shape), who,
             "held_out(n) has shape (n, *spec.shape)", str(tuple(getattr(held_out, "shape", ()))))
    decoded = source.decode(batches[0])
    _require(decoded is not None and (not hasattr(decoded, "__len__") or len(decoded) == 8), who,
             "decode(batch) gives one decoded sample per sample")


CHECKS: dict[str, Callable[..., None]] = {
    "generator": check_generator, "critic": check_critic, "constraint": check_constraint,
    "objective": check_objective, "data": check_data_source,
}


def check_component(component: Component, **kwargs: Any) -> None:
    """The check of the component's kind."""
    CHECKS[component.kind](component, **kwargs)


def components_of(module: ModuleType | str) -> list[Component]:
    """The components a plugin module registers, through the registry's own loading path (so a
    plugin's tests need not install it). Load errors raise."""
    if isinstance(module, str):
        from importlib import import_module

        module = import_module(module)
    registry = Registry(strict=True)
    registry.load_module(module, package=module.__name__.split(".")[0])
    return registry.components()


# The pytest plugin: fixtures for plugin authors' tests.

@pytest.fixture(params=TINY_SPECS, ids=lambda spec: f"{spec.kind}{'x'.join(map(str, spec.shape))}")
def tiny_spec(request: pytest.FixtureRequest) -> SampleSpec:
    """Each of the kit's tiny sample specs in turn: points, images, sequences."""
    return request.param


@pytest.fixture(scope="session")
def wgan_kit_registry() -> Registry:
    """Every installed plugin, with load errors raised (strict)."""
    return load_registry(strict=True)


@pytest.fixture
def tiny_run(wgan_kit_registry: Registry) -> Callable[..., Any]:
    """A factory of short, small runs: `tiny_run(constraint="spectral").train()` trains two
    generator steps on batches of 16 (hidden width 16 when the nets are the built-in `mlp`)."""

    def make(**kwargs: Any) -> Any:
        import wgan_kit

        tiny = {f"{section}.hidden": 16 for section in ("gen", "critic")
                if kwargs.get(section, "mlp") == "mlp"}
        kwargs["options"] = {**tiny, **kwargs.get("options", {})}
        kwargs.setdefault("steps", 2)
        kwargs.setdefault("batch_size", 16)
        return wgan_kit.compose(registry=wgan_kit_registry, **kwargs)

    return make
