"""A sweep file: a base composition, the settings to vary, the metric to report and how to search.

    base = "runs/X/config.toml"         # optional: a run's settings to start from
    [sweep]
    name = "toy-lambda"
    metric = "eval.w1"                  # an eval score at the end, or a logged metric
    direction = "minimize"
    sampler = "grid"                    # grid, random or tpe (trials = N for the last two)
    seeds = [0, 1]
    [sweep.settings]
    "constraint.weight" = [0.1, 1.0]    # values: a grid axis, or choices to sample
    "run.lr" = {low = 1e-5, high = 1e-3, log = true}   # a range (random, tpe)
    [sweep.pruner]                      # optional: Optuna's median pruner
    metric = "wasserstein"

Time to quality instead: `metric = "seconds_to_target"` (or `steps_to_target`) with `target =
0.1` and `[run] eval_every = 100`: each trial stops at its first run.eval_every score at or below
the target and scores the training seconds it took (inf if it never gets there, or not within
`budget` seconds).
    [run]                               # the tables of a run config, above `base`
    steps = 300

`load_sweep` checks everything a trial could trip on before any starts, every problem at once,
one line each: unknown or mistyped settings (each value is resolved as a run would resolve it),
ranges that do not fit, unknown metrics, unreachable storage.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, \
    model_validator

from wgan_kit import WganKitError, load_registry

from .internals import EVAL_SAMPLES, LOGGED_METRICS, NGRAM_ORDERS, SECTIONS, dotted_layer, \
    load_toml, resolve_layers

EVAL_PREFIX = "eval."
# Time to quality: a trial's training seconds (or steps) until its run.eval_every score first
# reaches the sweep's target.
TARGET_METRICS = ("seconds_to_target", "steps_to_target")
POINT_SCORES = ("w1", "w1_real_baseline", "modes_captured", "high_quality_share")
IMAGE_SCORES = ("fid", "kid", "score")  # with the extractor's label: classifier_fid, ...


class Range(BaseModel):
    """Numbers to sample from: integers when `low` and `high` are, else floats."""

    model_config = ConfigDict(extra="forbid")
    low: int | float = Field(description="Smallest value.")
    high: int | float = Field(description="Largest value.")
    log: bool = Field(False, description="Sample on a log scale (low > 0).")
    step: int | float | None = Field(None, gt=0, description="Spacing of the values, if any.")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("a range is either log or stepped, not both")
        return self

    @property
    def integer(self) -> bool:
        return all(isinstance(v, int) for v in (self.low, self.high, self.step or 1))


# A setting's axis: a list of values, or a table that is a range (its errors say which was meant).
Axis = Annotated[Annotated[list[Any], Tag("values")] | Annotated[Range, Tag("range")],
                 Discriminator(lambda v: "range" if isinstance(v, (dict, Range)) else "values")]


class Pruner(BaseModel):
    """Optuna's median pruner: a trial stops when its intermediate metric is worse than the median
    of earlier trials' at the same step."""

    model_config = ConfigDict(extra="forbid")
    metric: str = Field(description="A logged metric, reported at every logged step.")
    direction: Literal["minimize", "maximize"] | None = Field(
        None, description="Which way the metric improves [default: the sweep's direction].")
    startup_trials: int = Field(2, ge=0, description="Trials that finish before any is pruned.")
    warmup_steps: int = Field(0, ge=0, description="Steps of each trial before it may be pruned.")


