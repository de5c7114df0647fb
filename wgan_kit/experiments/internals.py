"""Every piece of wgan-kit's internals that the sweeps use, imported here and nowhere else.

Running a trial itself uses the public API (`wgan_kit.compose`, `wgan_kit.resume`,
`Trainer.train`); what is here resolves a configuration without building it (to check a sweep
file before any trial starts), scores a finished trial, reads run folders and draws the report.
"""

from __future__ import annotations

from wgan_kit.core.config import dotted_layer, load_toml, resolve_layers
from wgan_kit.core.run_folder import RunFolder
from wgan_kit.core.settings import SECTIONS
from wgan_kit.evaluation import NGRAM_ORDERS, evaluate
from wgan_kit.evaluation.report import STYLE, curve_png, img_tag, png_bytes, read_metrics
from wgan_kit.evaluation.report import new_figure as figure

# What the training loop logs to metrics.jsonl (wgan_kit/core/engine.py, Trainer._loop and
# core/metrics.py); the engine names them nowhere as a list. Phase 2: take it from the engine.
LOGGED_METRICS = (
    "critic_loss", "wasserstein", "generator_loss", "penalty", "grad_norm", "grad_norm_max",
    "lipschitz_violation", "lr_generator", "lr_critic", "gen_steps_per_s",
    "critic_loss_train_batch", "critic_loss_heldout_batch", "class_loss_real",
    "class_accuracy_real", "class_loss_fake", "class_accuracy_fake",
)

__all__ = ["LOGGED_METRICS", "NGRAM_ORDERS", "RunFolder", "SECTIONS", "STYLE", "curve_png",
           "dotted_layer", "evaluate", "figure", "img_tag", "load_toml", "png_bytes",
           "read_metrics", "resolve_layers"]
