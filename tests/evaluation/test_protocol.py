"""What travels with every score (the protocol), and FID against saved real statistics in the
format pytorch-fid and clean-fid write (.npz with `mu` and `sigma`)."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import wgan_kit
from wgan_kit.cli import app
from wgan_kit.evaluation.scores import (as_channels_first, evaluate, feature_statistics,
                                        fid_against_stats, frechet_distance, load_real_stats,
                                        save_real_stats)
from tiny_sources import LabelledStripes

SMALL_CLASSIFIER = {"steps": 10, "batch_size": 16, "width": 4, "features": 8}
MANIFOLD = ("precision", "recall", "density", "coverage")


@pytest.fixture
def stripes_run(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    trainer = wgan_kit.compose(data=LabelledStripes(), registry=registry, steps=2, batch_size=16,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    trainer.train()
    return trainer


def test_frechet_distance_is_torchmetrics_fid_and_zero_for_equal_statistics():
    from torchmetrics.image.fid import FrechetInceptionDistance

    from wgan_kit.evaluation.scores import PrecomputedFeatures

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(300, 6)) * 1.5 + 0.3
    fid = FrechetInceptionDistance(feature=PrecomputedFeatures(6))
    fid.update(torch.from_numpy(a), real=True)
    fid.update(torch.from_numpy(b), real=False)
    ours = frechet_distance(*feature_statistics(b), *feature_statistics(a))
    assert ours == pytest.approx(float(fid.compute()), rel=1e-6)
    assert frechet_distance(*feature_statistics(a), *feature_statistics(a)) == \
        pytest.approx(0.0, abs=1e-9)


def test_saved_statistics_round_trip_the_real_set_scores_zero_against_its_own(
        stripes_run, registry, tmp_path):
    data = stripes_run.parts.data
    path = save_real_stats(data, tmp_path / "stripes.npz", 200, feature_options=SMALL_CLASSIFIER,
                           registry=registry)
    with np.load(path) as stats:  # what pytorch-fid reads, and what it ignores
        assert stats["mu"].shape == (8,) and stats["sigma"].shape == (8, 8)
        assert stats["features"].item() == "classifier" and stats["samples"].item() == 200
    extractor = wgan_kit.evaluation.feature_extractor(None, data, registry, SMALL_CLASSIFIER)
    real = as_channels_first(data.decode(data.held_out(200, device=torch.device("cpu"))))
    score, record = fid_against_stats(real, extractor, path)
    assert score.key == "classifier_fid_stats" and abs(score.value) < 1e-6
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["samples"] == 200 and record["real_split"] == "held-out"
    result = evaluate(stripes_run, 40, feature_options=SMALL_CLASSIFIER, registry=registry,
                      real_stats=path)
    assert result.scores[-1].key == "classifier_fid_stats" and result.scores[-1].value > 0
    assert result.protocol.real_stats["path"] == str(path)


def test_statistics_files_that_do_not_fit_are_refused_in_one_line(stripes_run, registry,
                                                                   tmp_path):
    np.savez(tmp_path / "keys.npz", mean=np.zeros(8), cov=np.eye(8))
    np.savez(tmp_path / "dim.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    (tmp_path / "text.npz").write_text("not numpy")
    refusals = {"keys.npz": "no mu or sigma in the file (it has mean, cov)",
                "dim.npz": "do not fit the 8-d features",
                "text.npz": "not an .npz file of arrays", "missing.npz": "no such file"}
    for name, message in refusals.items():
        with pytest.raises(wgan_kit.WganKitError, match=re.escape(message)) as caught:
            load_real_stats(tmp_path / name, 8)
        assert len(caught.value.problems) == 1
    with pytest.raises(wgan_kit.WganKitError, match="name the file"):
        save_real_stats(stripes_run.parts.data, tmp_path / "s.txt", registry=registry)


def test_points_have_no_statistics_files(registry, tmp_path):
    trainer = wgan_kit.compose(data="8gaussians", registry=registry, steps=1, batch_size=16,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    with pytest.raises(wgan_kit.WganKitError, match="--real-stats: .* generates points"):
        evaluate(trainer, 40, registry=registry, real_stats=tmp_path / "s.npz")
    with pytest.raises(wgan_kit.WganKitError, match="--save-stats: .* gives points"):
        save_real_stats(trainer.parts.data, tmp_path / "s.npz", registry=registry)


def test_the_protocol_names_features_hash_resize_counts_split_libraries_and_seed(
        stripes_run, registry, tmp_path):
    result = evaluate(stripes_run, 40, seed=7, feature_options=SMALL_CLASSIFIER,
                      registry=registry)
    protocol = result.to_json()["protocol"]
    [weights] = (tmp_path / "cache" / "classifiers").glob("*.safetensors")
    assert protocol["features"] == "classifier"
    assert protocol["features_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert weights.name in protocol["features_sha256_of"]  # the cache key names the file
    assert protocol["resize"].startswith("none")
    assert (protocol["generated"], protocol["real"], protocol["real_split"], protocol["seed"]) \
        == (40, 40, "held-out", 7)
    assert protocol["real_stats"] is None
    libraries = protocol["libraries"]
    assert libraries["classifier_fid"].startswith("torchmetrics ")
    assert libraries["classifier_kid"] == libraries["classifier_fid"]
    assert all(libraries[f"classifier_{m}"].startswith("wgan-kit ") for m in MANIFOLD)
    lines = result.protocol_lines()
    assert lines[0] == "samples: 40 generated (latent seed 7) vs 40 real from the held-out split"
    assert any(line.startswith("computed by torchmetrics") for line in lines)


def test_points_protocol_says_scipy_computed_w1(registry):
    trainer = wgan_kit.compose(data="8gaussians", registry=registry, steps=1, batch_size=16,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    protocol = evaluate(trainer, 40, registry=registry).to_json()["protocol"]
    assert protocol["features"] is None and protocol["real_split"] == "held-out"
    assert protocol["libraries"]["w1"].startswith("scipy ")
    assert protocol["libraries"]["precision"].startswith("wgan-kit ")


def test_eval_of_a_tiny_image_run_prints_the_four_and_the_protocol_and_round_trips_stats(
        tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    run = ["run", "--data", "digits", "--gen", "dcgan", "--critic", "dcgan", "--steps", "2",
           "--batch-size", "16", "--out", str(tmp_path / "run"), "--quiet", "--threads", "1"]
    assert runner.invoke(app, run).exit_code == 0
    small = [arg for key, value in SMALL_CLASSIFIER.items()
             for arg in ("--set", f"features.{key}={value}")]
    evaluation = ["eval", str(tmp_path / "run"), "--n", "100", *small]
    table = runner.invoke(app, evaluation)
    assert table.exit_code == 0, table.output
    for name in MANIFOLD:
        assert f"classifier {name}" in table.output
    assert "protocol\n  samples: 100 generated (latent seed 0) vs 100 real from the held-out " \
           "split\n  features: classifier, sha256 " in table.output
    stats = tmp_path / "digits.npz"
    saved = runner.invoke(app, [*evaluation, "--save-stats", str(stats)])
    assert saved.exit_code == 0 and stats.is_file(), saved.output
    scored = runner.invoke(app, [*evaluation, "--real-stats", str(stats), "--json"])
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.output)
    # The same 100 held-out digits made the file and eval's real set: one FID, two libraries.
    assert report["metrics"]["classifier_fid_stats"] == \
        pytest.approx(report["metrics"]["classifier_fid"], rel=1e-6, abs=1e-9)
    assert report["protocol"]["real_stats"]["samples"] == 100
    assert set(MANIFOLD) <= {key.removeprefix("classifier_") for key in report["metrics"]}
    np.savez(tmp_path / "bad.npz", mu=np.zeros(3))
    refused = runner.invoke(app, [*evaluation, "--real-stats", str(tmp_path / "bad.npz")])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert "no sigma in the file" in refused.output
