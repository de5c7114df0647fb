"""Option types the built-in nets share; light, so that plugin modules can import it."""

from typing import Literal

Nonlinearity = Literal["relu", "leaky_relu", "tanh", "softplus"]
