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
from synthdata.evaluate.stats import bootstrap_ci, bootstrap_f1_of_means, paired_delta, ratio_ci
from synthdata.evaluate.verdict import control_variants, segment_verdict, stronger, variant_label


def summaries(
    r: ArmResult, masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for seg, m in masks.items():
        d: dict[str, Any] = {
            name: bootstrap_ci(r.user[name][m], n_boot=cfg.n_bootstrap, seed=cfg.seed)
            for name in PER_USER_METRICS
        }
        d["f1_of_means"] = bootstrap_f1_of_means(
            r.user["precision"][m], r.user["recall"][m], n_boot=cfg.n_bootstrap, seed=cfg.seed
        )
        d["coverage"] = {"mean": coverage(r.recs[m], n_catalogue) if m.any() else float("nan")}
        d["n_users"] = int(m.sum())
        out[seg] = d
    return out


def deltas(
    base: ArmResult, run: ArmResult, masks: dict[str, np.ndarray], cfg: EvalConfig
) -> dict[str, dict[str, dict[str, float]]]:
    """run − base per user, paired: {segment: {metric: {mean, ci_low, ci_high, p_value}}}."""
    return {
        seg: {
            name: paired_delta(
                base.user[name][m],
                run.user[name][m],
                n_boot=cfg.n_bootstrap,
                n_perm=cfg.n_permutations,
                seed=cfg.seed,
            )
            for name in PER_USER_METRICS
        }
        for seg, m in masks.items()
    }


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
    results: list[ArmResult], masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
) -> dict:
    """Summaries per arm (controls under `control`), per-seed means, tuning tables and chosen α."""
    out: dict[str, Any] = {"control": {}}
    for r in results:
        if r.arm.at_augmented_alpha:
            continue  # only ever a comparator for the verdict
        s = summaries(r, masks, n_catalogue, cfg)
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


def _versus(real: ArmResult, aug: ArmResult, results: list[ArmResult], masks: dict, cfg: EvalConfig) -> dict:
    """Paired deltas and per-seed deltas of the augmented arm against real-only and every control
    (per segment, the stronger variant of each control: verdict.stronger)."""
    out: dict[str, Any] = {"delta_control": {}, "control_variant": {}}
    out["delta"] = deltas(real, aug, masks, cfg)
    out["per_seed_delta"] = {"real": seed_deltas(real, aug, masks)}
    for c, variants in control_variants(results).items():
        dc, ps, which = {}, {}, {}
        for seg, m in masks.items():
            best = stronger(variants, m, cfg.tune_metric)
            dc[seg] = deltas(best, aug, {seg: m}, cfg)[seg]
            ps[seg] = seed_deltas(best, aug, {seg: m})[seg]
            which[seg] = variant_label(best)
        out["delta_control"][c], out["per_seed_delta"][c], out["control_variant"][c] = dc, ps, which
    return out


def recsys_section(
    results: list[ArmResult], masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
) -> dict[str, Any]:
    real = find(results, Role.REAL)
    assert real is not None
    out = _per_run(results, masks, n_catalogue, cfg)
    out |= {"delta": {}, "delta_control": {}, "per_seed_delta": {}}
    out["verdict"], out["verdict_code"], out["verdict_detail"] = {}, {}, {}
    aug = find(results, Role.AUGMENTED)
    if aug is not None:
        out |= _versus(real, aug, results, masks, cfg)
        metrics = tuple(dict.fromkeys((cfg.tune_metric, "recall")))
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
    so = find(results, Role.SYNTHETIC_ONLY)
    if so is not None:
        m = masks["all"]
        out["synthetic_only_ratio"] = {
            name: ratio_ci(so.user[name][m], real.user[name][m], n_boot=cfg.n_bootstrap, seed=cfg.seed)
            for name in PER_USER_METRICS
        }
    return out
