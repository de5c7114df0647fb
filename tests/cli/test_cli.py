"""The command line, through Typer's runner and through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import safetensors.torch
from typer.testing import CliRunner

from wgan_kit.cli import app

TINY = ["--steps", "2", "--batch-size", "16", "--set", "gen.hidden=16", "--set",
        "critic.hidden=16"]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_run_writes_a_run_folder_and_resume_continues_it(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", *TINY, "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert "step 2/2" in result.output
    assert (out / "checkpoints" / "step-00000002.safetensors").exists()
    result = invoke("run", "--resume", str(out), "--steps", "3", "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "checkpoints" / "step-00000003.safetensors").exists()


def test_run_repeats_from_a_saved_config(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "a"), "--quiet", "--seed", "5")
    result = invoke("run", "--config", str(tmp_path / "a" / "config.toml"), "--out",
                    str(tmp_path / "b"), "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "config.toml").read_text() == (tmp_path / "b" / "config.toml").read_text()
    first = safetensors.torch.load_file(tmp_path / "a" / "checkpoints" / "step-00000002.safetensors")
    second = safetensors.torch.load_file(tmp_path / "b" / "checkpoints" / "step-00000002.safetensors")
    assert all(first[k].equal(second[k]) for k in first if k.startswith("generator."))


@pytest.mark.parametrize("args, message", [
    (["--gen", "nope"], "error: gen.name: unknown generator 'nope'"),
    (["--set", "gen.widht=3"], "error: gen.widht: mlp has no such option"),
    (["--set", "run.steps=-1"], "error: run.steps: input should be greater than or equal to 1"),
    (["--set", "oops"], "error: --set 'oops': expected section.key=value"),
    (["--device", "cuda:7"], "error: run.device: 'cuda:7', but torch sees"),
    (["--device", "tpu"], "error: run.device: string should match pattern"),
    (["--config", "/nonexistent.toml"], "error: --config /nonexistent.toml: no such file"),
    (["--set", "critic.norm=batch"], "batch normalization"),
])
def test_bad_input_is_one_line_per_problem_and_exit_2(tmp_path, args, message):
    result = invoke("run", *args, "--out", str(tmp_path / "never"))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "never").exists()  # nothing written


def test_several_problems_are_reported_together(tmp_path):
    result = invoke("run", "--gen", "nope", "--set", "run.lr=0", "--set", "data.radius=-2")
    assert result.exit_code == 2
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 3


def test_an_existing_run_folder_is_refused(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet")
    result = invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet")
    assert result.exit_code == 2
    assert "already holds a run" in result.output
    assert invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet",
                  "--overwrite").exit_code == 0


def test_resume_refuses_other_flags(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet")
    result = invoke("run", "--resume", str(tmp_path / "run"), "--batch-size", "8")
    assert result.exit_code == 2 and "drop --batch-size" in result.output


def test_sample_writes_pictures_and_raw_samples(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet")
    result = invoke("sample", str(tmp_path / "run"), "--n", "50", "--out", str(tmp_path / "s.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    raw = tmp_path / "s.safetensors"
    assert invoke("sample", str(tmp_path / "run"), "--n", "50", "--out", str(raw)).exit_code == 0
    assert safetensors.torch.load_file(raw)["samples"].shape == (50, 2)
    again = invoke("sample", str(tmp_path / "run"), "--n", "50", "--out", str(raw))
    assert again.exit_code == 2 and "already exists" in again.output
    wrong = invoke("sample", str(tmp_path / "run"), "--out", str(tmp_path / "s.jpg"))
    assert wrong.exit_code == 2 and "use .png, .txt or .safetensors" in wrong.output


def test_plugins_list_and_show():
    listed = json.loads(invoke("plugins", "list", "--json").output)
    assert {"kind": "constraint", "name": "gp", "package": "wgan-kit", "status": "ok"}.items() <= \
        next(row for row in listed if row["name"] == "gp").items()
    shown = json.loads(invoke("plugins", "show", "gp", "--json").output)
    assert shown[0]["options"] == [{"name": "weight", "type": "float", "default": 10.0,
                                    "description": "λ, the penalty coefficient."}]
    assert {entry["kind"] for entry in json.loads(invoke("plugins", "show", "mlp", "--json").output)
            } == {"generator", "critic"}
    unknown = invoke("plugins", "show", "nope")
    assert unknown.exit_code == 2 and "no component named 'nope'" in unknown.output


def test_help_teaches_with_examples():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    assert "--constraint clip" in result.output and "--set" in result.output


def test_the_console_script_runs(tmp_path):
    script = shutil.which("wgan-kit") or pytest.fail("wgan-kit is not installed on PATH")
    done = subprocess.run([script, "run", *TINY, "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "step 2/2" in done.stderr  # not a terminal: plain lines
    bad = subprocess.run([script, "run", "--steps", "0"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0, bad.stderr


@pytest.mark.parametrize("argv", [[], ["--help"], ["plugins", "list"], ["plugins", "show", "gp"]])
def test_listing_and_help_import_neither_torch_nor_plugin_code(argv):
    """Nor does importing any CLI module: each defers torch to the commands that run it."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import wgan_kit, wgan_kit.cli\n"
        "for module in pkgutil.iter_modules(wgan_kit.cli.__path__):\n"
        "    importlib.import_module(f'wgan_kit.cli.{module.name}')\n"
        f"sys.argv = ['wgan-kit', *{argv!r}]\n"
        "from wgan_kit.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m == 'torch' or m.startswith('torch.') or "
        "m.endswith(('.nets', '.sources'))]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_sample_chooses_the_moving_average_or_the_live_weights(tmp_path):
    plain = tmp_path / "plain"
    invoke("run", *TINY, "--set", "run.ema_decay=0", "--out", str(plain), "--quiet")
    refused = invoke("sample", str(plain), "--ema", "--out", str(tmp_path / "x.safetensors"))
    assert refused.exit_code == 2 and "keeps no moving average" in refused.output
    averaged = tmp_path / "ema"
    invoke("run", *TINY, "--set", "run.ema_decay=0.5", "--out", str(averaged), "--quiet")
    drawn = {}
    for flag in ("--ema", "--no-ema"):
        path = tmp_path / f"{flag}.safetensors"
        assert invoke("sample", str(averaged), flag, "--out", str(path)).exit_code == 0
        drawn[flag] = safetensors.torch.load_file(path)["samples"]
    assert not drawn["--ema"].equal(drawn["--no-ema"])


