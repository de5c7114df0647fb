"""Plugins are found through entry points of installed distributions; a broken or clashing one is
reported and everything else keeps working. These tests install fake distributions on sys.path."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import wgan_kit
from wgan_kit import Component, WganKitError, load_registry, register
from wgan_kit.cli import app
from wgan_kit.core import registry as registry_module

from fake_plugins import GOOD, install


def test_builtins_register_through_entry_points_with_their_package(registry):
    builtins = {(c.kind, c.name) for c in registry.components() if c.package == "wgan-kit"}
    assert {("generator", "mlp"), ("critic", "mlp"), ("constraint", "gp"), ("constraint", "clip"),
            ("objective", "wgan"), ("data", "8gaussians"), ("data", "25gaussians"),
            ("data", "swissroll")} <= builtins
    assert all(p.status == "ok" for p in registry.plugins)


def test_a_third_party_plugin_is_found(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-hinge", GOOD.format(name="my-hinge"))
    component = load_registry().get("objective", "my-hinge")
    assert (component.package, component.version) == ("wgan-kit-hinge", "1.0")
    trainer = wgan_kit.compose(objective="my-hinge", steps=2, batch_size=8,
                               options={"gen.hidden": 8, "critic.hidden": 8})
    assert trainer.train()["step"] == 2


def test_a_broken_plugin_is_reported_and_the_rest_still_work(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-broken", "import no_such_module_anywhere\n")
    install(tmp_path, monkeypatch, "wgan-kit-raises", """
        from wgan_kit import hookimpl

        @hookimpl
        def register_components(register):
            raise RuntimeError("cannot register today")
    """)
    registry = load_registry()
    failures = {p.package: p.error for p in registry.plugins if p.status == "error"}
    assert "No module named 'no_such_module_anywhere'" in failures["wgan-kit-broken"]
    assert failures["wgan-kit-raises"] == "RuntimeError: cannot register today"
    assert registry.get("constraint", "gp").package == "wgan-kit"


def test_strict_mode_raises_load_errors(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-broken", "import no_such_module_anywhere\n")
    monkeypatch.setenv("WGAN_KIT_STRICT_PLUGINS", "1")
    with pytest.raises(ModuleNotFoundError):
        load_registry()


def test_a_name_clash_keeps_the_defaults_and_reaches_the_others_qualified(tmp_path, monkeypatch):
    """The rule: the user's own (local) wins a short name, then wgan-kit's built-ins; any other
    package is reached as package:name; two other packages sharing a name are ambiguous."""
    monkeypatch.setattr(registry_module, "_local_plugins", {})
    install(tmp_path, monkeypatch, "wgan-kit-other", GOOD.format(name="wgan"))
    install(tmp_path, monkeypatch, "wgan-kit-hinge-a", GOOD.format(name="my-hinge"))
    install(tmp_path, monkeypatch, "wgan-kit-hinge-b", GOOD.format(name="my-hinge"))
    registry = load_registry()
    assert registry.get("objective", "wgan").package == "wgan-kit"
    assert registry.get("objective", "wgan-kit-other:wgan").package == "wgan-kit-other"
    with pytest.raises(WganKitError) as caught:
        registry.get("objective", "my-hinge")
    assert "wgan-kit-hinge-a:my-hinge, wgan-kit-hinge-b:my-hinge" in str(caught.value)

    assert CliRunner().invoke(app, ["check", "--steps", "2"]).exit_code == 0  # the plain default
    listed = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).output)
    [other] = [r for r in listed if r["package"] == "wgan-kit-other"]
    assert other["status"] == "shadowed by wgan-kit:wgan; use wgan-kit-other:wgan"
    scaffolded = CliRunner().invoke(app, ["plugins", "new", "gp", "--kind", "constraint",
                                          "--dir", str(tmp_path)])
    assert scaffolded.exit_code == 0
    assert "warning: constraint 'gp' is already registered by wgan-kit" in scaffolded.output

    register(Component("objective", "wgan", lambda options: None, summary="mine"))
    assert load_registry().get("objective", "wgan").summary == "mine"  # the user's own wins


def test_an_unknown_name_says_which_package_failed_to_load_and_why(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-sobolev", "import no_such_module_anywhere\n")
    result = CliRunner().invoke(app, ["check", "--constraint", "sobolev"])
    assert result.exit_code == 2
    assert "unknown constraint 'sobolev'" in result.output
    assert ("package wgan-kit-sobolev failed to load (fake_plugin_" in result.output
            and "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in result.output)


def test_a_plugin_of_hooks_alone_is_listed():
    listed = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).output)
    [row] = [r for r in listed if r["name"] == "wgan_kit.builtins.tensorboard_logger"]
    assert row["kind"] == "hooks" and "run_started" in row["summary"]


def test_the_same_name_twice_in_one_package_is_a_plugin_error(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-twice", GOOD.format(name="my-hinge") + """
@hookimpl
def register_components(register):
    register(Component("objective", "my-hinge", lambda options: Hinge()))
    register(Component("objective", "my-hinge", lambda options: Hinge()))
""")
    registry = load_registry()
    [record] = [p for p in registry.plugins if p.package == "wgan-kit-twice"]
    assert record.status == "error" and "registered twice" in record.error
    with pytest.raises(WganKitError, match="unknown objective 'my-hinge'"):
        registry.get("objective", "my-hinge")


def test_plugins_can_be_limited_by_package(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-hinge", GOOD.format(name="my-hinge"))
    monkeypatch.setenv("WGAN_KIT_PLUGINS", "wgan-kit-hinge")
    assert {c.package for c in load_registry().components()} == {"wgan-kit-hinge"}
    monkeypatch.setenv("WGAN_KIT_PLUGINS", "")
    assert load_registry().components() == []


def test_unknown_names_suggest_the_closest(registry):
    with pytest.raises(WganKitError, match=r"unknown constraint 'gpp' \(did you mean 'gp'\?\)"):
        registry.get("constraint", "gpp")


RECIPE = """
from wgan_kit import Recipe, hookimpl

@hookimpl
def register_recipes(register):
    register(Recipe("hinge-gp", {"objective.name": "wgan", "constraint.name": "gp-one-sided",
                                 "constraint.weight": 5.0, "run.n_critic": 2},
                    "One-sided penalty, two critic steps.", "a test"))
"""


def test_register_recipes_of_a_third_party_package_are_found_and_compose(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-recipes", RECIPE)
    registry = load_registry()
    recipe = registry.recipe("hinge-gp")
    assert (recipe.package, recipe.version) == ("wgan-kit-recipes", "1.0")
    trainer = wgan_kit.compose(recipe="hinge-gp", steps=1, batch_size=8, registry=registry,
                               options={"gen.hidden": 8, "critic.hidden": 8})
    assert trainer.config.name_of("constraint") == "gp-one-sided"
    assert (trainer.run.n_critic, trainer.config.parts["constraint"].options.weight) == (2, 5.0)


def test_a_recipe_registered_twice_is_a_plugin_error(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "wgan-kit-twice", RECIPE + """
@hookimpl
def register_recipes(register):
    register(Recipe("twice", {}))
    register(Recipe("twice", {}))
""")
    [record] = [p for p in load_registry().plugins if p.package == "wgan-kit-twice"]
    assert record.status == "error" and "recipe 'twice' is registered twice" in record.error
