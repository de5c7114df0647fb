"""The options of `images`, in a module of their own: the light registration and the heavy
loader both import them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageFolderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="A folder of PNG/JPEG/WebP images (searched "
                                               "recursively), or a text file listing image "
                                               "paths, one per line, relative to the list.")
    size: int = Field(64, ge=2, le=4096, description="Side of the square images, in pixels.")
    channels: Literal[1, 3] = Field(3, description="3 for RGB, 1 for grayscale.")
    hflip: bool = Field(False, description="Mirror each training image with probability ½.")
    labels: bool = Field(False, description="Class labels from the names of the first-level "
                                            "sub-folders.")
    workers: int = Field(2, ge=0, le=64, description="DataLoader worker processes that decode "
                                                     "images (0: decode in the training process).")
    cache: bool = Field(False, description="Decode every image once at the start and keep it in "
                                           "memory (for sets that fit).")
    strict: bool = Field(False, description="Stop at an unreadable image instead of skipping it.")
    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the images kept out of "
                                                         "training.")
