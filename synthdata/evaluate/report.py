"""Human-facing output: a self-contained HTML report (PNG plots embedded as base64) and a rich table.

The HTML needs no network or external files, so it can be attached to a ticket or archived with a run.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.evaluate.plots import column_overlays, delta_plot, metric_bars, popularity_curves
from synthdata.evaluate.terminal import HEADLINE, run_view, summary_table, verdict_line
from synthdata.evaluate.verdict import CLAUSES, COMPARATOR, HURTS
from synthdata.schema import Schema

__all__ = ["json_safe", "summary_table", "verdict_line", "write_html", "write_metrics_json"]


def json_safe(x: Any) -> Any:
    """NaN/inf -> null and numpy scalars -> Python: metrics.json must be strict JSON for other tools."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if hasattr(x, "item") and not isinstance(x, str):  # numpy scalars
        return json_safe(x.item())
    return x


def write_metrics_json(metrics: dict[str, Any], path: str | Path) -> Path:
    """The one writer of metrics.json (CLI and pipeline alike): strict JSON, stable key order."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(json_safe(metrics), indent=1, sort_keys=True), encoding="utf-8")
    return p


def _fmt(v: Any) -> str:
    if v is None:
        return "nan"
    if isinstance(v, float):
        return "nan" if np.isnan(v) else f"{v:.4f}"
    return html.escape(str(v))


def _ci(d: dict) -> str:
    return (
        f"{_fmt(d['mean'])} [{_fmt(d.get('ci_low', float('nan')))}, {_fmt(d.get('ci_high', float('nan')))}]"
    )


def _verdict_table(metrics: dict[str, Any]) -> str:
    rec = metrics["recsys"]
    detail = rec.get("verdict_detail", {})
    rows = []
    for seg, v in rec.get("verdict", {}).items():
        tests = "; ".join(
            f"vs {t['vs']} {t['metric']} {_fmt(t['mean'])} [{_fmt(t['ci_low'])}, {_fmt(t['ci_high'])}] "
            f"p_holm={_fmt(t['p_holm'])}"
            for t in detail.get(seg, {}).get("tests", [])
        )
        reason = html.escape(detail.get(seg, {}).get("reason", ""))
        rows.append(
            f"<tr><td>{seg}</td><td><b>{html.escape(v)}</b></td><td>{reason}</td><td>{tests}</td></tr>"
        )
    if not rows:
        return "<p><b>verdict: no-evidence</b> (no synthetic rows were scored)</p>"
    return (
        "<table><tr><th>segment</th><th>verdict</th><th>why</th>"
        "<th>augmented − comparator (95% CI, Holm p)</th></tr>" + "".join(rows) + "</table>"
    )


def _rule() -> str:
    """The verdict rule, rendered from the constants the code decides with (verdict.py)."""
    items = "".join(f"<li>{html.escape(c.text)} (<code>{c.key}</code>)</li>" for c in CLAUSES)
    return (
        f"<details><summary>How the verdict is decided</summary><p><b>helps</b> needs all of:</p><ol>{items}"
        f"</ol><p><b>hurts</b>: {html.escape(HURTS.text)}. Anything else is <b>no-evidence</b>; the "
        f"<i>why</i> column names the first clause that failed.</p><p>{html.escape(COMPARATOR)}</p></details>"
    )


def _recsys_table(metrics: dict[str, Any]) -> str:
    rec = metrics["recsys"]
    view = run_view(rec)
    runs = list(view)
    rows = []
    names = [*HEADLINE, "f1_of_means", "map", "hitrate"]
    for seg in ("all", "cold", "warm"):
        for m in names:
            key = f"recsys.&lt;run&gt;.{seg}.{m}"
            cells = "".join(f"<td title='recsys.{r}.{seg}.{m}'>{_ci(view[r][seg][m])}</td>" for r in runs)
            dd = rec.get("delta", {}).get(seg, {}).get(m)
            dcell = (
                f"<td title='recsys.delta.{seg}.{m}'>{_ci(dd)} p={_fmt(dd['p_value'])}</td>"
                if dd
                else "<td>–</td>"
            )
            rows.append(f"<tr><td>{seg}</td><td>{m}</td><td><code>{key}</code></td>{cells}{dcell}</tr>")
        cov = "".join(f"<td>{_fmt(view[r][seg]['coverage']['mean'])}</td>" for r in runs)
        rows.append(f"<tr><td>{seg}</td><td>coverage</td><td></td>{cov}<td></td></tr>")
    head = "".join(f"<th>{r}</th>" for r in runs)
    return (
        f"<table><tr><th>segment</th><th>metric</th><th>key</th>{head}<th>delta (augmented − real)</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _items_table(metrics: dict[str, Any]) -> str:
    """Cold / head / tail items: recall, share of recommendations, coverage per run, augmented − real."""
    items = metrics["recsys"].get("items")
    if not items:
        return ""
    summary, delta = items["summary"], items.get("delta", {}).get("real", {})
    runs = list(summary)
    rows = []
    for seg, n in items.get("n_items", {}).items():
        for m in ("recall", "rec_share", "coverage"):
            cells = "".join(
                f"<td title='recsys.items.summary.{r}.{seg}.{m}'>"
                + (_ci(summary[r][seg][m]) if m != "coverage" else _fmt(summary[r][seg][m]["mean"]))
                + "</td>"
                for r in runs
            )
            d = delta.get(seg, {}).get(m)
            dcell = f"<td>{_ci(d)} p={_fmt(d['p_value'])}</td>" if d else "<td>–</td>"
            rows.append(f"<tr><td>{seg} ({n} items)</td><td>{m}</td>{cells}{dcell}</tr>")
    head = "".join(f"<th>{html.escape(r)}</th>" for r in runs)
    seg = items.get("segments", {})
    return (
        f"<h2>Item segments</h2><p>{html.escape(str(seg.get('definition', '')))} (cold: ≤ "
        f"{seg.get('cold_item_threshold')} positives). rec_share: share of the top-k slots; the popularity "
        "bias a synthetic data set adds or removes shows in head vs tail.</p>"
        f"<table><tr><th>items</th><th>metric</th>{head}<th>Δ augmented − real</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _leak_warning(metrics: dict[str, Any]) -> str:
    leak = metrics.get("leakage", {})
    if not leak.get("warning"):
        return ""
    return f"<p style='color:#b00;font-weight:bold'>WARNING: {html.escape(leak['note'])}</p>"


def _ratio_table(metrics: dict[str, Any]) -> str:
    ratio = metrics["recsys"].get("synthetic_only_ratio")
    if not ratio:
        return ""
    cells = "".join(f"<tr><td>{m}</td><td>{_ci(v)}</td></tr>" for m, v in ratio.items())
    proto = metrics["recsys"].get("synthetic_only_protocol", "same-ids")
    how = (
        "ALS trained on the virtual users alone; each real user's factors recomputed from its own training "
        "rows (fold-in)"
        if proto == "fold-in"
        else "synthetic rows keep real user ids (same-ids)"
    )
    return (
        "<h2>Synthetic-only utility</h2><p>A recommender trained on the synthetic rows alone, tuned the same "
        f"way, scored on the real test split; ratio to the real-only model (all users, 95% CI). Protocol: "
        f"{how}.</p>"
        f"<table><tr><th>metric</th><th>synthetic_only / real</th></tr>{cells}</table>"
    )


def _flat_table(d: dict[str, Any], prefix: str) -> str:
    rows = []

    def walk(x: Any, path: str) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}.{k}")
        elif not isinstance(x, list):
            rows.append(f"<tr><td><code>{html.escape(path)}</code></td><td>{_fmt(x)}</td></tr>")

    walk({k: v for k, v in d.items() if k not in ("columns", "pairs")}, prefix)
    return "<table>" + "".join(rows) + "</table>"


def write_html(
    metrics: dict[str, Any],
    path: str | Path,
    *,
    train: pd.DataFrame | None = None,
    synthetic: pd.DataFrame | None = None,
    schema: Schema | None = None,
) -> Path:
    """Write the report; plots of the data itself need `train`, `synthetic` and `schema`."""
    k = int(metrics.get("config", {}).get("k", 10))
    images: list[tuple[str, str | None]] = [
        ("Ranking metrics per segment (95% CI)", metric_bars(metrics, k)),
        ("Paired difference augmented − real", delta_plot(metrics)),
    ]
    if train is not None and synthetic is not None and schema is not None and len(synthetic):
        images.append(
            ("Per-column distributions, real train vs synthetic", column_overlays(train, synthetic, schema))
        )
        images.append(("Popularity and activity curves", popularity_curves(train, synthetic, schema)))
    defs = "".join(
        f"<li><b>{html.escape(k_)}</b>: {html.escape(v)}</li>"
        for k_, v in metrics.get("definitions", {}).items()
    )
    tuning = html.escape(
        json.dumps({r: t["chosen"] for r, t in metrics["recsys"].get("tuning", {}).items()}, indent=1)
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>synthdata evaluation</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}code{font-size:11px}</style>",
        "</head><body>",
        "<h1>synthdata evaluation: real vs real + synthetic</h1>",
        f"<h2>Verdict</h2><p>{html.escape(verdict_line(metrics))}.</p>",
        _leak_warning(metrics),
        _verdict_table(metrics),
        _rule(),
        _ratio_table(metrics),
        "<p>Each cell: mean over users with ≥1 test positive [95% bootstrap CI]. <b>f1</b> is per-user F1 "
        "averaged over users; <b>f1_of_means</b> is the F1 of the averaged precision and recall. The delta "
        "column is the paired per-user difference augmented − real with its CI and sign-flip permutation "
        "p-value; a CI that straddles 0 means no demonstrated effect.</p>",
        _recsys_table(metrics),
        _items_table(metrics),
    ]
    for title, img in images:
        if img:
            t = html.escape(title)
            parts.append(f"<h2>{t}</h2><img alt='{t}' src='data:image/png;base64,{img}'>")
    if "fidelity" in metrics:
        parts.append("<h2>Fidelity</h2>" + _flat_table(metrics["fidelity"], "fidelity"))
    if "privacy" in metrics:
        parts.append("<h2>Privacy</h2>" + _flat_table(metrics["privacy"], "privacy"))
    parts.append(f"<h2>Chosen hyperparameters</h2><pre>{tuning}</pre>")
    parts.append("<h2>Data</h2>" + _flat_table(metrics.get("data", {}), "data"))
    parts.append("<h2>Timings (s)</h2>" + _flat_table(metrics.get("timings_s", {}), "timings_s"))
    parts.append(f"<h2>Definitions</h2><ul>{defs}</ul></body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join(parts), encoding="utf-8")
    return p
