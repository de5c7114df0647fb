"""`spectral`: spectral normalization of the critic (Miyato et al. 2018, "Spectral Normalization for
Generative Adversarial Networks", Section 2.1, Equation 8 and Algorithm 1).

Every linear and convolutional layer's weight W is used as W / σ(W), where σ(W), the largest
singular value, is estimated by power iteration: one step per forward pass in training mode, the
paper's choice, reusing the vector u of the previous step. With 1-Lipschitz activations the critic
is then at most 1-Lipschitz. The constraint acts once, when the critic is built (`prepare`); it adds
no penalty and projects nothing, so it is the third kind of constraint beside `gp` and `clip`.

This module is light (no torch at import): `wgan-kit plugins list` reads it without loading torch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

WGAN_KIT_PLUGIN_API = ">=1,<2"


class SpectralNormOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_power_iterations: int = Field(
        1, ge=1, le=100,
        description="Power-iteration steps per forward pass that estimate σ(W); the paper uses 1.")
    eps: float = Field(1e-12, gt=0, le=1e-3,
                       description="Added to norms in the power iteration, for numerical safety.")


def build(options: SpectralNormOptions):
    from .normalization import SpectralNormalization

    return SpectralNormalization(options.n_power_iterations, options.eps)


@hookimpl
def register_components(register):
    register(Component("constraint", "spectral", build, SpectralNormOptions,
                       "Spectral normalization of every linear and conv layer of the critic "
                       "(Miyato et al. 2018)."))
