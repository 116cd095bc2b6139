"""Report plots as base64 PNGs: runs (controls as hatched extra bars) per segment, paired deltas,
per-column distributions and popularity curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.evaluate.terminal import COLOURS, HEADLINE, metric_number, run_view
from synthdata.plotting import png_base64, pyplot
from synthdata.schema import DType, Schema

_NS_PER_YEAR = 365.2425 * 86_400 * 1e9


def metric_bars(metrics: dict[str, Any], k: int) -> str:
    """Real vs augmented (vs popularity) per segment, whiskers = 95% bootstrap CI."""
    plt = pyplot()
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
            mean = np.array([metric_number(d[m]["mean"]) for m in HEADLINE])
            err = np.array(
                [
                    [mean[i] - metric_number(d[m]["ci_low"]), metric_number(d[m]["ci_high"]) - mean[i]]
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
    return png_base64(fig, dpi=90)


def delta_plot(metrics: dict[str, Any]) -> str | None:
    plt = pyplot()
    delta = metrics["recsys"].get("delta") or {}
    if not delta:
        return None
    segs = list(delta)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for j, seg in enumerate(segs):
        xs = np.arange(len(HEADLINE)) + (j - (len(segs) - 1) / 2) * 0.25
        mean = np.array([metric_number(delta[seg][m]["mean"]) for m in HEADLINE])
        lo = np.array([metric_number(delta[seg][m]["ci_low"]) for m in HEADLINE])
        hi = np.array([metric_number(delta[seg][m]["ci_high"]) for m in HEADLINE])
        ax.errorbar(xs, mean, yerr=np.nan_to_num([mean - lo, hi - mean]), fmt="o", capsize=3, label=seg)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(HEADLINE)), HEADLINE)
    ax.set_title("augmented − real (paired, 95% CI)")
    ax.legend(fontsize=8)
    return png_base64(fig, dpi=90)


def column_overlays(
    real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, max_columns: int = 12
) -> str | None:
    """Per-column real vs synthetic distributions: histograms for numbers/dates, bars for categories."""
    from synthdata.evaluate.fidelity import _numeric, split_columns

    plt = pyplot()
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
            if is_datetime(real[c]):  # ns since epoch → fractional year
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
    return png_base64(fig, dpi=90)


def popularity_curves(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> str:
    """Sorted item popularity and user activity (share of rows, log scale): long tails side by side."""
    plt = pyplot()
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
    return png_base64(fig, dpi=90)
