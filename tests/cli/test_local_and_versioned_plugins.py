"""Plugins without packaging (`wgan_kit.register`, `wgan-kit run --plugin FILE`) load through the
same path as installed ones; a plugin declaring plugin API versions that do not fit is listed as
an error, saying which versions fit, and is not loaded."""

from __future__ import annotations

import json
import textwrap

import tomllib

import pytest
from typer.testing import CliRunner

import wgan_kit
from wgan_kit import Component, NoOptions, WganKitError, load_registry
from wgan_kit.core import registry as registry_module
from wgan_kit.builtins.wasserstein import WassersteinObjective
from wgan_kit.cli import app

from fake_plugins import GOOD, install

TINY = ["--steps", "2", "--batch-size", "16", "--set", "gen.hidden=16", "--set",
        "critic.hidden=16", "--quiet"]


class Hinge(WassersteinObjective):
    def critic_loss(self, real_scores, fake_scores):
        return (1 - real_scores).clamp(min=0).mean() + (1 + fake_scores).clamp(min=0).mean()


@pytest.fixture(autouse=True)
def no_local_plugins(monkeypatch):
    monkeypatch.setattr(registry_module, "_local_plugins", {})


def test_register_a_component_for_this_process():
    wgan_kit.register(Component("objective", "my-hinge", lambda options: Hinge(), NoOptions, "Hinge."))
    component = load_registry().get("objective", "my-hinge")
    assert component.package == "local"
    trainer = wgan_kit.compose(objective="my-hinge", steps=2, batch_size=8,
                               options={"gen.hidden": 8, "critic.hidden": 8})
    assert trainer.train()["step"] == 2


def test_registering_a_name_again_replaces_it():
    wgan_kit.register(Component("objective", "my-hinge", lambda options: Hinge(), summary="first"))
    wgan_kit.register(Component("objective", "my-hinge", lambda options: Hinge(), summary="second"))
    registry = load_registry(strict=True)
    assert registry.get("objective", "my-hinge").summary == "second"


def test_a_run_records_and_resumes_the_plugin_file_it_was_composed_with(tmp_path):
    path, run = tmp_path / "my_hinge.py", tmp_path / "run"
    path.write_text(textwrap.dedent(GOOD.format(name="hinge")))
    result = CliRunner().invoke(app, ["run", "--plugin", str(path), "--objective", "hinge", *TINY,
                                      "--out", str(run)])
    assert result.exit_code == 0, result.output
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["objective"]["name"] == "local:hinge"
    assert saved["provenance"]["objective"] == {
        "package": "local", "file": str(path), "version": registry_module.file_version(path)}
    assert saved["provenance"]["gen"] == {"package": "wgan-kit", "version": wgan_kit.__version__}

    registry_module._local_plugins.clear()  # as in a new process
    forgotten = CliRunner().invoke(app, ["run", "--resume", str(run), "--steps", "3"])
    assert forgotten.exit_code == 2
    assert f"the run was composed with --plugin {path}; give that --plugin again" \
        in forgotten.output
    path.write_text(path.read_text() + "# changed\n")
    with pytest.warns(wgan_kit.WganKitWarning, match="objective: local:hinge was local sha256:"
                      ".* now it is local sha256:.*so results may differ"):
        resumed = CliRunner().invoke(app, ["run", "--resume", str(run), "--steps", "3",
                                           "--plugin", str(path), "--objective", "local:hinge",
                                           "--quiet"])
    assert resumed.exit_code == 0, resumed.output  # naming what the run uses is no change
    registry_module._local_plugins.clear()
    drawn = CliRunner().invoke(app, ["sample", str(run), "--plugin", str(path), "--n", "8",
                                     "--out", str(tmp_path / "s.png")])
    assert drawn.exit_code == 0, drawn.output
    registry_module._local_plugins.clear()
    page = tmp_path / "report.html"
    reported = CliRunner().invoke(app, ["report", str(run), "--eval", "--n", "20", "--plugin",
                                        str(path), "--out", str(page)])
    assert reported.exit_code == 0, reported.output
    assert "W1" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("source, message", [
    ("import no_such_module_anywhere\n", "importing it failed: ModuleNotFoundError"),
    ("WGAN_KIT_PLUGIN_API = '>=7'\n", "written for wgan-kit plugin API >=7"),
])
def test_a_broken_plugin_file_is_a_one_line_error(tmp_path, source, message):
    path = tmp_path / "broken.py"
    path.write_text(source)
    result = CliRunner().invoke(app, ["run", "--plugin", str(path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["run", "--plugin", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2 and "no such Python file" in missing.output


def test_the_core_exposes_its_plugin_api_version():
    assert wgan_kit.PLUGIN_API == 1


@pytest.mark.parametrize("needs", [">=1,<2", "==1", ">0", None])
def test_a_plugin_that_fits_the_plugin_api_loads(tmp_path, monkeypatch, needs):
    declared = "" if needs is None else f"WGAN_KIT_PLUGIN_API = {needs!r}\n"
    install(tmp_path, monkeypatch, "wgan-kit-hinge", declared + GOOD.format(name="my-hinge"))
    assert load_registry(strict=True).get("objective", "my-hinge").package == "wgan-kit-hinge"


def test_an_incompatible_plugin_is_listed_as_such_and_not_loaded(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-future",
            "WGAN_KIT_PLUGIN_API = '>=2,<3'\n" + GOOD.format(name="my-hinge"))
    listed = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).output)
    [row] = [r for r in listed if r["package"] == "wgan-kit-future"]
    assert row["status"] == "error"
    assert "written for wgan-kit plugin API >=2,<3, but this wgan-kit has plugin API 1" \
        in row["summary"]
    with pytest.raises(WganKitError, match="unknown objective 'my-hinge'"):
        load_registry().get("objective", "my-hinge")
    monkeypatch.setenv("WGAN_KIT_STRICT_PLUGINS", "1")
    with pytest.raises(registry_module.IncompatiblePlugin):
        load_registry()


def test_a_malformed_api_range_is_a_plugin_error(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-odd", "WGAN_KIT_PLUGIN_API = 'one'\n" + GOOD.format(
        name="my-hinge"))
    [record] = [p for p in load_registry().plugins if p.package == "wgan-kit-odd"]
    assert record.status == "error" and "such as '>=1,<2'" in record.error
