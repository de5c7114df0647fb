"""Option types the built-in nets share; light, so that plugin modules can import it."""

from typing import Literal

Nonlinearity = Literal["relu", "leaky_relu", "tanh", "softplus"]
# "gated": sigmoid(a)·tanh(b) on twice the channels (WGAN-GP Figure 2, row 5).
NonlinearityOrGate = Literal[Nonlinearity, "gated"]
GeneratorNorm = Literal["batch", "none"]
CriticNorm = Literal["none", "layer", "batch"]
# Initialisation of linear layers: the released TF code's, its PyTorch port's, or torch's.
LinearInit = Literal["he", "normal", "torch"]
