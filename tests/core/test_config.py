"""The run configuration: layer precedence, suggestions, and errors reported all at once."""

from __future__ import annotations

import tomllib

import pytest

from wgan_kit import WganKitError
from wgan_kit.core.layers import resolve_layers
from wgan_kit.core.layers import load_toml, parse_assignments, parse_value


def test_defaults_are_wgan_gp_with_the_toy_settings_chosen_by_time_to_quality(registry):
    config = resolve_layers([], registry)
    assert [config.name_of(s) for s in ("gen", "critic", "constraint", "objective", "data")] == [
        "mlp", "mlp", "gp", "wgan", "8gaussians"]
    run = config.run
    # Algorithm 1 (Adam, n_critic 5) with the released toy code's batch 256, β1 0.5, λ 0.1.
    assert (run.optimizer, run.n_critic) == ("adam", 5)
    assert (run.batch_size, run.betas) == (256, (0.5, 0.9))
    assert config.parts["constraint"].options.weight == 0.1
    # The first command's run, as measured (benchmarks/README.md): 256-wide nets at 3e-4 for
    # 3,000 steps, bf16 where native, with EMA.
    assert (config.parts["gen"].options.hidden, config.parts["critic"].options.hidden) == (256, 256)
    assert (run.lr, run.steps, run.precision, run.ema_decay) == (3e-4, 3000, "auto", 0.995)


def test_the_grid_of_25_gaussians_brings_its_own_time_to_quality_settings(registry):
    """benchmarks/README.md, "Time to quality": the toy's nets and λ with an 8-d latent, Adam 3e-3,
    n_critic 3 and a moving average of 0.99 gave all 25 modes in 6,000 steps on six seeds."""
    grid = resolve_layers([{"data": {"name": "25gaussians"}}], registry)
    run = grid.run
    assert (grid.parts["gen"].options.hidden, grid.parts["gen"].options.latent_dim) == (256, 8)
    assert grid.parts["constraint"].options.weight == 0.1
    assert (run.lr, run.n_critic, run.ema_decay, run.steps) == (3e-3, 3, 0.99, 6000)
    eight = resolve_layers([{"data": {"name": "8gaussians"}}], registry)
    assert (eight.run.lr, eight.run.n_critic, eight.parts["gen"].options.latent_dim) == (
        3e-4, 5, None)  # None: the mlp's own default, 2 for points


def test_the_toy_sets_step_size_gives_way_to_clippings_own(registry):
    """Weight clipping trains with RMSProp at 5e-5 (Arjovsky et al.), whatever the data suggests."""
    clip = resolve_layers([{"constraint": {"name": "clip"}}], registry)
    assert (clip.run.optimizer, clip.run.lr) == ("rmsprop", 5e-5)


def test_clipping_brings_the_original_wgan_settings(registry):
    """WGAN (Arjovsky et al.): RMSProp at α = 5e-5, c = 0.01."""
    clip = resolve_layers([{"constraint": {"name": "clip"}}], registry)
    assert (clip.run.optimizer, clip.run.lr) == ("rmsprop", 5e-5)
    assert clip.parts["constraint"].options.c == 0.01


def test_gp_weight_defaults_to_the_papers_lambda(registry):
    component = registry.get("constraint", "gp")
    assert component.options().weight == 10.0


def test_later_layers_win(tmp_path, registry):
    path = tmp_path / "c.toml"
    path.write_text("[run]\nsteps = 7\nseed = 3\n[gen]\nhidden = 64\n")
    layers = [load_toml(path), {"run": {"steps": 9}},
              parse_assignments(["run.steps=11", "gen.depth=2"])]
    config = resolve_layers(layers, registry)
    assert config.run.steps == 11  # --set beats the flag, which beats the file
    assert config.run.seed == 3
    assert (config.parts["gen"].options.hidden, config.parts["gen"].options.depth) == (64, 2)


def test_user_settings_beat_suggestions(registry):
    config = resolve_layers([parse_assignments(["constraint.weight=10", "run.batch_size=64"])],
                            registry)
    assert config.parts["constraint"].options.weight == 10
    assert config.run.batch_size == 64


def test_a_suggestion_over_a_plugins_own_default_is_recorded_with_the_component_that_made_it(
        registry):
    # What a user saw: gp declares weight = 10.0 (and `plugins show gp` says so), yet the run
    # used 0.1, the toy data's suggestion, and nothing said which layer set it.
    config = resolve_layers([], registry)
    assert config.suggested["constraint.weight"] == "data wgan-kit:8gaussians"
    assert config.suggested["run.n_critic"] == "objective wgan-kit:wgan"
    assert config.defaults_replaced() == {"data 8gaussians": [
        "gen.hidden = 256 (mlp: 512)", "critic.hidden = 256 (mlp: 512)",
        "constraint.weight = 0.1 (gp: 10.0)"]}
    recorded = tomllib.loads(config.to_toml())
    assert recorded["constraint"]["weight"] == 0.1
    assert recorded["suggested"]["constraint.weight"] == "data wgan-kit:8gaussians"
    chosen = resolve_layers([parse_assignments(["constraint.weight=0.1", "gen.hidden=256"])],
                            registry)  # set by the user, even to the same value: not suggested
    assert "constraint.weight" not in chosen.suggested and "gen.hidden" not in chosen.suggested
    assert chosen.defaults_replaced() == {"data 8gaussians": ["critic.hidden = 256 (mlp: 512)"]}


