"""The options of `classifier` and `inception`, in a module of their own: the light registration
and the heavy loaders both import them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ClassifierOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(500, ge=1, le=10**7, description="Training steps of the classifier (Adam).")
    batch_size: int = Field(64, ge=1, le=1 << 16, description="Labelled images per training step.")
    lr: float = Field(1e-3, gt=0, le=10, description="Adam's learning rate for the classifier.")
    width: int = Field(32, ge=1, le=4096,
                       description="Channels of the first convolution; the second has twice as many.")
    features: int = Field(64, ge=2, le=1 << 16,
                          description="Size of the feature layer (the one before the class logits).")
    seed: int = Field(0, ge=0, lt=1 << 63, description="Seeds the classifier's weights and batches.")


class InceptionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: Path | None = Field(
        None, description="pt_inception-2015-12-05-6726825d.pth, checked by its SHA-256: the "
                          "Inception Score's weights (eval --inception-weights) [default: "
                          "$WGAN_KIT_INCEPTION_WEIGHTS, else the cache, else no IS].")
