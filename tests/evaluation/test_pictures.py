"""Pictures of samples: any generated text draws (as plain text, never as a formula), and the
legend of a points picture leaves the data free."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import wgan_kit
from wgan_kit import Component, NoOptions
from wgan_kit.core import registry as registry_module
from wgan_kit.evaluation.pictures import (
    MAX_LINE_CHARACTERS,
    draw_picture,
    printable,
    save_picture,
)
from wgan_kit.evaluation.report import write_report
from wgan_kit.evaluation.sampling import sample_to

from tiny_sources import ANY_CHARACTERS, AnyCharacters

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_local_plugins(monkeypatch):
    monkeypatch.setattr(registry_module, "_local_plugins", {})


@pytest.mark.parametrize("lines", [
    ["a$b$c", "$$"],  # two `$`: mathtext would parse "$b$" and fail on "$$"
    ["$\\foo$", "x_1^2", "\\frac{a}{b}"],  # TeX: an unknown command, sub- and superscripts
    ["\x00\x07\x1b\x7f", "\t\r\n\x0b\x0c", "\ud800"],  # control characters, a lone surrogate
    ["$" * 20_000, "\\" * 5_000],  # far longer than a picture is wide
    [ANY_CHARACTERS * 3] * 500,  # more lines than a picture is tall
], ids=["two-dollars", "tex", "control", "very-long", "many"])
def test_a_text_run_crashes_drawing_its_samples_no_more(tmp_path, lines):
    path = tmp_path / "samples.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no glyph is missing from the font either
        assert save_picture("sequence", lines, path, title="run $\\x$_^, step 2")
    assert path.read_bytes().startswith(PNG)


def test_unprintable_characters_show_as_their_escapes_and_long_lines_are_cut():
    assert printable("a\x00b\tc$\\") == "a\\x00b\\tc$\\"
    assert printable("\ud800") == "\\ud800"
    cut = printable("$" * 1000)
    assert len(cut) == MAX_LINE_CHARACTERS and cut.endswith("…")


def test_the_points_legend_covers_no_mode():
    """The legend sits below the axes and their tick labels: a mode in a corner stays visible."""
    rng = np.random.default_rng(0)
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float)
    points = corners[rng.integers(4, size=400)] + 0.05 * rng.normal(size=(400, 2))
    figure = draw_picture("points", points, real=points, title="step 1")
    figure.canvas.draw()
    (legend,) = figure.legends
    (axes,) = figure.axes
    assert legend.get_window_extent().y1 <= axes.get_tightbbox().y0


def test_a_run_of_any_characters_draws_its_samples_report_and_text(tmp_path):
    """Trained, sampled (.png, .txt) and reported, under a folder name full of `$`, `\\` and `_`
    too (the report's curves label each run by its folder)."""
    wgan_kit.register(Component("data", "any-characters", lambda options: AnyCharacters(),
                                NoOptions, "Lines of any character."))
    out = tmp_path / "run $\\x$_^"
    trainer = wgan_kit.compose(data="any-characters", steps=2, batch_size=8, log_every=1,
                               options={"gen.hidden": 16, "critic.hidden": 16})
    assert trainer.train(out, preflight=False).finished
    assert next((out / "samples").glob("step-*.png")).read_bytes().startswith(PNG)

    assert sample_to(out, tmp_path / "s.png", n=5).read_bytes().startswith(PNG)
    text = sample_to(out, tmp_path / "s.txt", n=5).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) == 5  # one line per sample: its line breaks are written as escapes
    assert not set("\n\r\u2028") & set("".join(lines))

    page = write_report([out], tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 3  # a curve, the samples, the weights
