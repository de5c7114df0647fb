"""Every piece of wgan-kit's internals that the sweeps use, imported here and nowhere else.

A trial goes through the launch path of `wgan-kit run` (`Launch`, `launch`, `Plan`: the folder checks,
the preflight, clean stops with a checkpoint); what else is here resolves a configuration without
building it (to check a sweep file before any trial starts), names what a run logs, scores a
finished trial, reads run folders and draws the report.
"""

from __future__ import annotations

from wgan_kit.core.layers import dotted_layer, load_toml, resolve_layers, resolve_config
from wgan_kit.core.engine.metrics import LOGGED_METRICS
from wgan_kit.core.run_folder import RunFolder
from wgan_kit.core.config import SECTIONS
from wgan_kit.evaluation import EVAL_SAMPLES, NGRAM_ORDERS, evaluate
from wgan_kit.evaluation.pictures import plain_text
from wgan_kit.evaluation.report import STYLE, curve_png, img_tag, png_bytes, read_metrics
from wgan_kit.evaluation.report import new_figure as figure
from wgan_kit.training.interrupts import passing_signals_to
from wgan_kit.training.composition import Plan
from wgan_kit.training.launch import Launch, launch

__all__ = ["EVAL_SAMPLES", "LOGGED_METRICS", "Launch", "NGRAM_ORDERS", "Plan", "RunFolder",
           "SECTIONS", "STYLE", "curve_png", "dotted_layer", "evaluate", "figure", "img_tag",
           "launch", "load_toml", "passing_signals_to", "plain_text", "png_bytes", "read_metrics",
           "resolve_config", "resolve_layers"]
