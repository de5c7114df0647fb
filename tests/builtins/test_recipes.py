"""Recipes: the published settings of each method, as presets that sit above the components'
suggestions and below everything the user sets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import wgan_kit
from wgan_kit import WganKitError
from wgan_kit.cli import app
from wgan_kit.core.layers import resolve_layers
from wgan_kit.core.layers import load_toml, parse_assignments

# The issue's table, written out independently of wgan_kit/builtins/recipes.py.
TABLE = {
    "wgan-gp": dict(objective="wgan", constraint="gp", weight=10.0, optimizer="adam", lr=1e-4,
                    betas=(0.0, 0.9), n_critic=5, batch_size=64, lr_schedule="constant"),
    "wgan-gp-toy": dict(gen="mlp", critic="mlp", objective="wgan", constraint="gp", weight=0.1,
                        optimizer="adam", lr=1e-4, betas=(0.5, 0.9), n_critic=5, batch_size=256,
                        lr_schedule="constant", ema_decay=0.0),
    "wgan-gp-cifar-resnet": dict(gen="resnet", critic="resnet", data="cifar10",
                                 objective="wgan", constraint="gp", weight=10.0, optimizer="adam",
                                 lr=2e-4, betas=(0.0, 0.9), n_critic=5, batch_size=64,
                                 generator_batch_size=128, lr_schedule="linear", steps=100_000),
    "wgan-gp-cifar-resnet-acgan": dict(
        gen="resnet", critic="resnet", data="cifar10", objective="wgan", constraint="gp", weight=10.0, optimizer="adam", lr=2e-4,
        betas=(0.0, 0.9), n_critic=5, batch_size=64, generator_batch_size=128,
        lr_schedule="linear", steps=100_000, conditional=True, class_loss_weights=(1.0, 0.1)),
    "wgan-clip": dict(objective="wgan", constraint="clip", c=0.01, optimizer="rmsprop", lr=5e-5,
                      n_critic=5, batch_size=64, lr_schedule="constant"),
    "dcgan": dict(objective="gan", constraint="none", optimizer="adam", lr=2e-4,
                  betas=(0.5, 0.999), n_critic=1, lr_schedule="constant"),
    "lsgan": dict(objective="lsgan", constraint="none", optimizer="rmsprop", lr=1e-4, n_critic=1,
                  lr_schedule="constant"),
    "wgan-gp-lsun": dict(objective="wgan", constraint="gp", weight=10.0, optimizer="adam", lr=1e-4,
                         betas=(0.5, 0.9), n_critic=5, batch_size=64, lr_schedule="constant"),
}
runner = CliRunner()


def test_the_built_in_recipes_are_the_issues_table(registry):
    assert {r.name for r in registry.recipes()} == set(TABLE)
    assert all(r.source and r.summary and r.package == "wgan-kit" for r in registry.recipes())


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_recipe_resolves_to_its_published_values(registry, name):
    expected = dict(TABLE[name])
    config = resolve_layers([], registry, recipe=name)
    for section in ("gen", "critic", "data", "objective", "constraint"):
        if section in expected:
            assert config.name_of(section) == expected.pop(section), section
    constraint = config.parts["constraint"].options
    for option in ("weight", "c"):
        if option in expected:
            assert getattr(constraint, option) == expected.pop(option), option
    for setting, value in expected.items():
        assert getattr(config.run, setting) == value, setting


def test_the_toy_recipe_keeps_the_released_codes_512_wide_nets_where_the_default_is_narrower(
        registry):
    default, recipe = (resolve_layers([], registry, recipe=name) for name in (None, "wgan-gp-toy"))
    assert default.parts["gen"].options.hidden == default.parts["critic"].options.hidden == 256
    assert recipe.parts["gen"].options.hidden == recipe.parts["critic"].options.hidden == 512


def test_a_recipe_is_above_suggestions_and_below_config_flags_and_set(tmp_path, registry):
    # The toy data suggests batch 256 and λ = 0.1; the recipe wgan-gp says 64 and 10.
    config = resolve_layers([], registry, recipe="wgan-gp")
    assert (config.run.batch_size, config.parts["constraint"].options.weight) == (64, 10.0)
    path = tmp_path / "c.toml"
    path.write_text("[run]\nbatch_size = 32\nlr = 3e-4\n")
    layers = [load_toml(path), {"run": {"lr": 5e-4}}, parse_assignments(["run.n_critic=2"])]
    config = resolve_layers(layers, registry, recipe="wgan-gp")
    assert (config.run.batch_size, config.run.lr, config.run.n_critic) == (32, 5e-4, 2)
    assert config.run.betas == (0.0, 0.9)  # the rest still comes from the recipe


def test_choosing_another_part_drops_the_recipes_options_for_the_old_one(registry):
    config = resolve_layers([{"constraint": {"name": "gp"}}], registry, recipe="wgan-clip")
    assert config.name_of("constraint") == "gp"
    assert config.run.optimizer == "rmsprop"  # run settings of the recipe still apply


def test_compose_takes_a_recipe_and_an_unknown_one_is_named(registry):
    trainer = wgan_kit.compose(recipe="lsgan", steps=2, batch_size=8, registry=registry,
                               options={"gen.hidden": 8, "critic.hidden": 8})
    assert trainer.train()["step"] == 2
    assert trainer.config.name_of("objective") == "lsgan"
    with pytest.raises(WganKitError) as caught:
        wgan_kit.compose(recipe="wgan-gpp", registry=registry)
    [problem] = caught.value.problems
    assert problem.startswith("--recipe: unknown recipe 'wgan-gpp' (did you mean 'wgan-gp'?)")
    assert all(name in problem for name in TABLE)


def test_run_with_a_recipe_on_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--recipe", "dcgan", "--steps", "2", "--batch-size", "8",
                                 "--set", "gen.hidden=8", "--set", "critic.hidden=8", "--out",
                                 str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    saved = load_toml(out / "config.toml")
    assert (saved["objective"]["name"], saved["constraint"]["name"]) == ("wgan-kit:gan",
                                                                        "wgan-kit:none")
    assert (saved["run"]["lr"], saved["run"]["betas"], saved["run"]["batch_size"]) == (
        2e-4, [0.5, 0.999], 8)
    resumed = runner.invoke(app, ["run", "--resume", str(out), "--recipe", "dcgan"])
    assert resumed.exit_code == 2 and "drop --recipe" in resumed.output
    cifar = runner.invoke(app, ["run", "--recipe", "wgan-gp-cifar-resnet", "--out",
                                str(tmp_path / "never")])
    assert cifar.exit_code == 2 and "data.path: give the folder of the CIFAR-10 files" in \
        cifar.output
    unknown = runner.invoke(app, ["run", "--recipe", "nope", "--out", str(tmp_path / "never")])
    assert unknown.exit_code == 2 and "error: --recipe: unknown recipe 'nope'" in unknown.output
    assert not (tmp_path / "never").exists()


def test_recipes_list_and_show():
    listed = json.loads(runner.invoke(app, ["recipes", "list", "--json"]).output)
    assert {entry["name"] for entry in listed} == set(TABLE)
    shown = json.loads(runner.invoke(app, ["recipes", "show", "wgan-clip", "--json"]).output)
    assert shown["settings"]["constraint.c"] == 0.01 and "Arjovsky" in shown["source"]
    text = runner.invoke(app, ["recipes", "show", "wgan-gp-cifar-resnet"]).output
    assert "run.generator_batch_size" in text and "U[0, 1/128)" in text
    unknown = runner.invoke(app, ["recipes", "show", "nope"])
    assert unknown.exit_code == 2 and "installed: dcgan, lsgan" in unknown.output


def test_listing_recipes_imports_no_torch():
    code = ("import sys\nfrom wgan_kit.cli import main\nsys.argv = ['wgan-kit', 'recipes', 'list']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print([m for m in sys.modules if m == 'torch' or m.startswith('torch.')])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_recipe_key_outside_every_section_is_refused(registry):
    from wgan_kit.core.layers import dotted_layer

    with pytest.raises(WganKitError, match=r"recipe mine 'model.depth': expected section.key"):
        dotted_layer({"run.lr": 1e-4, "model.depth": 3}, "recipe mine")
    with pytest.raises(WganKitError, match=r"options 'hidden': expected section.key"):
        wgan_kit.compose(options={"hidden": 8}, registry=registry)
