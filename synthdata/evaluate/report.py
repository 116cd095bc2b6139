"""Human-facing output: a self-contained HTML report (PNG plots embedded as base64) and a rich table.

The HTML needs no network or external files, so it can be attached to a ticket or archived with a run.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.schema import DType, Schema

RUNS = ("real", "augmented", "synthetic_only", "popularity")
CONTROL_RUNS = ("control.popularity", "control.uniform", "control.shuffled")
HEADLINE = ("precision", "recall", "f1", "ndcg")
_NS_PER_YEAR = 365.2425 * 86_400 * 1e9
COLOURS = {
    "real": "#4c72b0",
    "augmented": "#dd8452",
    "synthetic_only": "#55a868",
    "popularity": "#8c8c8c",
    "synthetic": "#dd8452",
    "control.popularity": "#c9c9c9",
    "control.uniform": "#b0b0b0",
    "control.shuffled": "#d8b4a0",
}


def run_view(rec: dict[str, Any]) -> dict[str, dict]:
    """Every scored run by display name: real, augmented, control.<name>, synthetic-only, popularity."""
    out = {r: rec[r] for r in ("real", "augmented") if r in rec}
    out.update({f"control.{c}": v for c, v in rec.get("control", {}).items()})
    out.update({r: rec[r] for r in ("synthetic_only", "popularity") if r in rec})
    return out


def verdict_line(metrics: dict[str, Any]) -> str:
    """`verdict: all=no-evidence, cold=…, warm=…  (α chosen …)` — what the terminal shows first."""
    rec = metrics["recsys"]
    v = rec.get("verdict") or {}
    if not v:
        return "verdict: no-evidence (no synthetic rows were scored)"
    alpha = rec.get("chosen_alpha", {}).get("augmented")
    parts = ", ".join(f"{seg}={v[seg]}" for seg in v)
    return f"verdict: {parts}  (chosen α = {alpha}; seeds = {metrics.get('config', {}).get('seeds')})"


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


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def metric_bars(metrics: dict[str, Any], k: int) -> str:
    """Real vs augmented (vs popularity) per segment, whiskers = 95% bootstrap CI."""
    plt = _plt()
    rec = metrics["recsys"]
    view = run_view(rec)
    runs = list(view)
    segs = [s for s in ("all", "cold", "warm") if s in rec["real"]]
    fig, axes = plt.subplots(1, len(segs), figsize=(5.6 * len(segs), 3.8), sharey=True, squeeze=False)
    width = 0.8 / len(runs)
    x = np.arange(len(HEADLINE))
    for ax, seg in zip(axes[0], segs, strict=True):
        for j, run in enumerate(runs):
            d = view[run][seg]
            mean = np.array([_num(d[m]["mean"]) for m in HEADLINE])
            err = np.array(
                [
                    [mean[i] - _num(d[m]["ci_low"]), _num(d[m]["ci_high"]) - mean[i]]
                    for i, m in enumerate(HEADLINE)
                ]
            ).T
            ax.bar(
                x + (j - (len(runs) - 1) / 2) * width,
                mean,
                width,
                yerr=np.nan_to_num(err),
                capsize=3,
                label=run,
                color=COLOURS.get(run, "#999999"),
                hatch="//" if run.startswith("control.") else None,
            )
        ax.set_xticks(x, [f"{m}@{k}" for m in HEADLINE], fontsize=8)
        ax.set_title(f"{seg} (n={rec['real'][seg]['n_users']} users)")
    axes[0][0].legend(fontsize=8)
    return _png(fig)


def delta_plot(metrics: dict[str, Any]) -> str | None:
    plt = _plt()
    delta = metrics["recsys"].get("delta") or {}
    if not delta:
        return None
    segs = list(delta)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for j, seg in enumerate(segs):
        xs = np.arange(len(HEADLINE)) + (j - (len(segs) - 1) / 2) * 0.25
        mean = np.array([_num(delta[seg][m]["mean"]) for m in HEADLINE])
        lo = np.array([_num(delta[seg][m]["ci_low"]) for m in HEADLINE])
        hi = np.array([_num(delta[seg][m]["ci_high"]) for m in HEADLINE])
        ax.errorbar(xs, mean, yerr=np.nan_to_num([mean - lo, hi - mean]), fmt="o", capsize=3, label=seg)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(HEADLINE)), HEADLINE)
    ax.set_title("augmented − real (paired, 95% CI)")
    ax.legend(fontsize=8)
    return _png(fig)


def column_overlays(
    real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, max_columns: int = 12
) -> str | None:
    """Per-column real vs synthetic distributions: histograms for numbers/dates, bars for categories."""
    from synthdata.evaluate.fidelity import _numeric, split_columns

    plt = _plt()
    numeric, categorical = split_columns(schema, real, synthetic)
    flags = [c for c in categorical if schema.column(c).dtype == DType.BOOL]  # least telling: shown last
    cols = (numeric + [c for c in categorical if c not in flags] + flags)[:max_columns]
    if not cols:
        return None
    ncol = 3
    nrow = int(np.ceil(len(cols) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax in axes.ravel()[len(cols) :]:
        ax.axis("off")
    for ax, c in zip(axes.ravel(), cols, strict=False):
        if c in numeric:
            r, s = _numeric(real[c]), _numeric(synthetic[c])
            r, s = r[~np.isnan(r)], s[~np.isnan(s)]
            if r.size == 0:
                continue
            if pd.api.types.is_datetime64_any_dtype(real[c]):  # ns since epoch → fractional year
                r, s = 1970 + r / _NS_PER_YEAR, 1970 + s / _NS_PER_YEAR
                c = f"{c} (year)"
            bins = np.histogram_bin_edges(np.concatenate([r, s]), bins=30)
            ax.hist(r, bins=bins, density=True, alpha=0.55, label="real", color=COLOURS["real"])
            ax.hist(s, bins=bins, density=True, alpha=0.55, label="synthetic", color=COLOURS["synthetic"])
            ax.locator_params(axis="x", nbins=5)
            ax.tick_params(axis="x", labelsize=7)
        else:
            fr = real[c].astype(str).value_counts(normalize=True)
            fs = synthetic[c].astype(str).value_counts(normalize=True)
            top = fr.index[:15]
            xs = np.arange(len(top))
            ax.bar(xs - 0.2, fr.reindex(top).to_numpy(), 0.4, label="real", color=COLOURS["real"])
            ax.bar(
                xs + 0.2,
                fs.reindex(top, fill_value=0).to_numpy(),
                0.4,
                label="synthetic",
                color=COLOURS["synthetic"],
            )
            ax.set_xticks(xs, [str(t)[:10] for t in top], rotation=60, fontsize=7)
        ax.set_title(c, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def popularity_curves(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> str:
    """Sorted item popularity and user activity (share of rows, log scale): long tails side by side."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, col, what in (
        (axes[0], schema.item_col, "item popularity"),
        (axes[1], schema.user_col, "user activity"),
    ):
        for name, df in (("real", real), ("synthetic", synthetic)):
            if len(df) == 0:
                continue
            share = np.sort(df[col].value_counts(normalize=True).to_numpy())[::-1]
            ax.plot(np.arange(1, share.size + 1), share, label=name, color=COLOURS[name])
        ax.set_yscale("log")
        ax.set_xlabel("rank")
        ax.set_ylabel("share of rows")
        ax.set_title(what)
        ax.legend(fontsize=8)
    return _png(fig)


