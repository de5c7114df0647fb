"""Run folders, safetensors checkpoints and exact resume."""

from __future__ import annotations

import json
import re

import pytest
import safetensors.torch
import torch

import wgan_kit
from wgan_kit import WganKitError
from wgan_kit.core.checkpoint import load
from wgan_kit.core.layers import parts_named_as_recorded


def weights(trainer) -> dict[str, torch.Tensor]:
    return {**{f"g.{k}": v for k, v in trainer.generator.state_dict().items()},
            **{f"c.{k}": v for k, v in trainer.critic.state_dict().items()}}


def test_run_folder_holds_config_metrics_checkpoints_and_pictures(tmp_path, tiny_trainer):
    trainer = tiny_trainer(steps=4, log_every=2, checkpoint_every=2, sample_every=4)
    trainer.train(tmp_path / "run")
    run = tmp_path / "run"
    assert 'name = "wgan-kit:gp"' in (run / "config.toml").read_text()
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]
    assert {"critic_loss", "wasserstein", "penalty", "grad_norm", "generator_loss",
            "gen_steps_per_s"} <= set(lines[0])
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-00000002.safetensors", "step-00000004.safetensors"]
    picture = (run / "samples" / "step-00000004.png").read_bytes()
    assert picture.startswith(b"\x89PNG") and len(picture) > 5000


def test_checkpoint_round_trip(tmp_path, tiny_trainer):
    trainer = tiny_trainer(steps=3)
    trainer.train(tmp_path / "run")
    tensors, metadata = load(tmp_path / "run" / "checkpoints" / "step-00000003.safetensors")
    assert metadata["step"] == 3 and metadata["batches_drawn"] == 15
    restored = tiny_trainer(seed=99)
    restored.load_state(tensors, metadata)
    assert all(torch.equal(a, b) for a, b in zip(weights(trainer).values(),
                                                 weights(restored).values()))
    assert restored.critic_optimizer.state_dict()["state"][0]["exp_avg"].equal(
        trainer.critic_optimizer.state_dict()["state"][0]["exp_avg"])


@pytest.mark.parametrize("constraint", ["gp", "clip"])
def test_a_resumed_run_ends_identical_to_one_that_never_stopped(tmp_path, tiny_trainer,
                                                                constraint):
    settings = dict(constraint=constraint, steps=6, checkpoint_every=3, log_every=3)
    straight = tiny_trainer(**settings)
    straight.train(tmp_path / "straight")
    stopped = tiny_trainer(**{**settings, "steps": 3})
    stopped.train(tmp_path / "stopped")
    resumed = wgan_kit.resume(tmp_path / "stopped", steps=6)
    assert resumed.step == 3
    resumed.train()
    assert resumed.step == 6
    for name, value in weights(straight).items():
        assert torch.equal(value, weights(resumed)[name]), name
    metrics = (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in metrics] == [3, 6]


def test_an_existing_run_is_never_overwritten_by_accident(tmp_path, tiny_trainer):
    tiny_trainer(steps=1).train(tmp_path / "run")
    mine = tmp_path / "run" / "notes.txt"
    mine.write_text("keep me")
    with pytest.raises(WganKitError, match="already holds a run; continue it with --resume"):
        tiny_trainer(steps=1).train(tmp_path / "run")
    tiny_trainer(steps=2).train(tmp_path / "run", overwrite=True)
    assert mine.read_text() == "keep me"  # --overwrite replaces only what a run writes
    assert load(tmp_path / "run" / "checkpoints" / "step-00000002.safetensors")[1]["step"] == 2


