"""What `spectral` guarantees: every linear and conv layer of any critic is divided by its largest
singular value, so a ReLU critic is at most 1-Lipschitz; it trains with the `wgan` objective and
resumes exactly; it is found through its entry point, as users install it."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import wgan_kit
from wgan_kit.cli import app
from wgan_kit_spectral.normalization import SpectralNormalization

TINY = ["--steps", "3", "--batch-size", "16", "--set", "gen.hidden=16", "--set",
        "critic.hidden=16", "--quiet"]


def settle(critic: nn.Module, x: torch.Tensor, passes: int = 50) -> None:
    """Forward passes in training mode: each runs one power-iteration step."""
    critic.train()
    with torch.no_grad():
        for _ in range(passes):
            critic(x)
    critic.eval()


def test_found_through_its_entry_point_with_its_package():
    component = wgan_kit.load_registry(strict=True).get("constraint", "spectral")
    assert component.package == "wgan-kit-spectral"
    assert component.options().n_power_iterations == 1  # the paper's choice


def test_every_linear_and_conv_weight_ends_with_largest_singular_value_one():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(8, 4, 3, stride=2),
                           nn.Flatten(), nn.Linear(4 * 9 * 9, 16), nn.Linear(16, 1))
    SpectralNormalization().prepare(critic)
    settle(critic, torch.randn(4, 3, 6, 6))
    for layer in critic:
        if isinstance(layer, nn.Flatten):
            continue
        # Miyato et al. normalize the weight reshaped to (outputs, everything else).
        outputs = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
        matrix = layer.weight.transpose(0, outputs).flatten(1)
        # Power iteration estimates σ(W): within 1%.
        assert torch.linalg.matrix_norm(matrix, ord=2).item() == pytest.approx(1.0, abs=0.01)


def test_a_relu_critic_becomes_at_most_one_lipschitz():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                           nn.Linear(64, 1))
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.mul_(5)  # make the raw critic far from 1-Lipschitz
    SpectralNormalization().prepare(critic)
    x = (4 * torch.randn(512, 2)).requires_grad_(True)
    settle(critic, x.detach())
    (gradient,) = torch.autograd.grad(critic(x).sum(), x)
    assert gradient.norm(dim=1).max().item() <= 1.01  # up to the power iteration's 1%


def test_the_critic_of_a_run_is_normalized_layer_by_layer(tiny_run):
    trainer = tiny_run(constraint="spectral", objective="wgan")
    layers = [m for m in trainer.critic.modules() if isinstance(m, nn.Linear)]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert trainer.train()["step"] == 2


def test_plugins_list_shows_it_with_its_package():
    listed = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).output)
    row = next(r for r in listed if r["name"] == "spectral")
    assert (row["kind"], row["package"], row["status"]) == ("constraint", "wgan-kit-spectral", "ok")


def test_trains_from_the_command_line_and_resumes(tmp_path):
    runner, out = CliRunner(), tmp_path / "run"
    result = runner.invoke(app, ["run", "--constraint", "spectral", "--objective", "wgan", *TINY,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == 3 and "penalty" not in metrics[-1]
    assert 'name = "wgan-kit-spectral:spectral"' in (out / "config.toml").read_text()
    resumed = runner.invoke(app, ["run", "--resume", str(out), "--steps", "4", "--quiet"])
    assert resumed.exit_code == 0, resumed.output


def test_bad_options_are_refused_naming_field_and_value():
    result = CliRunner().invoke(app, ["run", "--constraint", "spectral",
                                      "--set", "constraint.n_power_iterations=0"])
    assert result.exit_code == 2
    assert "error: constraint.n_power_iterations: input should be greater than or equal to 1, " \
           "got 0" in result.output