def test_slow_runs_show_seconds_per_step_not_zero_steps_per_second():
    from wgan_kit.training.progress import speed

    assert (speed(0.04), speed(12.34), speed(None)) == ("25 s/it", "12.3 it/s", "-- it/s")


def test_plugins_show_writes_types_as_a_user_would():
    result = invoke("plugins", "show", "text", "--json")
    types = {o["name"]: o["type"] for o in json.loads(result.output)[0]["options"]}
    assert types["path"] == "str | None" and types["corpus"] == "shakespeare | kjv | None"


def test_each_shared_flag_is_one_field_that_knows_its_spelling_and_its_setting():
    from wgan_kit.cli.flags import PART_FLAGS, RUN_FLAGS, RunFlags

    flags = RunFlags(gen="mlp", batch_size=8, assignments=["gen.hidden=8"], compile=False)
    assert flags.given(besides=("gen",)) == ["--batch-size", "--set", "--compile"]
    assert PART_FLAGS == ("gen", "critic", "constraint", "objective", "data")
    assert RUN_FLAGS == ("steps", "batch_size", "n_critic", "seed", "device", "precision",
                         "compile")


def test_sampled_safetensors_say_they_hold_samples_not_a_checkpoint(tmp_path):
    import safetensors

    from wgan_kit.core import checkpoint
    from wgan_kit.errors import WganKitError

    invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet")
    raw = tmp_path / "s.safetensors"
    assert invoke("sample", str(tmp_path / "run"), "--n", "4", "--out", str(raw)).exit_code == 0
    with safetensors.safe_open(str(raw), framework="pt") as file:
        assert file.metadata() == {"format": "wgan-kit-samples/1", "step": "2"}
    with pytest.raises(WganKitError, match="wgan-kit-samples/1"):
        checkpoint.load(raw)  # nor is it taken for one


