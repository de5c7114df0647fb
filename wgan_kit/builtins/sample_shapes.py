"""What the built-in nets can make: checks of the data's `SampleSpec`, with errors that name both
the net and the data. Light (no torch), so that factories run them before building anything."""

from __future__ import annotations

from typing import NamedTuple

from wgan_kit import SampleSpec, WganKitError

# What an image source suggests, so that images get convolutional nets unless the user names others.
CONVOLUTIONAL_NETS = {"gen.name": "dcgan", "critic.name": "dcgan"}


class Kind(NamedTuple):
    plural: str
    shape: str
    axes: int
    nets: str  # the built-in nets for this kind, for the hint in an error


KINDS = {"points": Kind("points", "(D,)", 1, "mlp"),
         "image": Kind("images", "(C, H, W)", 3, "dcgan, resnet or mlp"),
         "sequence": Kind("sequences", "(T, V)", 2, "charcnn or mlp")}

# Where data of each kind comes from, for the hint when a net is given the wrong kind.
SOURCES = {"points": "--data 8gaussians, 25gaussians or swissroll",
           "image": "--data mnist, --data digits, --data cifar10 --set data.path=DIR, or --data "
                    "images --set data.path=DIR",
           "sequence": "--data text"}


def require_kind(spec: SampleSpec, *, net: str, section: str, kinds: tuple[str, ...]) -> None:
    """Refuse data whose samples are not of one of `kinds`, with that kind's number of axes."""
    if spec.kind in kinds and len(spec.shape) == KINDS[spec.kind].axes:
        return
    handles = " or ".join(f"{KINDS[kind].plural} {KINDS[kind].shape}" for kind in kinds)
    known = KINDS.get(spec.kind)
    given = f"{known.plural} of" if known else f"of kind {spec.kind!r},"
    sources = " or ".join(SOURCES[kind] for kind in kinds)
    hint = (f"; for {known.plural} use {known.nets}, or give {net} data it handles: {sources}"
            if known else "")
    raise WganKitError(f"{section}: {net} handles {handles}, but the data's samples are "
                       f"{given} shape {tuple(spec.shape)}{hint}")


def image_pyramid(spec: SampleSpec, *, net: str, section: str) -> tuple[int, int, int]:
    """(channels, start, doublings) for square images of side start·2^doublings, 4 ≤ start ≤ 7,
    doublings ≥ 1: 32 and 64 start at 4×4 as DCGAN; 28 starts at 7×7."""
    require_kind(spec, net=net, section=section, kinds=("image",))
    channels, height, width = spec.shape
    start, doublings = height, 0
    while start >= 8 and start % 2 == 0:
        start, doublings = start // 2, doublings + 1
    if height != width or not 4 <= start <= 7 or doublings == 0:
        raise WganKitError(
            f"{section}: {net} makes square images whose side is 4 to 7 times a power of two "
            f"(8, 12, 16, 28, 32, 64, 128, ...), but the data's images are {height}×{width}; "
            "resize or crop the data, or use mlp")
    return channels, start, doublings
