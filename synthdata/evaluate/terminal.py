"""Terminal output: the verdict line and the rich summary table (verdict first, then every run)."""

from __future__ import annotations

from typing import Any

RUNS = ("real", "augmented", "synthetic_only", "popularity")
CONTROL_RUNS = ("control.popularity", "control.uniform", "control.shuffled")
HEADLINE = ("precision", "recall", "f1", "ndcg")
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


def metric_number(v: Any) -> float:
    """metrics.json stores NaN as null (strict JSON): read both back as NaN."""
    return float("nan") if v is None else float(v)


def _ci_text(d: dict, sign: str) -> str:
    f = f"{{:{sign}.4f}}"
    mean, low, high = (f.format(metric_number(d[k])) for k in ("mean", "ci_low", "ci_high"))
    return f"{mean} [{low}, {high}]"


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
            dcell = f"{_ci_text(dd, '+')} ({metric_number(dd['p_value']):.3f})" if dd else "–"
            dcs = [d[seg][m] for d in rec.get("delta_control", {}).values() if m in d.get(seg, {})]
            ccell = _ci_text(min(dcs, key=lambda d: metric_number(d["mean"])), "+") if dcs else "–"
            label = {
                "precision": f"{seg} (n={rec['real'][seg]['n_users']})",
                "recall": f"verdict: {verdict}",
            }.get(m, "")
            t.add_row(label, m, *cells, dcell, ccell)
        t.add_section()
    return t


def verdict_table(metrics: dict[str, Any]):
    """Compact rich table: per segment the verdict and the tune metric of every run (controls included)."""
    from rich.table import Table

    from synthdata.evaluate.verdict import MIN_SEEDS_FOR_HELPS

    cfg = metrics.get("config", {})
    metric = cfg.get("tune_metric", "ndcg")
    rec = metrics["recsys"]
    view = run_view(rec)
    seeds = cfg.get("seeds", 0)
    few = seeds < MIN_SEEDS_FOR_HELPS
    note = f" — {seeds} seed(s): `helps` needs ≥ {MIN_SEEDS_FOR_HELPS}" if few else ""
    t = Table(title=f"{verdict_line(metrics)}{note}\n{metric}@{cfg.get('k', 10)} per run (mean)")
    t.add_column("segment")
    t.add_column("verdict")
    for r in view:
        t.add_column(r.replace("control.", "ctl."), justify="right")
    for seg in ("all", "cold", "warm"):
        cells = [f"{metric_number(view[r][seg][metric]['mean']):.4f}" for r in view]
        t.add_row(seg, rec.get("verdict", {}).get(seg, "–"), *cells)
    return t


ITEM_ROWS = (("recall", "recall"), ("rec_share", "share of top-k"), ("coverage", "coverage"))


def item_table(metrics: dict[str, Any]):
    """Rich table of the item segments (cold items, head, tail): recall of their test pairs, the share of
    recommendations they get and their coverage, per run, with augmented − real; None when absent."""
    from rich.table import Table

    items = metrics["recsys"].get("items")
    if not items:
        return None
    summary = items["summary"]
    runs = [r for r in ("real", "augmented", "synthetic_only", "popularity") if r in summary]
    runs += [r for r in summary if r.startswith("control.")]
    seg_cfg = items.get("segments", {})
    t = Table(
        title=f"Item segments (cold items: ≤ {seg_cfg.get('cold_item_threshold')} training positives; "
        f"head: items holding {seg_cfg.get('long_tail_share')} of positives; first seed)"
    )
    for c in ("items", "metric", *(r.replace("control.", "ctl.") for r in runs), "Δ aug − real (p)"):
        t.add_column(c, justify="left" if c in ("items", "metric") else "right")
    for seg, n in items.get("n_items", {}).items():
        for m, label in ITEM_ROWS:
            cells = [
                _ci_text(summary[r][seg][m], "")
                if m != "coverage"
                else f"{metric_number(summary[r][seg][m]['mean']):.4f}"
                for r in runs
            ]
            d = items.get("delta", {}).get("real", {}).get(seg, {}).get(m)
            dcell = f"{_ci_text(d, '+')} ({metric_number(d['p_value']):.3f})" if d else "–"
            t.add_row(f"{seg} (n={n})" if m == "recall" else "", label, *cells, dcell)
        t.add_section()
    return t
