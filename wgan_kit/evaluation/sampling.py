"""Drawing samples from a run folder's last checkpoint into a file: `wgan-kit sample`, and
`wgan_kit.sample_to` for the same from Python."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..core import checkpoint
from ..errors import WganKitError
from ..training.composition import resume
from .pictures import save_picture

if TYPE_CHECKING:
    from ..core.registry import Registry

FORMATS = (".png", ".txt", ".safetensors")
SAMPLES_FORMAT = "wgan-kit-samples/1"  # the metadata `format` of a .safetensors of samples
# What would break a sample's one line in a .txt: written as its escape (`\n`).
LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode("ascii")
               for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def sample_to(run: str | Path, out: str | Path, *, n: int = 64, seed: int = 0,
              ema: bool | None = None, label: int | None = None, best: bool = False,
              registry: Registry | None = None) -> Path:
    """Draw `n` samples from the last checkpoint of the run in folder `run` into `out`, a new file:
    a picture (.png; points beside as many held-out real ones), text (.txt: one line per sample,
    for runs that generate sequences; a line break inside a sample is written as its escape,
    `\\n`) or the raw samples (.safetensors, under the key 'samples', with the step in its
    metadata and the format `wgan-kit-samples/1`). Returns the path written.

    `seed` seeds the latent points. `ema` draws with the moving average of the generator's weights
    (True) or its live weights (False); None: the average when the run keeps one. `label` is the
    class a conditional run draws; None: every class in turn. `best` draws from best.safetensors,
    the step that scored best while training (run.eval_every), instead of the last checkpoint.
    `registry` finds the run's plugins (default: those installed and registered)."""
    run, out = Path(run), Path(out)
    if out.suffix not in FORMATS:
        raise WganKitError(f"--out {out}: unknown format {out.suffix or '(none)'!r}; "
                           "use .png, .txt or .safetensors")
    if out.exists():
        raise WganKitError(f"--out {out}: already exists; choose another name")
    if n < 1:
        raise WganKitError(f"--n {n}: draw at least 1 sample")
    trainer = resume(run, registry=registry, best=best)
    latent = torch.randn(n, trainer.generator.latent_dim,
                         generator=torch.Generator().manual_seed(seed)).to(trainer.device)
    labels = None
    if label is not None:
        classes = trainer.num_classes
        if classes is not None and label >= classes:
            raise WganKitError(f"--class {label}: this run has {classes} classes; use 0 to "
                               f"{classes - 1}")
        labels = torch.full((n,), label, device=trainer.device)
    samples = trainer.sample(n, latent=latent, ema=ema, labels=labels)
    data = trainer.parts.data
    if out.suffix == ".safetensors":
        checkpoint.save(out, {"samples": samples}, {"step": trainer.step},
                        format=SAMPLES_FORMAT)
    elif out.suffix == ".txt":
        if data.spec.kind != "sequence":
            raise WganKitError(f"--out {out}: .txt is for text, and this run generates "
                               f"{data.spec.kind!r}; use .png or .safetensors")
        # decode takes the most likely symbol at each position (argmax)
        lines = (str(line).translate(LINE_BREAKS) for line in data.decode(samples))
        # backslashreplace: a lone surrogate a decoder may give cannot be UTF-8
        out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8",
                       errors="backslashreplace")
    else:
        real = data.decode(data.held_out(n, device=trainer.device))
        if not save_picture(data.spec.kind, data.decode(samples), out, real=real,
                            title=f"{run.name}, step {trainer.step}"):
            raise WganKitError(f"--out {out}: no picture for samples of kind "
                               f"{data.spec.kind!r}; use .safetensors")
    return out
