"""The trials of a sweep as a table: rows (one per run folder), the best trial, the spread over
seeds, the settings that no trial finished, and `DIR/trials.csv` / `DIR/trials.json`."""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .study import folder_name

if TYPE_CHECKING:
    import optuna

    from .spec import SweepSpec


@dataclass
class TrialRow:
    """One trial: the latest attempt on its run folder."""

    trial: int
    folder: str
    state: str  # complete, pruned, failed, running, waiting
    settings: dict[str, Any]
    value: float | None = None
    error: str = ""
    eval: dict[str, float] = field(default_factory=dict)


def rows(study: optuna.Study) -> list[TrialRow]:
    """One row per run folder, from its latest attempt; attempts that were resumed by a later one
    and trials that never ran (a grid already taken) are left out."""
    latest: dict[str, TrialRow] = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("unused"):
            continue
        folder = folder_name(trial)
        attrs = trial.user_attrs
        latest[folder] = TrialRow(
            trial=attrs.get("trial", trial.number), folder=folder,
            state={"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
                   "RUNNING": "running", "WAITING": "waiting"}[trial.state.name],
            settings=dict(trial.params or trial.system_attrs.get("fixed_params", {})),
            value=trial.value if trial.state.name == "COMPLETE" else None,
            error=attrs.get("error", attrs.get("pruned", _target_note(attrs.get("target")))),
            eval=attrs.get("eval", {}))
    return sorted(latest.values(), key=lambda row: row.trial)


def _target_note(target: dict[str, float] | str | None) -> str:
    """A time-to-quality trial's outcome: where it reached the target, or why not."""
    if isinstance(target, dict):
        return f"target reached at step {target['step']}"
    return target or ""


def best(table: list[TrialRow], spec: SweepSpec) -> TrialRow | None:
    done = [row for row in table if row.value is not None]
    if not done:
        return None
    pick = min if spec.sweep.direction == "minimize" else max
    return pick(done, key=lambda row: row.value)


def spread_over_seeds(table: list[TrialRow]) -> list[dict[str, Any]]:
    """The metric's mean and standard deviation over seeds, per combination of the other
    settings (complete trials only)."""
    groups: dict[str, list[TrialRow]] = {}
    for row in table:
        if row.value is not None:
            others = {k: v for k, v in row.settings.items() if k != "run.seed"}
            groups.setdefault(json.dumps(others, sort_keys=True), []).append(row)
    return [{"settings": json.loads(key), "n": len(group),
             "mean": statistics.fmean(r.value for r in group),  # type: ignore[misc]
             "std": statistics.stdev(r.value for r in group) if len(group) > 1 else 0.0}
            for key, group in groups.items()]


def without_seed(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k != "run.seed"}


def missing_settings(table: list[TrialRow], spec: SweepSpec) -> list[dict[str, Any]]:
    """The combinations of settings (seeds aside) with no complete trial, each with how its trials
    stand (`{"failed": 2}`): under a grid, every combination it plans; else those drawn. A setting
    lost this way is missing from the comparison, however good the best trial looks."""
    planned = [without_seed(s) for s in spec.grid()] if spec.sweep.sampler == "grid" else []
    groups: dict[str, list[TrialRow]] = {json.dumps(s, sort_keys=True): [] for s in planned}
    for row in table:
        groups.setdefault(json.dumps(without_seed(row.settings), sort_keys=True), []).append(row)
    missing = []
    for key, group in groups.items():
        if not any(row.value is not None for row in group):
            states: dict[str, int] = {}
            for row in group:
                states[row.state] = states.get(row.state, 0) + 1
            missing.append({"settings": json.loads(key), "trials": states})
    return missing


def write(table: list[TrialRow], spec: SweepSpec, out: Path) -> None:
    """`out/trials.csv` (one column per setting, then the metric) and `out/trials.json` (rows,
    best trial, spread over seeds)."""
    keys = list(spec.axes)
    metric_score = spec.sweep.metric.removeprefix("eval.")
    scores = sorted({k for row in table for k in row.eval} - {metric_score})
    with open(out / "trials.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["trial", "folder", "state", *keys, spec.sweep.metric,
                         *(f"eval.{s}" for s in scores), "error"])
        for row in table:
            writer.writerow([row.trial, row.folder, row.state,
                             *(row.settings.get(k, "") for k in keys),
                             "" if row.value is None else row.value,
                             *(row.eval.get(s, "") for s in scores), row.error])
    (out / "trials.json").write_text(json.dumps(summary(table, spec), indent=2) + "\n",
                                     encoding="utf-8")


def summary(table: list[TrialRow], spec: SweepSpec) -> dict[str, Any]:
    """What trials.json holds: the rows, the best trial, the spread over seeds and the settings
    with no finished trial."""
    top = best(table, spec)
    return {"sweep": spec.sweep.name, "metric": spec.sweep.metric,
            "direction": spec.sweep.direction, "trials": [asdict(r) for r in table],
            "best": asdict(top) if top else None, "spread_over_seeds": spread_over_seeds(table),
            "missing_settings": missing_settings(table, spec)}


def rich_table(table: list[TrialRow], spec: SweepSpec) -> Any:
    """The rows as a rich table, the best trial marked."""
    from rich.table import Table

    top = best(table, spec)
    keys = list(spec.axes)
    shown = Table("trial", "state", *keys, spec.sweep.metric, "note",
                  title=f"sweep {spec.sweep.name}: {spec.sweep.metric} ({spec.sweep.direction})")
    for row in table:
        mark = " ← best" if top is not None and row.folder == top.folder else ""
        shown.add_row(row.folder, row.state, *(_text(row.settings.get(k)) for k in keys),
                      _text(row.value) + mark, row.error)
    return shown


def rich_summary(table: list[TrialRow], spec: SweepSpec) -> list[Any]:
    """What `wgan-kit sweep` prints: the trials, the settings no trial finished, the best trial
    and, when there are seeds, the metric's mean ± standard deviation over them for each
    combination of the other settings (the missing ones included, as such)."""
    from rich.table import Table

    shown: list[Any] = [rich_table(table, spec)]
    missing = missing_settings(table, spec)
    shown += [f"no finished trial for {_settings_text(m['settings'])} ({_states_text(m)})"
              for m in missing]
    top = best(table, spec)
    if top is not None:
        among = " (among the settings that finished)" if missing else ""
        shown.append(f"best{among}: {top.folder} ({_settings_text(top.settings)}): "
                     f"{spec.sweep.metric} {_text(top.value)}")
    failed = sum(row.state == "failed" for row in table)
    if failed:
        shown.append(f"{failed} failed trial{'s' * (failed > 1)}: run the sweep again with "
                     "--retry-failed to retry")
    groups = spread_over_seeds(table)
    if spec.sweep.seeds and (groups or missing):
        spread = Table("settings", "seeds", f"{spec.sweep.metric} mean ± std",
                       title=f"over seeds {', '.join(map(str, spec.sweep.seeds))}")
        for group in groups:
            spread.add_row(_settings_text(group["settings"]), str(group["n"]),
                           f"{group['mean']:.4g} ± {group['std']:.3g}")
        for group in missing:
            spread.add_row(_settings_text(group["settings"]), "0",
                           f"missing: {_states_text(group)}")
        shown.append(spread)
    return shown


def _settings_text(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in settings.items()) or "the base settings"


def _states_text(missing: dict[str, Any]) -> str:
    return ", ".join(f"{n} {state}" for state, n in missing["trials"].items()) or "not started"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)
