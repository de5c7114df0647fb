"""A sweep's HTML page: the metric against each varied setting, the trials table, and the best
trials' curves and latest samples (drawn with `wgan-kit report`'s building blocks)."""

from __future__ import annotations

import html
from pathlib import Path

from wgan_kit import WganKitError

from .internals import (
    STYLE,
    RunFolder,
    curve_png,
    figure,
    img_tag,
    plain_text,
    png_bytes,
    read_metrics,
)
from .spec import EVAL_PREFIX, SweepSpec
from .table import TrialRow, best, missing_settings

BEST_SHOWN = 3


@plain_text  # a setting's values are the user's strings: `$` or `_` must not become mathtext
def metric_against_setting_png(table: list[TrialRow], spec: SweepSpec, key: str) -> bytes:
    """One point per complete trial; categorical values are spread evenly along the axis."""
    done = [row for row in table if row.value is not None and key in row.settings]
    values = [row.settings[key] for row in done]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    labels = sorted(set(map(str, values)))
    drawn, axes = figure()
    xs = values if numeric else [labels.index(str(v)) for v in values]
    axes.scatter(xs, [row.value for row in done], color="tab:blue")
    if not numeric:
        axes.set_xticks(range(len(labels)), labels)
    elif values and min(values) > 0 and max(values) / min(values) >= 100:
        axes.set_xscale("log")
    axes.set(title=f"{spec.sweep.metric} against {key}", xlabel=key, ylabel=spec.sweep.metric)
    axes.grid(alpha=0.3)
    drawn.tight_layout()
    return png_bytes(drawn)


def render(table: list[TrialRow], spec: SweepSpec, out: Path) -> str:
    keys = list(spec.axes)
    top = best(table, spec)
    ranked = sorted((r for r in table if r.value is not None), key=lambda r: r.value or 0.0,
                    reverse=spec.sweep.direction == "maximize")[:BEST_SHOWN]
    plots = "".join(img_tag(metric_against_setting_png(table, spec, key),
                            f"{spec.sweep.metric} against {key}") for key in keys)
    header = "".join(f"<th>{html.escape(k)}</th>" for k in
                     ("trial", "state", *keys, spec.sweep.metric, "note"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in (
            row.folder + (" (best)" if top and row.folder == top.folder else ""), row.state,
            *(str(row.settings.get(k, "")) for k in keys),
            "" if row.value is None else f"{row.value:.4g}", row.error)) + "</tr>"
        for row in table)
    curves = curve_png([(r.folder, read_metrics(RunFolder(out / r.folder))) for r in ranked],
                       ("wasserstein",), "step", "Best trials: Wasserstein estimate", "estimate")
    samples = ""
    for row in ranked:
        pictures = sorted((out / row.folder / "samples").glob("step-*.png"))
        if pictures:
            samples += img_tag(pictures[-1].read_bytes(), f"{row.folder}: latest samples")
    title = f"wgan-kit sweep {spec.sweep.name}: {spec.sweep.metric} ({spec.sweep.direction})"
    notes = "".join(
        "<p class=note>no finished trial for " + html.escape(", ".join(
            f"{k}={v}" for k, v in m["settings"].items()) or "the base settings") + " ("
        + html.escape(", ".join(f"{n} {state}" for state, n in m["trials"].items())) + ")</p>"
        for m in missing_settings(table, spec))
    if spec.sweep.metric.startswith(EVAL_PREFIX):
        notes += (f"<p>{html.escape(spec.sweep.metric)}: on {spec.sweep.eval_n:,} generated "
                  f"samples per trial, as <code>wgan-kit eval TRIAL --n {spec.sweep.eval_n}"
                  "</code> gives</p>")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<h2>Metric against each setting</h2>{plots}"
            f"<h2>Trials</h2><table><tr>{header}</tr>{body}</table>{notes}"
            f"<h2>Best trials</h2>{img_tag(curves, 'curves') if curves else ''}<div>{samples}</div>"
            "</body></html>\n")


def write_sweep_report(table: list[TrialRow], spec: SweepSpec, out: Path, page: Path) -> Path:
    """The page about the sweep in folder `out`, written to `page` (*.html)."""
    if page.suffix.lower() not in (".html", ".htm"):
        raise WganKitError(f"--out {page}: a report is an HTML page; name it *.html")
    page.write_text(render(table, spec, out), encoding="utf-8")
    return page
