"""From run results to the `recsys` section of metrics.json: summaries with CIs per run and segment,
paired deltas against real-only and against every control, per-seed deltas, the synthetic-only ratio
and the verdict (its rule and comparator choice: verdict.py). Pure arithmetic on per-user arrays: no
model is fitted here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthdata.evaluate.arms import ArmResult, Role, find
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.metrics import PER_USER_METRICS, coverage
from synthdata.evaluate.stats import StatsBatch
from synthdata.evaluate.verdict import (
    control_variants,
    segment_verdict,
    settled_by_real,
    stronger,
    variant_label,
)


def _batch(cfg: EvalConfig) -> StatsBatch:
    return StatsBatch(n_boot=cfg.n_bootstrap, n_perm=cfg.n_permutations, seed=cfg.seed)


def summaries(
    r: ArmResult,
    masks: dict[str, np.ndarray],
    n_catalogue: int,
    cfg: EvalConfig,
    batch: StatsBatch | None = None,
) -> dict[str, dict[str, Any]]:
    """Per segment: every per-user metric's mean with a CI, f1_of_means, coverage and n_users.

    With `batch` the CIs are only requested (filled by the caller's `batch.run()`, so a whole section
    shares one resampling pass per segment); without, they are computed here."""
    b = _batch(cfg) if batch is None else batch
    out: dict[str, dict[str, Any]] = {}
    for seg, m in masks.items():
        cols = {name: r.user[name][m] for name in PER_USER_METRICS}
        d: dict[str, Any] = {name: b.ci(v) for name, v in cols.items()}
        d["f1_of_means"] = b.f1_of_means(cols["precision"], cols["recall"])
        d["coverage"] = {"mean": coverage(r.recs[m], n_catalogue) if m.any() else float("nan")}
        d["n_users"] = int(m.sum())
        out[seg] = d
    if batch is None:
        b.run()
    return out


def deltas(
    base: ArmResult,
    run: ArmResult,
    masks: dict[str, np.ndarray],
    cfg: EvalConfig,
    batch: StatsBatch | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """run − base per user, paired: {segment: {metric: {mean, ci_low, ci_high, p_value}}}.

    `batch`: as in `summaries` (requested only, filled by the caller's `batch.run()`)."""
    b = _batch(cfg) if batch is None else batch
    out = {
        seg: {name: b.delta(base.user[name][m], run.user[name][m]) for name in PER_USER_METRICS}
        for seg, m in masks.items()
    }
    if batch is None:
        b.run()
    return out


def seed_deltas(
    base: ArmResult, run: ArmResult, masks: dict[str, np.ndarray]
) -> dict[str, dict[str, list[float]]]:
    """Per seed s: mean over the segment's users of run(seed s) − base(seed s)."""
    return {
        seg: {
            name: [
                float((b[name][m] - a[name][m]).mean()) if m.any() else float("nan")
                for a, b in zip(base.per_seed, run.per_seed, strict=True)
            ]
            for name in PER_USER_METRICS
        }
        for seg, m in masks.items()
    }


def _per_run(
    results: list[ArmResult],
    masks: dict[str, np.ndarray],
    n_catalogue: int,
    cfg: EvalConfig,
    batch: StatsBatch,
) -> dict:
    """Summaries per arm (controls under `control`), per-seed means, tuning tables and chosen α."""
    out: dict[str, Any] = {"control": {}}
    for r in results:
        if r.arm.at_augmented_alpha:
            continue  # only ever a comparator for the verdict
        s = summaries(r, masks, n_catalogue, cfg, batch)
        if r.role is Role.CONTROL:
            out["control"][r.arm.control] = s
        else:
            out[r.name] = s
    out["per_seed"] = {
        r.name: [{m: float(v.mean()) if v.size else float("nan") for m, v in p.items()} for p in r.per_seed]
        for r in results
    }
    out["tuning"] = {r.name: {"chosen": r.chosen.as_dict(), "grid": r.grid} for r in results}
    out["chosen_alpha"] = {r.name: r.chosen.alpha for r in results if r.chosen.alpha is not None}
    return out


def _versus(
    real: ArmResult,
    aug: ArmResult,
    results: list[ArmResult],
    masks: dict,
    cfg: EvalConfig,
    batch: StatsBatch,
) -> dict:
    """Paired deltas and per-seed deltas of the augmented arm against real-only and every control
    (per segment, the stronger variant of each control: verdict.stronger). The deltas are requested
    from `batch`: filled by the caller's `batch.run()`."""
    out: dict[str, Any] = {"delta_control": {}, "control_variant": {}}
    out["delta"] = deltas(real, aug, masks, cfg, batch)
    out["per_seed_delta"] = {"real": seed_deltas(real, aug, masks)}
    for c, variants in control_variants(results).items():
        dc, ps, which = {}, {}, {}
        for seg, m in masks.items():
            best = stronger(variants, m, cfg.tune_metric)
            dc[seg] = deltas(best, aug, {seg: m}, cfg, batch)[seg]
            ps[seg] = seed_deltas(best, aug, {seg: m})[seg]
            which[seg] = variant_label(best)
        out["delta_control"][c], out["per_seed_delta"][c], out["control_variant"][c] = dc, ps, which
    return out


def _verdict_metrics(cfg: EvalConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((cfg.tune_metric, "recall")))


def settled_segments(results: list[ArmResult], masks: dict, cfg: EvalConfig) -> dict[str, str | None]:
    """Per segment, the verdict the tests against real-only settle whatever the controls score
    (verdict.settled_by_real), or None. The same draws as the verdict's: a request's statistics depend
    only on its values, the seed and the number of users (stats.StatsBatch)."""
    real, aug = find(results, Role.REAL), find(results, Role.AUGMENTED)
    assert real is not None and aug is not None
    metrics = _verdict_metrics(cfg)
    vs_real = deltas(real, aug, masks, cfg)
    n_tests = (1 + len(control_variants(results))) * len(metrics)
    return {
        seg: settled_by_real(vs_real[seg], metrics=metrics, n_tests=n_tests, significance=cfg.significance)
        for seg in masks
    }


def _verdicts(out: dict[str, Any], aug: ArmResult, masks: dict, cfg: EvalConfig) -> None:
    """Fill out["verdict" | "verdict_code" | "verdict_detail"] per segment from the computed deltas."""
    metrics = _verdict_metrics(cfg)
    for seg in masks:
        vs = {"real": out["delta"][seg], **{c: d[seg] for c, d in out["delta_control"].items()}}
        ps = {c: d[seg] for c, d in out["per_seed_delta"].items()}
        v = segment_verdict(
            vs,
            ps,
            metrics=metrics,
            alpha=aug.chosen.alpha,
            seeds=cfg.seeds,
            significance=cfg.significance,
        )
        out["verdict"][seg] = v["verdict"]
        out["verdict_code"][seg] = v["code"]
        out["verdict_detail"][seg] = {"reason": v["reason"], "clause": v["clause"], "tests": v["tests"]}


def recsys_section(
    results: list[ArmResult], masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
) -> dict[str, Any]:
    """Every CI and paired test of the section is requested from one `StatsBatch` and computed in one
    resampling pass per segment size (they all draw the same resamples); the verdict reads them after."""
    real = find(results, Role.REAL)
    assert real is not None
    batch = _batch(cfg)
    out = _per_run(results, masks, n_catalogue, cfg, batch)
    out |= {"delta": {}, "delta_control": {}, "per_seed_delta": {}}
    out["verdict"], out["verdict_code"], out["verdict_detail"] = {}, {}, {}
    aug = find(results, Role.AUGMENTED)
    if aug is not None:
        out |= _versus(real, aug, results, masks, cfg, batch)
    so = find(results, Role.SYNTHETIC_ONLY)
    if so is not None:
        m = masks["all"]
        out["synthetic_only_ratio"] = {
            name: batch.ratio(so.user[name][m], real.user[name][m]) for name in PER_USER_METRICS
        }
    batch.run()
    if aug is not None:
        _verdicts(out, aug, masks, cfg)
    return out