class SweepTable(BaseModel):
    """The [sweep] table."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("", pattern=r"^[A-Za-z0-9_.-]*$",
                      description="The study's name [default: the file's stem].")
    metric: str = Field(description="eval.<score> (wgan-kit eval's, at the end), a logged one, "
                                    "or seconds_to_target / steps_to_target (with `target`).")
    direction: Literal["minimize", "maximize"] = Field(description="Which way is better.")
    sampler: Literal["grid", "random", "tpe"] = Field("grid", description="How to search.")
    trials: int | None = Field(None, ge=1, le=100_000,
                               description="Trials to draw (random, tpe); a grid has its size.")
    target: float | None = Field(
        None, description="The score of run.eval_every (eval_w1, eval_classifier_fid, ...) that "
                          "ends a trial of seconds_to_target or steps_to_target: the first at or "
                          "below it. A trial that never gets there scores inf.")
    budget: float | None = Field(
        None, gt=0, description="Training seconds after which a trial of seconds_to_target or "
                                "steps_to_target stops as not reached (inf) [default: its "
                                "run.steps]: the time a setting may take to be worth having.")
    seeds: list[int] = Field(default_factory=list, description="run.seed values: one more axis.")
    settings: dict[str, Axis] = Field(
        default_factory=dict, description="Dotted setting: values (a list) or a range (a table).")
    pruner: Pruner | None = Field(None, description="Stop hopeless trials early.")
    storage: str | None = Field(None, description="Where the study lives: a database URL "
                                "(postgresql://...) or journal:///PATH [default: Optuna's journal "
                                "file DIR/sweep.journal].")
    jobs: int = Field(1, ge=1, le=256, description="Trials at once on this machine.")
    threads: int | None = Field(None, ge=1, le=1024,
                                description="torch threads per trial [default: cores / jobs].")
    eval_n: int = Field(EVAL_SAMPLES, ge=4, le=1_000_000,
                        description="Samples for an eval metric [default: wgan-kit eval's].")
    sampler_seed: int = Field(0, ge=0, description="Seed of the random and TPE samplers.")


class SweepSpec(BaseModel):
    """A checked sweep: `base` holds the run settings as dotted keys (from `base = FILE` and the
    file's run tables), so a worker on another machine needs nothing but the study."""

    sweep: SweepTable
    base: dict[str, Any]

    @property
    def axes(self) -> dict[str, list[Any] | Range]:
        """Every varied setting, the seeds included."""
        axes = dict(self.sweep.settings)
        if self.sweep.seeds:
            axes["run.seed"] = list(self.sweep.seeds)
        return axes

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the values (grid sampler), in the file's order."""
        axes = self.axes
        return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]

    def planned_trials(self) -> int:
        return len(self.grid()) if self.sweep.sampler == "grid" else self.sweep.trials or 0

    def options(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The dotted settings of one trial: the base, then the trial's own."""
        return {**self.base, **settings}


def load_sweep(path: str | Path, *, storage: str | None = None) -> SweepSpec:
    """The sweep file at `path`, checked; `storage` (a database URL) overrides the file's."""
    path = Path(path).expanduser()
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WganKitError(f"{path}: no such sweep file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WganKitError(f"{path}: cannot read it as TOML ({exc})") from None
    tables.setdefault("sweep", {}).setdefault("name", path.stem)
    if storage is not None:
        tables["sweep"]["storage"] = storage
    return check_sweep(tables, folder=path.parent)


def check_sweep(tables: dict[str, Any], *, folder: Path = Path(".")) -> SweepSpec:
    """A sweep from its tables (a parsed sweep file), or every problem with it at once."""
    problems: list[str] = []
    sweep_table = tables.get("sweep")
    stray = [key for key in tables if key not in ("sweep", "base", "run", *SECTIONS)]
    problems += [f"[{key}]: not a table of a sweep file; it has [sweep], base = FILE and the run "
                 f"tables run, {', '.join(SECTIONS)}" for key in stray]
    sweep, invalid = _sweep_table(sweep_table if isinstance(sweep_table, dict) else {},
                                  problems)
    base = _base_settings(tables, folder, problems)
    if sweep is None:  # not even the valid fields make a table: what is known is said
        raise WganKitError(list(dict.fromkeys(problems)))
    problems += _sampler_problems(sweep, invalid)
    registry = load_registry()
    usable = _usable_base(base, registry, problems)
    if usable is not None:
        problems += _settings_problems(sweep, usable, registry)
    if "metric" not in invalid:
        problems += _metric_problems(sweep, usable, registry)
    if sweep.storage is not None:
        problems += storage_problems(sweep.storage)
    if problems:
        raise WganKitError(list(dict.fromkeys(problems)))
    return SweepSpec(sweep=sweep, base=base)


# Stand-ins for required fields that were wrong, so that the rest of the file is still checked.
STAND_INS = {"metric": "wasserstein", "direction": "minimize"}


def _sweep_table(table: dict[str, Any], problems: list[str]
                 ) -> tuple[SweepTable | None, set[str]]:
    """The [sweep] table checked, and the fields found wrong (each reported in `problems`): those
    are left out (a wrong setting alone, not the others), so that the checks of everything else
    still run and a file's every mistake is said at once."""
    try:
        return SweepTable.model_validate(table), set()
    except ValidationError as exc:
        errors = exc.errors()
    problems += [_pydantic_line("sweep", error) for error in errors]
    kept, invalid = dict(table), set()
    settings = dict(kept["settings"]) if isinstance(kept.get("settings"), dict) else None
    for error in errors:
        field, *rest = [str(part) for part in error["loc"]] or [""]
        invalid.add(field)
        if field == "settings" and rest and settings is not None:
            settings.pop(rest[0], None)  # this setting only
        else:
            kept.pop(field, None)
    if settings is not None and "settings" in kept:
        kept["settings"] = settings
    try:
        return SweepTable.model_validate({**{k: v for k, v in STAND_INS.items()
                                             if k not in kept}, **kept}), invalid
    except ValidationError:
        return None, invalid


def _pydantic_line(section: str, error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"] if part not in ("values", "range")]  # Axis tags
    key = ".".join((section, *loc))
    if error["type"] == "extra_forbidden":
        return f"{key}: no such field of a sweep file"
    message = error["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    return f"{key}: {message}, got {error['input']!r}"


def _base_settings(tables: dict[str, Any], folder: Path, problems: list[str]) -> dict[str, Any]:
    """The base composition as dotted settings: `base = FILE`, then the file's own run tables."""
    layers = []
    if "base" in tables:
        try:  # a run's config.toml also records what its parts were: not settings
            layers.append({section: table for section, table in
                           load_toml((folder / str(tables["base"])).expanduser()).items()
                           if section in ("run", *SECTIONS)})
        except WganKitError as exc:
            problems += [f"base: {p}" for p in exc.problems]
    layers.append({s: t for s, t in tables.items() if s in ("run", *SECTIONS) and
                   isinstance(t, dict)})
    return {f"{section}.{key}": value for layer in layers for section, table in layer.items()
            for key, value in table.items()}


def _sampler_problems(sweep: SweepTable, invalid: set[str] | frozenset[str] = frozenset()
                      ) -> list[str]:
    """How the sampler, the trials and the axes fit together (those found wrong already are not
    judged again)."""
    problems = []
    judged = not {"sampler", "trials"} & invalid
    if judged and sweep.sampler == "grid":
        problems += [f"sweep.settings.{key}: a range needs sampler random or tpe; a grid takes a "
                     "list of values" for key, axis in sweep.settings.items()
                     if isinstance(axis, Range)]
        if sweep.trials is not None:
            problems.append("sweep.trials: a grid runs each combination once; drop trials, or "
                            "use sampler random or tpe")
    elif judged and sweep.trials is None:
        problems.append(f"sweep.trials: sampler {sweep.sampler} needs the number of trials to "
                        "draw, e.g. trials = 20")
    if not sweep.settings and not sweep.seeds and not {"settings", "seeds"} & invalid:
        problems.append("sweep.settings: nothing to vary; name settings (\"run.lr\" = [1e-4, "
                        "2e-4]) or seeds")
    problems += [f"sweep.settings.{key}: an empty list of values"
                 for key, axis in sweep.settings.items() if axis == []]
    if "run.seed" in sweep.settings and sweep.seeds:
        problems.append("sweep.seeds: run.seed is also in sweep.settings; give the seeds once")
    return problems


def _usable_base(base: dict[str, Any], registry: Any, problems: list[str]
                 ) -> dict[str, Any] | None:
    """The base settings that resolve, its problems added to `problems`: a wrong option is left
    out, and a wrong plugin name with its section's options, so that the settings to vary are
    still checked against the rest (None: nothing of the base resolves)."""
    try:
        resolve_layers([dotted_layer(base, "base")], registry)
        return base
    except WganKitError as exc:
        found = exc.problems
    problems += [f"base: {p}" for p in found]
    named = {p.partition(":")[0] for p in found}  # a problem starts with its key: "gen.hidden: "
    sections = {key.partition(".")[0] for key in named if key.endswith(".name")}
    usable = {key: value for key, value in base.items()
              if key not in named and key.partition(".")[0] not in sections}
    try:
        resolve_layers([dotted_layer(usable, "base")], registry)
    except WganKitError:
        return None
    return usable


def _settings_problems(sweep: SweepTable, base: dict[str, Any], registry: Any) -> list[str]:
    """Each value of each axis (a range's ends) resolved as a run would, with the base."""
    problems: list[str] = []
    for key, axis in {**sweep.settings, "run.seed": sweep.seeds or [0]}.items():
        section, _, option = key.partition(".")
        if section not in ("run", *SECTIONS) or not option:
            problems.append(f"sweep.settings.{key}: expected section.key with a section among "
                            f"run, {', '.join(SECTIONS)}")
            continue
        values = [axis.low, axis.high] if isinstance(axis, Range) else axis
        for value in values:
            try:
                resolve_layers([dotted_layer({**base, key: value}, "sweep")], registry)
            except WganKitError as exc:
                problems += [f"sweep.settings.{key} = {value!r}: {p}" for p in exc.problems]
                break  # one line per setting is enough
    return problems


def _metric_problems(sweep: SweepTable, base: dict[str, Any] | None, registry: Any
                     ) -> list[str]:
    problems = []
    if sweep.metric in TARGET_METRICS or sweep.target is not None or sweep.budget is not None:
        problems += _target_problems(sweep, base)
    elif sweep.metric.startswith(EVAL_PREFIX):
        score = sweep.metric.removeprefix(EVAL_PREFIX)
        try:
            kind = _data_kind(base, registry) if base is not None else None
        except WganKitError:
            kind = None  # the base's own problem is reported already
        known = scores_of(kind)
        if kind is not None and score not in known and not (
                kind == "image" and score.rpartition("_")[2] in IMAGE_SCORES):
            problems.append(f"sweep.metric: {sweep.metric!r} is no eval score for {kind} data; "
                            f"known: {', '.join(EVAL_PREFIX + s for s in known)}")
    elif sweep.metric not in LOGGED_METRICS:
        problems.append(f"sweep.metric: unknown metric {sweep.metric!r}; use eval.<score> "
                        f"(e.g. eval.w1) or a logged one: {', '.join(LOGGED_METRICS)}")
    if sweep.pruner is not None and sweep.pruner.metric not in LOGGED_METRICS:
        problems.append(f"sweep.pruner.metric: {sweep.pruner.metric!r} is not logged while "
                        f"training; use one of: {', '.join(LOGGED_METRICS)}")
    return problems


def _target_problems(sweep: SweepTable, base: dict[str, Any] | None) -> list[str]:
    if sweep.metric not in TARGET_METRICS:
        return [f"sweep.{field}: only for metric = {' or '.join(TARGET_METRICS)}; "
                f"{sweep.metric!r} has none"
                for field in ("target", "budget") if getattr(sweep, field) is not None]
    problems = []
    if sweep.target is None:
        problems.append(f"sweep.metric {sweep.metric!r}: needs sweep.target, the run.eval_every "
                        "score that counts as reached (e.g. target = 0.1 for eval_w1)")
    if sweep.direction != "minimize":
        problems.append(f"sweep.direction: {sweep.metric!r} is minimised (less time is better)")
    if base is not None and not base.get("run.eval_every") \
            and "run.eval_every" not in sweep.settings:
        problems.append(f"sweep.metric {sweep.metric!r}: the trials need run.eval_every (e.g. "
                        "[run] eval_every = 100) to score themselves while they train")
    return problems


def scores_of(kind: str | None) -> tuple[str, ...]:
    if kind == "points":
        return POINT_SCORES
    if kind == "sequence":
        return tuple(f"js{n}{suffix}" for n in NGRAM_ORDERS for suffix in ("", "_real_baseline"))
    return IMAGE_SCORES


def _data_kind(base: dict[str, Any], registry: Any) -> str:
    """The kind of samples the base's data source makes (building it, as each trial will)."""
    config = resolve_layers([dotted_layer(base, "base")], registry)
    part = config.parts["data"]
    return part.component.factory(part.options).spec.kind


def storage_problems(url: str) -> list[str]:
    """Whether a storage URL can be used, without writing to it."""
    for prefix in ("sqlite:///", "journal:///"):
        if not url.startswith(prefix):
            continue
        folder = Path(url.removeprefix(prefix)).expanduser().resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return [f"sweep.storage {url!r}: cannot write in {folder}"]
        return []
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # no driver, bad URL, unreachable server: all the user's to fix
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return [f"sweep.storage {url!r}: cannot connect ({reason})"]
    return []
