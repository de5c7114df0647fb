"""The conformance kit at its public path, `wgan_kit.testing`: the checks and pytest fixtures of
wgan_kit/kit/conformance.py, for plugin authors' tests."""

from .kit.conformance import *  # noqa: F403 (exactly the kit's __all__)
from .kit.conformance import __all__  # noqa: F401