def _num(v: Any) -> float:
    """metrics.json stores NaN as null (strict JSON): read both back as NaN."""
    return float("nan") if v is None else float(v)


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
        "<th>augmented − comparator (95% CI, Holm p)</th></tr>"
        + "".join(rows)
        + "</table>"
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


def _ratio_table(metrics: dict[str, Any]) -> str:
    ratio = metrics["recsys"].get("synthetic_only_ratio")
    if not ratio:
        return ""
    cells = "".join(f"<tr><td>{m}</td><td>{_ci(v)}</td></tr>" for m, v in ratio.items())
    return (
        "<h2>Synthetic-only utility</h2><p>A recommender trained on the synthetic rows alone, tuned the same "
        "way, scored on the real test split; ratio to the real-only model (all users, 95% CI).</p>"
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
        f"<h2>Verdict</h2><p>{html.escape(verdict_line(metrics))}. <b>helps</b> needs the augmented model "
        "above "
        "real-only AND above every negative control (popularity / uniform / shuffled items) with CIs above 0 "
        "and Holm-corrected p-values, on every seed.</p>",
        _verdict_table(metrics),
        _ratio_table(metrics),
        "<p>Each cell: mean over users with ≥1 test positive [95% bootstrap CI]. <b>f1</b> is per-user F1 "
        "averaged over users; <b>f1_of_means</b> is the F1 of the averaged precision and recall. The delta "
        "column is the paired per-user difference augmented − real with its CI and sign-flip permutation "
        "p-value; a CI that straddles 0 means no demonstrated effect.</p>",
        _recsys_table(metrics),
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


def _ci_text(d: dict, sign: str) -> str:
    f = f"{{:{sign}.4f}}"
    return f"{f.format(_num(d['mean']))} [{f.format(_num(d['ci_low']))}, {f.format(_num(d['ci_high']))}]"


def summary_table(metrics: dict[str, Any]):
    """Rich table: the verdict first, then headline metrics per segment for every run, and the deltas."""
    from rich.table import Table

    k = metrics.get("config", {}).get("k", 10)
    rec = metrics["recsys"]
    view = run_view(rec)
    runs = list(view)
    t = Table(
        title=f"{verdict_line(metrics)}\n"
        f"Recommender quality @{k} (mean [95% CI] over users with test positives)"
    )
    t.add_column("segment")
    t.add_column("metric")
    for r in runs:
        t.add_column(r.replace("control.", "ctl."), justify="right")
    t.add_column("Δ aug − real (p)", justify="right")
    t.add_column("Δ aug − best ctl", justify="right")
    for seg in ("all", "cold", "warm"):
        verdict = rec.get("verdict", {}).get(seg, "–")
        for m in (*HEADLINE, "f1_of_means"):
            cells = [_ci_text(view[r][seg][m], "") for r in runs]
            dd = rec.get("delta", {}).get(seg, {}).get(m)
            dcell = f"{_ci_text(dd, '+')} ({_num(dd['p_value']):.3f})" if dd else "–"
            dcs = [d[seg][m] for d in rec.get("delta_control", {}).values() if m in d.get(seg, {})]
            ccell = _ci_text(min(dcs, key=lambda d: _num(d["mean"])), "+") if dcs else "–"
            label = {
                "precision": f"{seg} (n={rec['real'][seg]['n_users']})",
                "recall": f"verdict: {verdict}",
            }.get(m, "")
            t.add_row(label, m, *cells, dcell, ccell)
        t.add_section()
    return t
