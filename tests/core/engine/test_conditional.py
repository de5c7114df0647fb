"""Conditional generation (AC-GAN, the form of WGAN-GP's conditional CIFAR-10 model): class-
conditional batch norm in the generator, a class head on the critic, and the two cross-entropies."""

from __future__ import annotations

import dataclasses

import pytest
import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

import wgan_kit
from wgan_kit import ClassifyingCritic, LabelledSource, WganKitError
from wgan_kit.builtins.toy.sources import EightGaussians
from wgan_kit.cli import app

SMALL = {"gen.filters": 16, "critic.filters": 16, "gen.latent_dim": 16}
STEPS = 120  # of the learning test: agreement 0.67 measured at seed 0


def conditional(registry, **run):
    run = {"steps": 2, "batch_size": 16, "heldout_every": 0, "conditional": True, **run}
    return wgan_kit.compose(registry=registry, data="digits", gen="dcgan", critic="dcgan",
                            options={**SMALL, **run.pop("options", {})}, **run)


def test_conditional_batch_norm_gives_each_class_its_scale_and_offset():
    from wgan_kit.builtins.conditioning import ClassConditionalBatchNorm2d

    norm = ClassConditionalBatchNorm2d(3, num_classes=4)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.arange(12.0).view(4, 3))
        norm.offset.weight.copy_(-torch.arange(12.0).view(4, 3))
    x, labels = torch.randn(8, 3, 2, 2), torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    normalized = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    scale = norm.scale.weight[labels][:, :, None, None]
    offset = norm.offset.weight[labels][:, :, None, None]
    torch.testing.assert_close(norm(x, labels), normalized * scale + offset)


@pytest.mark.parametrize("net", ["dcgan", "resnet"])
def test_nets_built_for_classes_take_them_and_name_them(registry, net):
    options = {"dcgan": SMALL, "resnet": {"gen.filters": 8, "critic.filters": 8}}[net]
    trainer = wgan_kit.compose(registry=registry, data="digits", gen=net, critic=net,
                               conditional=True, options=options)
    generator, critic = trainer.generator, trainer.critic
    z = torch.randn(10, generator.latent_dim)
    cycled = torch.arange(10) % 10
    assert generator.num_classes == 10
    with torch.no_grad():
        for _ in range(3):  # move the class embeddings away from their identical start
            for p in generator.parameters():
                p.add_(0.1 * torch.randn_like(p))
        generator.eval()
        # Without labels the generator cycles through the classes.
        torch.testing.assert_close(generator(z), generator(z, cycled))
        assert not generator(z, torch.zeros(10, dtype=torch.long)).equal(generator(z, cycled))
        x = generator(z)
        scores, logits = critic.classify(x)
    assert logits.shape == (10, 10)
    torch.testing.assert_close(scores, critic(x))  # one score, whether or not it also classifies


def test_a_conditional_run_trains_both_cross_entropies_and_logs_them(registry):
    metrics = conditional(registry, steps=3, log_every=3).train()
    for name in ("class_loss_real", "class_accuracy_real", "class_loss_fake",
                 "class_accuracy_fake"):
        assert name in metrics and 0 <= metrics[name] < 10
    plain = wgan_kit.compose(registry=registry, data="digits", gen="dcgan", critic="dcgan",
                             steps=1, heldout_every=0, options=SMALL)
    assert "class_loss_real" not in plain.train()
    assert not hasattr(plain.generator, "num_classes")  # unconditional nets ignore the labels


@pytest.mark.parametrize("weights, head_learns", [((1.0, 0.1), True), ((0.0, 0.0), False)])
def test_the_class_losses_weigh_as_the_run_says(registry, weights, head_learns):
    trainer = conditional(registry, class_loss_weights=weights)
    head = trainer.critic.classes.weight.detach().clone()
    trainer.train()
    assert (not torch.equal(trainer.critic.classes.weight, head)) == head_learns


@pytest.mark.parametrize("setup, message", [
    ({"data": "8gaussians", "gen": "mlp", "critic": "mlp"}, "data '8gaussians' has no class labels"),
    ({"data": "digits", "gen": "mlp", "critic": "mlp"}, "gen: 'mlp' takes no class"),
    ({"data": "digits", "gen": "dcgan", "critic": "mlp", "options": {"gen.filters": 16}},
     "critic: 'mlp' names no classes"),
    ({"data": "digits", "gen": "dcgan", "critic": "dcgan", "options": {"gen.norm": "none"}},
     "gen.norm: 'dcgan' with norm 'none' has no batch norm"),
    ({"data": "digits", "gen": "resnet", "critic": "resnet",
      "options": {"gen.layout": "deep", "critic.layout": "deep"}}, "'deep' has no class-conditional"),
])
def test_conditional_runs_refuse_what_cannot_condition(registry, setup, message):
    with pytest.raises(WganKitError, match=message):
        wgan_kit.compose(registry=registry, conditional=True, **setup)