def test_a_config_toml_given_again_keeps_its_record_of_suggestions_where_they_still_hold(
        registry):
    recorded = tomllib.loads(resolve_layers([], registry).to_toml())
    again = resolve_layers([recorded], registry)  # a resumed run, or --config runs/X/config.toml
    assert again.suggested == resolve_layers([], registry).suggested
    changed = resolve_layers([recorded, parse_assignments(["constraint.weight=5"])], registry)
    assert "constraint.weight" not in changed.suggested and "gen.hidden" in changed.suggested
    edited = {**recorded, "gen": {**recorded["gen"], "hidden": 64}}  # the file changed by hand
    assert "gen.hidden" not in resolve_layers([edited], registry).suggested
    other_data = resolve_layers([recorded, {"data": {"name": "25gaussians"}}], registry)
    assert "constraint.weight" not in other_data.suggested  # the file's 0.1, not 25gaussians'


def test_choosing_another_plugin_drops_the_options_meant_for_the_old_one(registry):
    layers = [{"constraint": {"name": "gp", "weight": 3.0}}, {"constraint": {"name": "clip"}}]
    config = resolve_layers(layers, registry)
    assert config.name_of("constraint") == "clip"


def test_every_problem_is_reported_at_once(registry):
    layers = [parse_assignments(["gen.hiden=3", "run.steps=abc", "constraint.weight=-1",
                                 "data.name=nope"])]
    with pytest.raises(WganKitError) as caught:
        resolve_layers(layers, registry)
    problems = caught.value.problems
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "gen.hiden: mlp has no such option; its options are: latent_dim, hidden" in text
    assert "run.steps: input should be a valid integer" in text and "'abc'" in text
    assert "constraint.weight: input should be greater than or equal to 0, got -1" in text
    assert "data.name: unknown data 'nope'" in text and "8gaussians" in text


@pytest.mark.parametrize("item, message", [
    ("steps=5", "expected section.key=value"),
    ("run.steps", "expected section.key=value"),
    ("model.x=1", "unknown section 'model'"),
])
def test_malformed_assignments(item, message):
    with pytest.raises(WganKitError, match=message):
        parse_assignments([item])


@pytest.mark.parametrize("text, value", [
    ("5", 5), ("1e-4", 1e-4), ("true", True), ("[0.5, 0.9]", [0.5, 0.9]), ('"x y"', "x y"),
    ("~/faces", "~/faces"), ("", ""),
])
def test_set_values_are_toml_literals_or_plain_strings(text, value):
    assert parse_value(text) == value


def test_bad_config_files(tmp_path):
    with pytest.raises(WganKitError, match="no such file"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nsteps = 1")
    with pytest.raises(WganKitError, match="not valid TOML"):
        load_toml(bad)
    stray = tmp_path / "stray.toml"
    stray.write_text("steps = 1\n[model]\nx = 1\n")
    with pytest.raises(WganKitError) as caught:
        load_toml(stray)
    assert len(caught.value.problems) == 2


def test_resolved_config_round_trips_through_toml(tmp_path, registry):
    config = resolve_layers([parse_assignments(["constraint.name=clip", "run.betas=[0.1, 0.2]"])],
                            registry)
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    assert tomllib.loads(path.read_text())["constraint"] == {"name": "wgan-kit:clip", "c": 0.01}
    again = resolve_layers([load_toml(path)], registry)
    assert again.to_dict() == config.to_dict()


def test_image_data_gets_convolutional_nets_unless_nets_are_named(registry):
    """The nets a data source suggests are defaults: a named net (any layer) wins, and the
    options given for the suggested net stay with it when a later layer names it again."""
    mnist = resolve_layers([{"data": {"name": "mnist"}}], registry)
    assert (mnist.name_of("gen"), mnist.name_of("critic")) == ("dcgan", "dcgan")
    assert mnist.run.betas == (0.5, 0.9)  # gan_mnist.py's
    assert (mnist.run.batch_size, mnist.run.lr) == (32, 6e-4)  # wgan-kit's, by time to quality
    assert (mnist.parts["gen"].options.filters, mnist.parts["critic"].options.filters) == (64, 32)
    named = resolve_layers([{"data": {"name": "digits"}, "gen": {"name": "mlp"}}], registry)
    assert (named.name_of("gen"), named.name_of("critic")) == ("mlp", "dcgan")
    kept = resolve_layers([{"data": {"name": "digits"}, "gen": {"filters": 8}},
                           {"gen": {"name": "dcgan"}}], registry)
    assert kept.parts["gen"].options.filters == 8
    points = resolve_layers([{"data": {"name": "25gaussians"}}], registry)
    assert (points.name_of("gen"), points.name_of("critic")) == ("mlp", "mlp")


def test_an_option_of_the_default_mlp_on_image_data_names_the_net_it_went_to(registry):
    with pytest.raises(WganKitError, match=r"gen.hidden: dcgan \(the net data digits suggests; "
                                           r"name another with --gen\) has no such option"):
        resolve_layers([{"data": {"name": "digits"}, "gen": {"hidden": 16}}], registry)
