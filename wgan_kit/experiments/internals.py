"""Every piece of wgan-kit's internals that the sweeps use, imported here and nowhere else.

Issue 16 moves the top-level modules into subpackages; after it, re-point these imports (and
only these). Running a trial itself uses the public API (`wgan_kit.compose`, `wgan_kit.resume`,
`Trainer.train`); what is here resolves a configuration without building it (to check a sweep
file before any trial starts), scores a finished trial, reads run folders and draws the report.
"""

from __future__ import annotations

from wgan_kit.composition import resolve_layers
from wgan_kit.config import SECTIONS, dotted_layer, load_toml
from wgan_kit.evaluation import NGRAM_ORDERS, evaluate
from wgan_kit.report import STYLE, curve_png, png_bytes, read_metrics
from wgan_kit.report import _figure as figure
from wgan_kit.report import _img as img_tag
from wgan_kit.run_folder import RunFolder

# What the training loop logs to metrics.jsonl (wgan_kit/engine.py, Trainer._loop and
# heldout_losses); the engine names them nowhere as a list. Phase 2: take it from the engine.
LOGGED_METRICS = (
    "critic_loss", "wasserstein", "generator_loss", "penalty", "grad_norm", "grad_norm_max",
    "lipschitz_violation", "lr_generator", "lr_critic", "gen_steps_per_s",
    "critic_loss_train_batch", "critic_loss_heldout_batch", "class_loss_real",
    "class_accuracy_real", "class_loss_fake", "class_accuracy_fake",
)

__all__ = ["LOGGED_METRICS", "NGRAM_ORDERS", "RunFolder", "SECTIONS", "STYLE", "curve_png",
           "dotted_layer", "evaluate", "figure", "img_tag", "load_toml", "png_bytes",
           "read_metrics", "resolve_layers"]
