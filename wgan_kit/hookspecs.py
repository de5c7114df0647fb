"""The hooks a wgan-kit plugin can implement, and what they return.

A plugin is a module named by an entry point in the group `wgan_kit`; it implements hooks with
`@wgan_kit.hookimpl`. Types are imported only for type checking, so this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pluggy

if TYPE_CHECKING:
    from .engine import Trainer
    from .registry import Component

hookspec = pluggy.HookspecMarker("wgan_kit")
hookimpl = pluggy.HookimplMarker("wgan_kit")


@dataclass(frozen=True)
class Check:
    """The outcome of one preflight check.

    `status` is "pass", "warn" (the run starts; the warning is printed and recorded) or "fail" (the
    run is refused). `measured` says what the check saw; `advice` is one line, the reason and the
    fix, and stays empty on a pass.
    """

    name: str
    status: Literal["pass", "warn", "fail"]
    measured: str
    advice: str = ""


@hookspec
def register_components(register: Callable[[Component], None]) -> None:
    """Register generators, critics, constraints, objectives and data sources.

    Call `register(Component(...))` once per component. Keep the module that implements this hook
    light (pydantic options models and factories only): the factory imports the heavy code when a
    run actually uses the component, so listing plugins never imports torch.
    """


@hookspec
def preflight_checks(trainer: Trainer) -> list[Check]:
    """Checks of your own, run with wgan-kit's before every `wgan-kit run` and by `wgan-kit check`.

    Return one `Check` per thing you checked, for the parts of `trainer` that are yours (look at
    `trainer.parts`, `trainer.config` and `trainer.device`), and `[]` for runs that do not use your
    components. Work on copies (`copy.deepcopy(trainer.critic)`) and on a tiny batch, so that the
    run trains exactly as it would have without the check, and keep it well under a second. A
    "fail" refuses the run with your advice; a hook that raises is reported as a warning naming
    your package.
    """
