"""From run results to the `recsys` section of metrics.json: summaries with CIs per run and segment,
paired deltas against real-only and against every control, per-seed deltas, the synthetic-only ratio
and the verdict. Pure arithmetic on per-user arrays: no model is fitted here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.metrics import PER_USER_METRICS, coverage
from synthdata.evaluate.runs import RunResult
from synthdata.evaluate.stats import bootstrap_ci, bootstrap_f1_of_means, paired_delta, ratio_ci
from synthdata.evaluate.verdict import segment_verdict

CONTROL_PREFIX = "control."
AT_AUGMENTED_ALPHA = "@augmented_alpha"  # a control refitted at the augmented run's chosen α


def summaries(
    r: RunResult, masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
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
    base: RunResult, run: RunResult, masks: dict[str, np.ndarray], cfg: EvalConfig
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
    base: RunResult, run: RunResult, masks: dict[str, np.ndarray]
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


def recsys_section(
    results: dict[str, RunResult], masks: dict[str, np.ndarray], n_catalogue: int, cfg: EvalConfig
) -> dict[str, Any]:
    real = results["real"]
    out: dict[str, Any] = {"control": {}, "delta": {}, "delta_control": {}, "per_seed_delta": {}}
    for name, r in results.items():
        if name.endswith(AT_AUGMENTED_ALPHA):
            continue  # only ever used as the stronger comparator, below
        s = summaries(r, masks, n_catalogue, cfg)
        if name.startswith(CONTROL_PREFIX):
            out["control"][name[len(CONTROL_PREFIX) :]] = s
        else:
            out[name] = s
    out["per_seed"] = {
        name: [{m: float(v.mean()) if v.size else float("nan") for m, v in p.items()} for p in r.per_seed]
        for name, r in results.items()
    }
    out["tuning"] = {name: {"chosen": r.chosen.as_dict(), "grid": r.grid} for name, r in results.items()}
    out["chosen_alpha"] = {n: r.chosen.alpha for n, r in results.items() if r.chosen.alpha is not None}
    aug = results.get("augmented")
    metrics = tuple(dict.fromkeys((cfg.tune_metric, "recall")))
    out["verdict"], out["verdict_code"], out["verdict_detail"] = {}, {}, {}
    if aug is not None:
        out["delta"] = deltas(real, aug, masks, cfg)
        out["per_seed_delta"]["real"] = seed_deltas(real, aug, masks)
        out["control_variant"] = {}
        for name, r in results.items():
            if name.startswith(CONTROL_PREFIX) and not name.endswith(AT_AUGMENTED_ALPHA):
                c = name[len(CONTROL_PREFIX) :]
                variants = [(f"tuned α={r.chosen.alpha}", r)]
                alt = results.get(name + AT_AUGMENTED_ALPHA)
                if alt is not None:
                    variants.append((f"augmented's α={alt.chosen.alpha}", alt))
                dc, ps, which = {}, {}, {}
                for seg, m in masks.items():  # per segment, the stronger control (conservative)
                    label, best = max(variants, key=lambda v: float(v[1].user[cfg.tune_metric][m].mean()))
                    dc[seg] = deltas(best, aug, {seg: m}, cfg)[seg]
                    ps[seg] = seed_deltas(best, aug, {seg: m})[seg]
                    which[seg] = label
                out["delta_control"][c], out["per_seed_delta"][c], out["control_variant"][c] = dc, ps, which
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
            out["verdict_detail"][seg] = {"reason": v["reason"], "tests": v["tests"]}
    so = results.get("synthetic_only")
    if so is not None:
        m = masks["all"]
        out["synthetic_only_ratio"] = {
            name: ratio_ci(so.user[name][m], real.user[name][m], n_boot=cfg.n_bootstrap, seed=cfg.seed)
            for name in PER_USER_METRICS
        }
    return out
