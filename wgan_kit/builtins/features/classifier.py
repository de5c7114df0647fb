"""The `classifier` feature extractor: a small CNN trained on a labelled data source.

Its features are the layer before the class logits, as FID takes Inception's pool3 layer. It learns
from the images `decode` gives (uint8), the form every evaluated sample takes. A trained classifier
is kept in the cache folder under a hash of its options and of every labelled batch it learns from,
so a second evaluation on the same data loads it instead of training again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import safetensors.torch
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wgan_kit import DataSource, LabelledSource, WganKitError
from wgan_kit.evaluation import as_channels_first, cache_dir

from .options import ClassifierOptions


class Classifier(nn.Module):
    label = "classifier"  # every score from these features is a "classifier FID/KID/score"
    resize = "none: the data's own size"
    sha256: str | None = None  # of its cached weights file, once trained or loaded
    sha256_of: str | None = None

    def __init__(self, channels: int, num_classes: int, width: int, features: int) -> None:
        super().__init__()
        self.num_features = features
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(2 * width * 16, features), nn.ReLU())
        self.head = nn.Linear(features, num_classes)

    def forward(self, images: Tensor) -> Tensor:
        """uint8 images (N, C, H, W) -> features (N, num_features)."""
        return self.body(images.float() / 127.5 - 1)

    def logits(self, images: Tensor) -> Tensor:
        return self.head(self(images))


def trained_classifier(data: DataSource, options: ClassifierOptions) -> Classifier:
    """The classifier for `data`, from the cache or trained now (and then cached)."""
    num_classes = data.spec.num_classes
    if not isinstance(data, LabelledSource) or not num_classes:
        raise WganKitError(f"features classifier: the data source {type(data).__name__} has no "
                           "labels (it needs labelled_batches and spec.num_classes); use "
                           "--features inception")
    with torch.random.fork_rng(devices=[]):  # the weights come from options.seed alone
        torch.manual_seed(options.seed)
        classifier = Classifier(data.spec.shape[0], num_classes, options.width, options.features)
    key = _data_hash(data, options)
    path = cache_dir() / "classifiers" / f"{key}.safetensors"
    classifier.sha256_of = f"its weights file, classifiers/{path.name}: named by its cache key"
    if path.is_file():
        classifier.load_state_dict(safetensors.torch.load_file(str(path)))
        classifier.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        return classifier.eval()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=options.lr)
    for images, labels in _labelled_images(data, options):
        loss = F.cross_entropy(classifier.logits(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    safetensors.torch.save_file(classifier.state_dict(), str(temporary))
    temporary.replace(path)
    classifier.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return classifier.eval()


def _labelled_images(data: LabelledSource, options: ClassifierOptions
                     ) -> Iterator[tuple[Tensor, Tensor]]:
    """The classifier's training stream: `options.steps` labelled batches as uint8 images."""
    batches = data.labelled_batches(options.batch_size, seed=options.seed,
                                    device=torch.device("cpu"))
    for _, (batch, labels) in zip(range(options.steps), batches):
        yield as_channels_first(data.decode(batch)), labels.long()


def _data_hash(data: LabelledSource, options: ClassifierOptions) -> str:
    digest = hashlib.sha256(json.dumps({"options": options.model_dump(),
                                        "shape": list(data.spec.shape),
                                        "classes": data.spec.num_classes}).encode())
    for images, labels in _labelled_images(data, options):
        digest.update(images.numpy().tobytes())
        digest.update(labels.numpy().tobytes())
    return digest.hexdigest()[:32]