def test_run_help_fills_in_the_default_folder_and_points_at_no_flags_above():
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0
    assert "runs/--" not in result.output  # `<date-time>` was read as an HTML tag and dropped
    assert "runs/DATE-TIME-GEN-CONSTRAINT" in result.output
    assert "flags above" not in result.output  # the description is above every flag


@pytest.mark.parametrize("args, message", [
    (["run", "--stepz", "3"], "error: wgan-kit run: no such option: --stepz"),
    (["run", "--steps", "abc"], "error: wgan-kit run: invalid value for '--steps'"),
    (["nope"], "error: wgan-kit: no such command 'nope'"),
    (["sample"], "error: wgan-kit sample: missing argument 'RUN'"),
], ids=["unknown-flag", "not-a-number", "unknown-command", "missing-argument"])
def test_bad_flags_are_one_error_line_and_exit_2_not_a_box(tmp_path, args, message):
    result = runner.invoke(app, args, prog_name="wgan-kit")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [result.output.strip()], result.output  # one line
    assert result.output.startswith(message) and result.output.rstrip().endswith("--help")


def test_the_console_script_prints_a_bad_flag_as_one_line():
    script = shutil.which("wgan-kit") or pytest.fail("wgan-kit is not installed on PATH")
    done = subprocess.run([script, "run", "--stepz", "3"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: wgan-kit run: no such option: --stepz")
    assert done.stderr.strip().count("\n") == 0, done.stderr


def test_resume_may_change_the_precision(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "run"), "--quiet", "--precision", "fp32")
    result = invoke("run", "--resume", str(tmp_path / "run"), "--steps", "3", "--precision",
                    "bf16", "--quiet")
    assert result.exit_code == 0, result.output
    assert 'precision = "bf16"' in (tmp_path / "run" / "config.toml").read_text()


def test_a_truncated_checkpoint_is_skipped_with_from_step(tmp_path):
    run = tmp_path / "run"
    invoke("run", *TINY, "--set", "run.checkpoint_every=1", "--out", str(run), "--quiet")
    newest = run / "checkpoints" / "step-00000002.safetensors"
    newest.write_bytes(newest.read_bytes()[:1000])
    refused = invoke("run", "--resume", str(run), "--steps", "3", "--quiet")
    assert refused.exit_code == 2 and refused.output.count("error:") == 1, refused.output
    assert "resume from an earlier checkpoint: --from-step 1" in refused.output
    missing = invoke("run", "--resume", str(run), "--from-step", "5", "--quiet")
    assert missing.exit_code == 2
    assert missing.output.strip().endswith("its checkpoints are at steps 1, 2")
    alone = invoke("run", *TINY, "--from-step", "1", "--out", str(tmp_path / "never"))
    assert alone.exit_code == 2 and "give it with --resume RUN" in alone.output
    assert not (tmp_path / "never").exists()
    result = invoke("run", "--resume", str(run), "--from-step", "1", "--steps", "3", "--quiet")
    assert result.exit_code == 0, result.output
    assert invoke("sample", str(run), "--out", str(tmp_path / "s.png")).exit_code == 0


def test_a_checkpoint_of_another_run_is_one_error_line_naming_both_architectures(tmp_path):
    invoke("run", *TINY, "--out", str(tmp_path / "a"), "--quiet")
    invoke("run", "--steps", "2", "--batch-size", "16", "--set", "gen.hidden=8", "--set",
           "critic.hidden=8", "--out", str(tmp_path / "b"), "--quiet")
    shutil.copy(tmp_path / "a" / "checkpoints" / "step-00000002.safetensors",
                tmp_path / "b" / "checkpoints" / "step-00000003.safetensors")
    for command in (["sample", str(tmp_path / "b"), "--out", str(tmp_path / "s.png")],
                    ["eval", str(tmp_path / "b"), "--n", "20"],
                    ["run", "--resume", str(tmp_path / "b"), "--steps", "4", "--quiet"]):
        result = invoke(*command)
        assert result.exit_code == 2, result.output
        (line,) = result.output.splitlines()
        assert line.startswith("error: the checkpoint belongs to a different architecture: ")
        assert "gen.hidden = 16 in the checkpoint, 8 in this run" in line
    assert not (tmp_path / "s.png").exists()
