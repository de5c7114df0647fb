"""A refused run leaves nothing behind: every problem that can be known before training (settings,
parts that cannot be built together, data smaller than a batch, shapes) is reported, all at once,
before the run folder exists; a resumed run refused, or with nothing left to train, leaves its
folder as it was."""

from __future__ import annotations

import hashlib

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from wgan_kit.cli import app

runner = CliRunner()
TINY = ["--batch-size", "8", "--set", "gen.hidden=8", "--set", "critic.hidden=8", "--quiet"]


@pytest.fixture
def twelve_points(tmp_path):
    path = tmp_path / "twelve.safetensors"
    save_file({"x": torch.randn(12, 2)}, str(path))
    return str(path)


BAD = {
    "unknown name and bad settings": (["--gen", "nope", "--set", "run.lr=0"],
                                      ["gen.name: unknown generator 'nope'", "run.lr:"]),
    "nets for images on points": (["--gen", "resnet", "--critic", "resnet"],
                                  ["gen: resnet handles images", "critic: resnet handles images"]),
    "batch-norm critic under a penalty": (["--set", "critic.norm=batch"],
                                          ["critic: batch normalization"]),
    "a batch larger than the data": (["--data", "tensors", "--set", "data.path={points}",
                                      "--batch-size", "64"], ["larger than the 11 training"]),
    "the same without the preflight": (["--data", "tensors", "--set", "data.path={points}",
                                        "--batch-size", "64", "--no-preflight"],
                                       ["larger than the 11 training"]),
}


@pytest.mark.parametrize("case", BAD)
def test_no_refused_run_leaves_a_folder(tmp_path, twelve_points, case):
    flags, messages = BAD[case]
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--steps", "2", "--quiet",
                                 *(f.format(points=twelve_points) for f in flags),
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    for message in messages:
        assert message in result.output
    assert not out.exists()


def _contents(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resuming_to_fewer_steps_than_done_is_refused_and_a_done_run_left_alone(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--steps", "3", *TINY, "--out", str(out)]).exit_code == 0
    before = _contents(out)
    fewer = runner.invoke(app, ["run", "--resume", str(out), "--steps", "2"])
    assert fewer.exit_code == 2
    assert "--steps 2: " in fewer.output and "is already at step 3" in fewer.output
    done = runner.invoke(app, ["run", "--resume", str(out)])
    assert done.exit_code == 0
    assert "nothing to train: the run is already at step 3 of 3" in done.output
    assert _contents(out) == before


def test_a_batch_norm_refusal_for_your_own_critic_gives_advice_that_fits_it(registry):
    """`critic.norm=layer` is an option of the built-in nets only: your own module is told to
    change itself."""
    import wgan_kit
    from torch import nn

    from wgan_kit import WganKitError

    class BatchNormCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))

        def forward(self, x):
            return self.net(x)

    with pytest.raises(WganKitError) as caught:
        wgan_kit.compose(critic=BatchNormCritic(), registry=registry, steps=1)
    (problem,) = caught.value.problems
    assert "critic.norm" not in problem
    assert "take batch normalization out of your critic (python:" in problem
    assert "nn.LayerNorm" in problem and "a constraint such as clip" in problem
    with pytest.raises(WganKitError, match="use critic.norm=layer"):  # a built-in net: its option
        wgan_kit.compose(registry=registry, steps=1, options={"critic.norm": "batch"})


def test_fp16_off_cuda_is_refused_in_one_line_and_writes_nothing(tmp_path, registry):
    """It trained anyway at 16 s/it, warning twice; now it is refused as --device cuda without a
    GPU is, from the command line and from Python alike."""
    import wgan_kit
    from wgan_kit import WganKitError

    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--steps", "2", *TINY, "--device", "cpu",
                                 "--precision", "fp16", "--out", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("error: run.precision: 'fp16' is for CUDA")
    assert "use --precision bf16 or fp32" in line
    assert not out.exists()
    with pytest.raises(WganKitError, match="'fp16' is for CUDA"):
        wgan_kit.compose(registry=registry, precision="fp16", device="cpu", steps=1)