def test_a_checkpoint_of_another_architecture_is_one_line_naming_the_settings_that_differ(
        tmp_path, tiny_trainer):
    """Not one line per mismatched tensor (more than 30 for a DCGAN): the settings that make the
    architectures differ, from the config the checkpoint records."""
    tiny_trainer(steps=1).train(tmp_path / "run")
    tensors, metadata = load(tmp_path / "run" / "checkpoints" / "step-00000001.safetensors")
    wider = tiny_trainer(options={"gen.hidden": 48, "critic.hidden": 40})
    with pytest.raises(WganKitError) as caught:
        wider.load_state(tensors, metadata)
    (problem,) = caught.value.problems
    assert problem.startswith("the checkpoint belongs to a different architecture: ")
    assert "gen.hidden = 32 in the checkpoint, 48 in this run" in problem
    assert "critic.hidden = 32 in the checkpoint, 40 in this run" in problem
    # Recording no settings that differ (the nets' code changed): the first tensor, and a count.
    with pytest.raises(WganKitError) as caught:
        wider.load_state(tensors, {**metadata, "config": ""})
    (problem,) = caught.value.problems
    assert problem.startswith("the checkpoint's generator does not fit this run's: "
                              "generator.net.0.weight: shape (32, 2) in the checkpoint, (48, 2) "
                              "in the model (and ")


def test_a_truncated_newest_checkpoint_names_the_step_to_resume_from_and_from_step_does(
        tmp_path, tiny_trainer):
    settings = dict(steps=4, checkpoint_every=1, keep_checkpoints=3)
    straight = tiny_trainer(**settings)
    straight.train(tmp_path / "straight")
    tiny_trainer(**settings).train(tmp_path / "run")
    newest = tmp_path / "run" / "checkpoints" / "step-00000004.safetensors"
    newest.write_bytes(newest.read_bytes()[:1000])  # a disk that filled up mid-write
    with pytest.raises(WganKitError) as caught:
        wgan_kit.resume(tmp_path / "run")
    (problem,) = caught.value.problems
    assert "not a readable safetensors file" in problem
    assert "--from-step 3 (Python: from_step=3); earlier ones are at steps 2, 3" in problem
    with pytest.raises(WganKitError) as caught:
        wgan_kit.resume(tmp_path / "run", from_step=7)
    assert caught.value.problems == [f"--from-step 7: {tmp_path / 'run'} has no checkpoint of "
                                     "step 7; its checkpoints are at steps 2, 3, 4"]
    resumed = wgan_kit.resume(tmp_path / "run", from_step=3)
    assert resumed.step == 3
    resumed.train()
    for name, value in weights(straight).items():  # step 4 again, as it was before the damage
        assert torch.equal(value, weights(resumed)[name]), name
    assert wgan_kit.resume(tmp_path / "run").step == 4


def test_training_from_an_earlier_step_replaces_the_later_history(tmp_path, tiny_trainer):
    tiny_trainer(steps=4, checkpoint_every=1, sample_every=1, log_every=1).train(tmp_path / "run")
    resumed = wgan_kit.resume(tmp_path / "run", from_step=2, steps=3)
    assert [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()
            if "00000004" in p.name]  # nothing changes until it trains
    resumed.train()
    run = tmp_path / "run"
    assert max(int(p.name[5:13]) for p in (run / "checkpoints").iterdir()) == 3
    assert max(int(p.name[5:13]) for p in (run / "samples").iterdir()) == 3
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
            ] == [1, 2, 3]
    assert wgan_kit.resume(run).step == 3  # the newest is this history's


def test_damaged_checkpoints_give_a_clear_error(tmp_path, tiny_trainer):
    tiny_trainer(steps=1).train(tmp_path / "run")
    path = tmp_path / "run" / "checkpoints" / "step-00000001.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WganKitError, match="not a readable safetensors file"):
        load(path)
    foreign = tmp_path / "foreign.safetensors"
    safetensors.torch.save_file({"x": torch.zeros(1)}, foreign)
    with pytest.raises(WganKitError, match="format None, expected 'wgan-kit-checkpoint/1'"):
        load(foreign)


def test_resume_refuses_changes_other_than_steps_and_device(tmp_path, tiny_trainer):
    tiny_trainer(steps=1).train(tmp_path / "run")
    with pytest.raises(WganKitError, match="batch_size cannot change when resuming"):
        wgan_kit.resume(tmp_path / "run", batch_size=8)
    with pytest.raises(WganKitError, match="not a run folder"):
        wgan_kit.resume(tmp_path)


