"""`wgan-kit bench` and the synthetic data it measures on."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import wgan_kit
from wgan_kit.core.layers import resolve_config
from wgan_kit.evaluation.benchmark import SyntheticData, bench_composition
from wgan_kit.cli import app

TINY = ["--set", "gen.hidden=16", "--set", "critic.hidden=16", "--batch-size", "16"]


def test_bench_json_reports_speed_memory_sizes_and_setup():
    result = CliRunner().invoke(app, ["bench", *TINY, "--gen-steps", "2", "--warmup", "1",
                                      "--json", "--precision", "bf16", "--threads", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["gen_steps_per_s"] > 0
    assert report["critic_steps_per_s"] == pytest.approx(report["gen_steps_per_s"] * 5, rel=1e-3)
    assert report["peak_mem_mb"] > 0
    # mlp, 3 hidden layers of 16, on 2-D points: 2→16 (48), 16→16 twice (544), 16→2 or 16→1
    assert (report["params_gen"], report["params_critic"]) == (48 + 544 + 34, 48 + 544 + 17)
    assert (report["device"], report["precision"], report["threads"]) == ("cpu", "bf16", 1)
    assert report["data"] == "synthetic, shaped as 8gaussians"


def test_bench_reports_bad_settings_like_run():
    result = CliRunner().invoke(app, ["bench", "--precision", "fp8"])
    assert result.exit_code == 2
    assert ("error: run.precision: input should be 'auto', 'fp32', 'bf16' or 'fp16', got "
            "'fp8'") in result.output


def test_bench_composition_times_the_chosen_run_on_synthetic_data(registry):
    settings = resolve_config(registry, names={"constraint": "clip"},
                                run={"batch_size": 16, "n_critic": 2},
                                overrides={"gen": {"hidden": 16}, "critic": {"hidden": 16}})
    row = bench_composition(settings, gen_steps=2, warmup=1)
    assert list(row)[:4] == ["gen", "critic", "constraint", "data"]
    assert (row["gen"], row["constraint"], row["data"]) == ("mlp", "clip",
                                                            "synthetic, shaped as 8gaussians")
    assert (row["gen_steps"], row["warmup"], row["batch_size"], row["n_critic"]) == (2, 1, 16, 2)
    assert row["critic_steps_per_s"] == pytest.approx(row["gen_steps_per_s"] * 2, rel=1e-3)


def test_synthetic_data_takes_the_shape_kind_and_range_of_the_spec():
    spec = wgan_kit.SampleSpec(shape=(3, 4, 4), kind="image", value_range=(-1.0, 1.0))
    batch = next(SyntheticData(spec).batches(5, seed=0, device=torch.device("cpu")))
    assert batch.shape == (5, 3, 4, 4) and batch.min() >= -1 and batch.max() <= 1
    sequences = SyntheticData(wgan_kit.SampleSpec(shape=(7, 4), kind="sequence"))
    rows = next(sequences.batches(2, seed=0, device=torch.device("cpu")))
    assert torch.equal(rows.sum(-1), torch.ones(2, 7))
