"""Bad input of any shape gives a valid config or a WganKitError (exit 2), never a traceback."""

from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wgan_kit import WganKitError
from wgan_kit.cli import app
from wgan_kit.core.layers import resolve_layers
from wgan_kit.core.layers import load_toml, parse_assignments
from wgan_kit.core.config import RunConfig

SECTIONS = ["run", "gen", "critic", "constraint", "objective", "data", "model", ""]
KEYS = ["name", "steps", "batch_size", "lr", "betas", "seed", "device", "hidden", "depth", "norm",
        "weight", "c", "radius", "std", "noise", "nonlinearity", "latent_dim", "", "x.y"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=12))
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=4), SCALARS,
                                                                   max_size=2)
LAYERS = st.lists(st.dictionaries(st.sampled_from(SECTIONS),
                                  st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
                                  max_size=4), max_size=3)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(LAYERS)
def test_any_layers_resolve_or_fail_with_one_line_problems(registry, layers):
    try:
        config = resolve_layers(layers, registry)
    except WganKitError as exc:
        assert exc.problems and all(p and "\n" not in p for p in exc.problems)
    else:
        assert isinstance(config, RunConfig)
        assert tomllib.loads(config.to_toml())  # what it writes is valid TOML


@FUZZ
@given(st.lists(st.text(max_size=30), max_size=5))
def test_any_set_assignments_parse_or_fail_cleanly(items):
    try:
        parse_assignments(items)
    except WganKitError as exc:
        assert len(exc.problems) >= 1


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_config_file_loads_or_fails_cleanly(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "config.toml"
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str)
                     else content)
    try:
        load_toml(path)
    except WganKitError as exc:
        assert all("\n" not in p for p in exc.problems)


FLAG_VALUES = st.text(max_size=8) | st.integers(-10, 10).map(str) | st.sampled_from(
    ["1e99", "-0", "nan", "inf", "", " ", "cuda:99", "[1,2]", '"x"'])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["--steps", "--batch-size", "--n-critic", "--seed",
                                           "--device", "--gen", "--data", "--constraint",
                                           "--set"]), FLAG_VALUES), min_size=1, max_size=3))
def test_the_cli_never_shows_a_traceback(tmp_path_factory, flags):
    """Every fuzzed command fails with exit 2 and a message: `--set run.steps=0` comes last, so
    even a command that would be valid is refused (for steps=0) instead of training."""
    out = tmp_path_factory.mktemp("cli") / "run"
    args = ["run", "--out", str(out), "--quiet"]
    for flag, value in flags:
        args += [flag, value]
    result = CliRunner().invoke(app, [*args, "--set", "run.steps=0"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