def test_resume_may_change_the_precision_and_back(tmp_path, tiny_trainer):
    """Precision changes the arithmetic, not what the run is: fp32 → bf16 → fp32, each recorded
    in config.toml (fp16, with its gradient scalers, is tests/core/engine/test_cuda.py's)."""
    tiny_trainer(steps=1, precision="fp32").train(tmp_path / "run")
    for steps, precision in ((2, "bf16"), (3, "fp32")):
        resumed = wgan_kit.resume(tmp_path / "run", steps=steps, precision=precision)
        assert resumed.acceleration.precision == precision and not resumed.acceleration.scalers
        assert resumed.train().finished and resumed.step == steps
        assert f'precision = "{precision}"' in (tmp_path / "run" / "config.toml").read_text()
    with pytest.raises(WganKitError, match="only steps, device and precision may change"):
        wgan_kit.resume(tmp_path / "run", seed=3)


def test_a_run_resumed_without_fp16_leaves_a_checkpoint_s_gradient_scalers_aside(
        tmp_path, tiny_trainer):
    tiny_trainer(steps=1).train(tmp_path / "run")
    tensors, metadata = load(tmp_path / "run" / "checkpoints" / "step-00000001.safetensors")
    assert "grad_scalers" not in metadata  # an fp32 run has none to save
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0).state_dict()
    resumed = tiny_trainer()
    resumed.load_state(tensors, {**metadata, "grad_scalers": {"generator": scaler,
                                                              "critic": scaler}})
    assert resumed.step == 1 and not resumed.acceleration.scalers


def test_a_part_named_as_the_run_records_it_is_no_change_on_resume(tmp_path, tiny_trainer,
                                                                    registry):
    tiny_trainer(steps=1).train(tmp_path / "run")  # recorded: wgan-kit:mlp, wgan-kit:gp, ...
    names = {"gen": "mlp", "critic": None, "constraint": "wgan-kit:gp", "objective": "hinge",
             "data": "nope"}
    assert parts_named_as_recorded(tmp_path / "run", names, registry) == ("gen", "constraint")
    with pytest.raises(WganKitError, match="not a run folder"):
        parts_named_as_recorded(tmp_path, names, registry)


def test_sample_to_draws_from_the_last_checkpoint_into_a_file(tmp_path, tiny_trainer):
    trainer = tiny_trainer(steps=2)
    trainer.train(tmp_path / "run")
    raw = wgan_kit.sample_to(tmp_path / "run", tmp_path / "s.safetensors", n=10, seed=3)
    latent = torch.randn(10, trainer.generator.latent_dim,
                         generator=torch.Generator().manual_seed(3))
    assert torch.equal(safetensors.torch.load_file(raw)["samples"],
                       trainer.sample(10, latent=latent).cpu())  # the trained weights, seeded z
    picture = wgan_kit.sample_to(str(tmp_path / "run"), str(tmp_path / "s.png"), n=10)
    assert picture == tmp_path / "s.png" and picture.read_bytes().startswith(b"\x89PNG")
    for out, message in [("s.png", "already exists"), ("s.jpg", "use .png, .txt or .safetensors"),
                         ("s.txt", ".txt is for text")]:
        with pytest.raises(WganKitError, match=re.escape(message)):
            wgan_kit.sample_to(tmp_path / "run", tmp_path / out)
    assert not (tmp_path / "s.txt").exists()


def test_only_the_last_checkpoints_and_the_archive_are_kept(tmp_path, tiny_trainer):
    trainer = tiny_trainer(steps=8, checkpoint_every=1, keep_checkpoints=2, archive_every=3)
    trainer.train(tmp_path / "run")
    assert [p.name[5:13] for p in sorted((tmp_path / "run" / "checkpoints").iterdir())] == [
        "00000003", "00000006", "00000007", "00000008"]
