"""Side-by-side comparison of runs: metrics with CIs and deltas, config differences, plots.

Used by ``synthdata runs compare`` for the terminal table and the self-contained HTML report (plots
are embedded PNGs so the file can be mailed or attached to a ticket as is).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthdata.atomic import atomic_write_text
from synthdata.plotting import png_base64, pyplot
from synthdata.registry.records import MetricInfo, RunInfo

_MISSING = object()
VERDICT_PREFIX = "recsys.verdict_code."  # metrics.json stores the verdict as words and as 1 / 0 / -1
VERDICT_WORDS = {1.0: "helps", 0.0: "no-evidence", -1.0: "hurts"}
_FIRST = (
    VERDICT_PREFIX,
    "recsys.chosen_alpha.",
    "recsys.synthetic_only_ratio.",
    "recsys.delta_control.",
    "recsys.items.delta.",  # cold / head / tail items: augmented − real
)


def _order(key: str) -> tuple[int, str]:
    """Verdict rows first, then chosen α, synthetic-only ratio, deltas against controls and on item
    segments, then the rest."""
    return next((i for i, p in enumerate(_FIRST) if key.startswith(p)), len(_FIRST)), key


@dataclass(frozen=True)
class MetricRow:
    key: str
    values: list[MetricInfo | None]  # one per run, None when the run lacks the metric

    def delta(self, i: int) -> float | None:
        """Run i minus the first (baseline) run, when both have a value."""
        a, b = self.values[0], self.values[i]
        if a is None or b is None or a.value is None or b.value is None:
            return None
        return b.value - a.value

    @property
    def is_verdict(self) -> bool:
        return self.key.startswith(VERDICT_PREFIX)

    def delta_text(self, i: int) -> str:
        """Δ column text: verdict rows say whether the verdict changed, numbers show run − baseline."""
        if self.is_verdict:
            a, b = self.values[0], self.values[i]
            if a is None or b is None:
                return "—"
            return "same" if a.value == b.value else f"{fmt_value(a)} → {fmt_value(b)}"
        return fmt_delta(self.delta(i), self.significant(i))

    def significant(self, i: int) -> bool | None:
        """Whether run i's CI and the baseline's CI are disjoint (None without CIs on both)."""
        a, b = self.values[0], self.values[i]
        if a is None or b is None or None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
            return None
        return bool(b.ci_low > a.ci_high or b.ci_high < a.ci_low)  # type: ignore[operator]


@dataclass(frozen=True)
class Comparison:
    runs: list[RunInfo]
    metrics: list[MetricRow]
    config_diff: list[tuple[str, list[Any]]]  # key -> value per run (missing keys shown as None)
    config_same: int


def compare_runs(runs: list[RunInfo]) -> Comparison:
    keys = sorted({k for r in runs for k in r.metrics}, key=_order)
    metrics = [MetricRow(k, [r.metrics.get(k) for r in runs]) for k in keys]
    pkeys = sorted({k for r in runs for k in r.params})
    diff: list[tuple[str, list[Any]]] = []
    same = 0
    for k in pkeys:
        vals = [r.params.get(k, _MISSING) for r in runs]
        if all(
            json.dumps(v, sort_keys=True, default=str) == json.dumps(vals[0], sort_keys=True, default=str)
            for v in vals
        ):
            same += 1
        else:
            diff.append((k, [None if v is _MISSING else v for v in vals]))
    return Comparison(runs, metrics, diff, same)


def fmt_value(m: MetricInfo | None) -> str:
    if m is None or m.value is None:
        return "—"
    if m.key.startswith(VERDICT_PREFIX):
        return VERDICT_WORDS.get(m.value, f"{m.value:g}")
    s = f"{m.value:.4g}"
    if m.ci_low is not None and m.ci_high is not None:
        s += f" [{m.ci_low:.4g}, {m.ci_high:.4g}]"
    return s


def fmt_delta(d: float | None, sig: bool | None = None) -> str:
    if d is None:
        return "—"
    return f"{d:+.4g}" + ("*" if sig else "")


def plots(cmp: Comparison, max_metrics: int = 16) -> list[tuple[str, str]]:
    """(title, base64 PNG) pairs: metrics with CIs as grouped bars with error bars; stage durations."""
    plt = pyplot()
    out: list[tuple[str, str]] = []
    with_ci = [
        m
        for m in cmp.metrics
        if any(v is not None and v.ci_low is not None for v in m.values)
        and not m.key.startswith("recsys.per_seed")
    ]
    chosen = with_ci or [
        m for m in cmp.metrics if any(v is not None and v.value is not None for v in m.values)
    ]
    chosen = chosen[:max_metrics]
    n_runs = len(cmp.runs)
    if chosen:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(chosen) * n_runs / 2 + 3), 4.5))
        width = 0.8 / n_runs
        for j, run in enumerate(cmp.runs):
            xs, ys, lo, hi = [], [], [], []
            for i, m in enumerate(chosen):
                v = m.values[j]
                if v is None or v.value is None or not math.isfinite(v.value):
                    continue
                xs.append(i + (j - (n_runs - 1) / 2) * width)
                ys.append(v.value)
                lo.append(v.value - v.ci_low if v.ci_low is not None else 0.0)
                hi.append(v.ci_high - v.value if v.ci_high is not None else 0.0)
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=run.id)
        ax.set_xticks(range(len(chosen)), [m.key for m in chosen], rotation=60, ha="right", fontsize=7)
        ax.set_title("metrics (error bars: confidence intervals)")
        ax.legend(fontsize=7)
        out.append(("Metrics", png_base64(fig, dpi=110)))
    stage_names = list(dict.fromkeys(s.name for r in cmp.runs for s in r.stages))
    if stage_names:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / n_runs
        for j, run in enumerate(cmp.runs):
            dur = {s.name: s.duration_s or 0.0 for s in run.stages}
            ax.bar(
                [i + (j - (n_runs - 1) / 2) * width for i in range(len(stage_names))],
                [dur.get(s, 0.0) for s in stage_names],
                width,
                label=run.id,
            )
        ax.set_xticks(range(len(stage_names)), stage_names)
        ax.set_ylabel("seconds")
        ax.set_title("stage durations")
        ax.legend(fontsize=7)
        out.append(("Stage durations", png_base64(fig, dpi=110)))
    return out


def render_html(cmp: Comparison, path: str | Path) -> Path:
    """Write a self-contained HTML comparison (tables + embedded PNG plots)."""
    e = html.escape
    ids = [r.id for r in cmp.runs]
    head = "".join(f"<th>{e(i)}</th>" for i in ids)
    dhead = "".join(f"<th>Δ {e(i)}</th>" for i in ids[1:])
    rows = []
    for m in cmp.metrics:
        cells = "".join(f"<td>{e(fmt_value(v))}</td>" for v in m.values)
        deltas = "".join(f"<td>{e(m.delta_text(i))}</td>" for i in range(1, len(ids)))
        rows.append(f"<tr><td>{e(m.key)}</td>{cells}{deltas}</tr>")
    cfg = "".join(
        f"<tr><td>{e(k)}</td>" + "".join(f"<td>{e(json.dumps(v, default=str))}</td>" for v in vals) + "</tr>"
        for k, vals in cmp.config_diff
    )
    summary = "".join(
        f"<tr><td>{e(r.id)}</td><td>{e(r.name or '')}</td><td>{e(r.shown_status)}</td>"
        f"<td>{e(r.created_at.isoformat(timespec='seconds'))}</td><td>{e(r.run_dir or '')}</td></tr>"
        for r in cmp.runs
    )
    imgs = "".join(
        f"<h2>{e(t)}</h2><img alt='{e(t)}' src='data:image/png;base64,{b64}'>" for t, b64 in plots(cmp)
    )
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>synthdata run comparison</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}th{{background:#f3f3f3}}
img{{max-width:100%}}</style></head><body>
<h1>Run comparison</h1>
<table><tr><th>run</th><th>name</th><th>status</th><th>created (UTC)</th><th>directory</th></tr>
{summary}</table>
<h2>Metrics</h2><p>The verdict per segment comes first (helps / hurts / no-evidence: augmented vs real-only
and every negative control), then the chosen synthetic weight α, the synthetic-only ratio and the deltas
against the controls. Values with confidence intervals; Δ is each run minus the first ({e(ids[0])});
* marks disjoint intervals.</p>
<table><tr><th>metric</th>{head}{dhead}</tr>{"".join(rows)}</table>
<h2>Config differences</h2><p>{len(cmp.config_diff)} differing keys, {cmp.config_same} identical.</p>
<table><tr><th>key</th>{head}</tr>{cfg}</table>
{imgs}
</body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, doc)