def test_a_labelled_source_and_a_classifying_critic_meet_their_protocols(registry):
    trainer = conditional(registry)
    assert isinstance(trainer.parts.data, LabelledSource)
    assert isinstance(trainer.critic, ClassifyingCritic)
    assert not isinstance(EightGaussians(), LabelledSource)
    plain = wgan_kit.compose(registry=registry, data="digits", gen="mlp", critic="mlp")
    assert not isinstance(plain.critic, ClassifyingCritic)


class NamesClassesButGivesNoLabels(EightGaussians):
    """Its spec counts classes, but it has no `labelled_batches`: not a labelled source."""

    spec = dataclasses.replace(EightGaussians.spec, num_classes=8)


def test_a_source_without_labelled_batches_is_refused_in_one_line(registry):
    with pytest.raises(WganKitError, match="has no class labels") as caught:
        wgan_kit.compose(registry=registry, data=NamesClassesButGivesNoLabels(), gen="mlp",
                         critic="mlp", conditional=True)
    assert "\n" not in str(caught.value)


def test_the_cifar_acgan_recipe_builds_a_conditional_resnet(registry):
    trainer = wgan_kit.compose(registry=registry, recipe="wgan-gp-cifar-resnet-acgan",
                               data="digits", options={"gen.filters": 8, "critic.filters": 8})
    assert trainer.num_classes == 10 and trainer.run.class_loss_weights == (1.0, 0.1)
    assert callable(trainer.critic.classify)


def test_sample_draws_the_class_asked_for(tmp_path, registry):
    run = tmp_path / "run"
    conditional(registry).train(out=run)
    runner = CliRunner()
    drawn = tmp_path / "three.safetensors"
    done = runner.invoke(app, ["sample", str(run), "--class", "3", "--n", "6", "--out", str(drawn)])
    assert done.exit_code == 0, done.output
    trainer = wgan_kit.resume(run, registry=registry)
    latent = torch.randn(6, trainer.generator.latent_dim, generator=torch.Generator().manual_seed(0))
    expected = trainer.sample(6, latent=latent, labels=torch.full((6,), 3))
    torch.testing.assert_close(safetensors.torch.load_file(drawn)["samples"], expected)
    wrong = runner.invoke(app, ["sample", str(run), "--class", "10", "--out",
                                str(tmp_path / "x.png")])
    assert wrong.exit_code == 2 and "--class 10: this run has 10 classes; use 0 to 9" in wrong.output


def test_an_unconditional_run_refuses_a_class(tmp_path, registry):
    trainer = wgan_kit.compose(registry=registry, data="digits", gen="dcgan", critic="dcgan",
                               steps=1, heldout_every=0, options=SMALL)
    with pytest.raises(WganKitError, match="this run is not conditional"):
        trainer.sample(2, labels=torch.tensor([1, 2]))


def test_samples_of_a_class_look_like_that_class(registry):
    """Learning test (seed 0): after a short conditional run on the 8×8 digits, a classifier trained
    here on real digits names the requested class of generated samples far more often than chance
    (1 in 10). The generator's class weight is 1 instead of the published 0.1, so that the class
    signal shows within a test's budget of steps."""
    trainer = conditional(registry, steps=STEPS, batch_size=64, lr=1e-3, n_critic=2,
                          class_loss_weights=(1.0, 1.0),
                          options={"gen.filters": 32, "gen.extra_layers": 2})
    trainer.train()
    torch.manual_seed(0)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(classifier.parameters(), 1e-2)
    batches = trainer.parts.data.labelled_batches(128, seed=1, device=torch.device("cpu"))
    for _, (digits, labels) in zip(range(300), batches):
        loss = F.cross_entropy(classifier(digits), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    requested = torch.arange(500) % 10
    with torch.no_grad():
        named = classifier(trainer.sample(500, labels=requested)).argmax(1)
    assert (named == requested).float().mean() > 0.3  # chance: 0.1


def test_a_critic_built_without_classes_says_so_when_asked_to_name_them(registry):
    critic = wgan_kit.compose(registry=registry, data="digits", gen="dcgan", critic="dcgan",
                              options=SMALL).critic
    with pytest.raises(WganKitError, match="built without classes"):
        critic.classify(torch.zeros(2, 1, 8, 8))
