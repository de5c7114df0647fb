"""The Inception Score's weights file: found where it is named, checked by the start of its
SHA-256 (torch.hub's convention), and fetched into the cache only whole and matching. Fetching is
tested through `file://` URLs, which urllib opens as it opens https: no network."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wgan_kit import WganKitError
from wgan_kit.cli import app
from wgan_kit.evaluation.inception_weights import (PT_INCEPTION, WeightsFile, fetch, find,
                                                   with_inception_weights)


@pytest.fixture
def published(tmp_path, monkeypatch) -> tuple[Path, WeightsFile]:
    """A file 'published' with its hash's first 8 hex digits, and an empty cache."""
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "served" / "weights.bin"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * 5000)  # 1.28 MB: more than one block of the download
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return path, WeightsFile("weights.bin", path.as_uri(), prefix, "WGAN_KIT_TEST_WEIGHTS")


def cached_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_fetch_keeps_a_matching_file_and_then_downloads_nothing(published, tmp_path):
    path, weights = published
    kept, sha256 = fetch(weights)
    assert kept == weights.cached() and kept.read_bytes() == path.read_bytes()
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cached_files(tmp_path) == [kept]  # no temporary file left beside it
    assert fetch(weights, url="file:///nowhere/at/all") == (kept, sha256)  # cached: no download
    assert find(weights) == (kept, sha256)


def test_fetch_refuses_a_file_whose_hash_does_not_match_and_keeps_nothing(published, tmp_path):
    path, weights = published
    other = tmp_path / "served" / "other.bin"
    other.write_bytes(b"not the published weights")
    with pytest.raises(WganKitError) as refused:
        fetch(weights, url=other.as_uri())
    [line] = refused.value.problems
    assert hashlib.sha256(other.read_bytes()).hexdigest() in line and weights.sha256_prefix in line
    assert "nothing was kept" in line
    assert cached_files(tmp_path) == [] and find(weights) is None
    with pytest.raises(WganKitError, match="could not download .*nothing was kept"):
        fetch(weights, url=(tmp_path / "missing.bin").as_uri())
    assert cached_files(tmp_path) == []


def test_fetch_replaces_a_damaged_cached_copy(published):
    path, weights = published
    weights.cached().parent.mkdir(parents=True)
    weights.cached().write_bytes(path.read_bytes()[:1000])  # cut short
    with pytest.raises(WganKitError, match="cached inception weights"):
        find(weights)
    fetch(weights)
    assert weights.cached().read_bytes() == path.read_bytes()


def test_a_named_file_comes_before_the_environments_which_comes_before_the_cache(
        published, tmp_path, monkeypatch):
    path, weights = published
    fetch(weights)
    copy = tmp_path / "copy.bin"
    copy.write_bytes(path.read_bytes())
    monkeypatch.setenv(weights.environment, str(copy))
    assert find(weights)[0] == copy
    assert find(weights, named=path)[0] == path
    monkeypatch.setenv(weights.environment, str(tmp_path / "gone.bin"))
    with pytest.raises(WganKitError, match=r"\$WGAN_KIT_TEST_WEIGHTS: .*gone.bin: no such file"):
        find(weights)


def test_inception_weights_choose_the_inception_features_and_refuse_others(tmp_path):
    assert with_inception_weights(None, {}, None) == (None, {})
    assert with_inception_weights(None, {"a": 1}, tmp_path / "w.pth") == \
        ("inception", {"a": 1, "weights": str(tmp_path / "w.pth")})
    with pytest.raises(WganKitError, match="--features classifier does not use"):
        with_inception_weights("classifier", {}, tmp_path / "w.pth")


def test_fetch_inception_refuses_a_mismatched_download_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    impostor = tmp_path / PT_INCEPTION.name
    impostor.write_bytes(b"a file with the right name and the wrong bytes")
    refused = CliRunner().invoke(app, ["fetch-inception", "--url", impostor.as_uri()])
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: ") and "6726825d" in line and "nothing was kept" in line
    assert cached_files(tmp_path) == []
