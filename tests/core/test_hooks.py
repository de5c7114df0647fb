"""Lifecycle hooks: every hook in wgan_kit/core/hookspecs.py is called when its docstring says, is
documented in CONTRIBUTING.md and has a test here (named test_<hook>...)."""

from __future__ import annotations

import inspect
import json
import random
import re
import signal
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

import wgan_kit
from wgan_kit import hookimpl
from wgan_kit.core import hookspecs

from stop_requests import StopRequestAt

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE = ["run_started", "step_logged", "checkpoint_saved", "samples_saved", "run_finished"]
TINY = {"gen.hidden": 16, "critic.hidden": 16}


def plugin(name: str, **hooks) -> ModuleType:
    """A plugin module implementing the given hooks."""
    module = ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def recording_registry(events: list) -> wgan_kit.Registry:
    registry = wgan_kit.load_registry(strict=True)
    registry.load_module(plugin(
        "recorder",
        run_started=lambda trainer: events.append(("run_started", trainer.step)),
        step_logged=lambda trainer, metrics: events.append(("step_logged", dict(metrics))),
        checkpoint_saved=lambda path: events.append(("checkpoint_saved", path)),
        samples_saved=lambda trainer, path: events.append(("samples_saved", path)),
        run_finished=lambda trainer, metrics: events.append(("run_finished", metrics["step"])),
    ), package="tests")
    return registry


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> list:
    """The hooks called by a 4-step run logging every step, saving every 2."""
    events: list = []
    trainer = wgan_kit.compose(registry=recording_registry(events), options=TINY, steps=4,
                               batch_size=16, log_every=1, checkpoint_every=2, sample_every=2)
    trainer.train(out=tmp_path_factory.mktemp("hooks") / "run")
    return events


def named(events, hook):
    return [value for name, value in events if name == hook]


def test_register_components_adds_components_under_the_plugin_package():
    from wgan_kit.builtins.wasserstein import WassersteinObjective

    registry = wgan_kit.Registry()
    registry.load_module(plugin("mine", register_components=lambda register: register(
        wgan_kit.Component("objective", "mine", lambda options: WassersteinObjective()))),
        package="wgan-kit-mine", version="2.0")
    component = registry.get("objective", "mine")
    assert (component.package, component.version) == ("wgan-kit-mine", "2.0")


def test_run_started_comes_first_with_the_starting_step(events):
    assert events[0] == ("run_started", 0) and named(events, "run_started") == [0]


def test_step_logged_gets_each_logged_step_as_written_to_metrics_jsonl(events):
    logged = named(events, "step_logged")
    assert [m["step"] for m in logged] == [1, 2, 3, 4]
    assert {"critic_loss", "wasserstein", "penalty", "generator_loss"} <= set(logged[-1])
    path = named(events, "checkpoint_saved")[-1].parent.parent / "metrics.jsonl"
    assert [json.loads(line) for line in path.read_text().splitlines()] == logged


def test_checkpoint_saved_names_each_checkpoint_file(events):
    paths = named(events, "checkpoint_saved")
    assert [p.name for p in paths] == ["step-00000002.safetensors", "step-00000004.safetensors"]
    assert paths[-1].is_file()


def test_samples_saved_names_each_picture(events):
    paths = named(events, "samples_saved")
    assert [p.name for p in paths] == ["step-00000002.png", "step-00000004.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_run_finished_comes_last_with_the_last_metrics(events):
    assert events[-1] == ("run_finished", 4) and len(named(events, "run_finished")) == 1


def test_run_started_on_resume_gives_the_step_it_resumes_from(tmp_path):
    wgan_kit.compose(options=TINY, steps=2, batch_size=16).train(out=tmp_path / "run")
    events: list = []
    trainer = wgan_kit.resume(tmp_path / "run", steps=3, registry=recording_registry(events))
    trainer.train()
    assert events[0] == ("run_started", 2) and events[-1] == ("run_finished", 3)


def test_run_finished_also_follows_a_clean_stop_at_the_step_it_stopped(tmp_path):
    events: list = []
    trainer = wgan_kit.compose(registry=recording_registry(events), options=TINY, steps=10,
                               batch_size=16)
    result = trainer.train(out=tmp_path / "run",
                           progress=StopRequestAt(trainer, 3, signal.SIGINT))
    # Asked once step 3 was done: step 4 is the step under way, and the last.
    assert result.stopped_by == signal.SIGINT and result.step == 4
    assert events[-1] == ("run_finished", 4) and len(named(events, "run_finished")) == 1


def test_hooks_cannot_change_a_run():
    def draw(trainer, metrics):
        torch.randn(100), random.random(), np.random.rand()

    registry = wgan_kit.load_registry(strict=True)
    registry.load_module(plugin("drawer", step_logged=draw), package="tests")
    weights = []
    for chosen in (registry, wgan_kit.load_registry(strict=True)):
        trainer = wgan_kit.compose(registry=chosen, options=TINY, steps=3, batch_size=16,
                                   log_every=1)
        trainer.train()
        weights.append(trainer.generator.state_dict())
    assert all(weights[0][k].equal(weights[1][k]) for k in weights[0])


def test_a_misspelt_hook_is_a_load_error():
    registry = wgan_kit.load_registry(strict=True)
    registry.strict = False
    registry.load_module(plugin("typo", step_loged=lambda metrics: None), package="typo")
    [record] = [p for p in registry.plugins if p.package == "typo"]
    assert record.status == "error" and "step_loged" in record.error


def test_tensorboard_logger_writes_each_metric_as_a_scalar(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    wgan_kit.compose(options=TINY, steps=2, batch_size=16, log_every=1).train(out=tmp_path / "r")
    accumulator = EventAccumulator(str(tmp_path / "r" / "tensorboard"))
    accumulator.Reload()
    assert {"wasserstein", "critic_loss", "generator_loss"} <= set(accumulator.Tags()["scalars"])
    assert [e.step for e in accumulator.Scalars("wasserstein")] == [1, 2]


def test_every_hook_is_documented_and_tested():
    hooks = [name for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(f, "wgan_kit_spec")]
    assert set(LIFECYCLE) <= set(hooks)
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    tests = " ".join(re.findall(r"def (test_\w+)", "".join(
        p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))))
    undocumented = [h for h in hooks if f"### `{h}" not in contributing]
    untested = [h for h in hooks if f"test_{h}" not in tests]
    assert not undocumented, f"hooks without a '### `name`' heading in CONTRIBUTING.md: " \
                             f"{undocumented}"
    assert not untested, f"hooks without a test named test_<hook>...: {untested}"
