"""The verdict per segment: `helps`, `hurts` or `no-evidence`, as a sceptical reviewer would accept it.

`helps` needs ALL of:
- the augmented model chose α > 0 (α = 0 is the real-only model: nothing to credit);
- at least `MIN_SEEDS_FOR_HELPS` recommender seeds, and every per-seed delta > 0;
- against real-only AND against every negative control: the paired delta of the tune metric and of
  recall has a 95% CI above 0 and a Holm-adjusted p-value below `significance`, the Holm family being
  every (comparator, metric) test of that segment.
- against every control, whose refits each use a fresh draw of the null generator, the per-seed
  deltas clear a one-sided 95% prediction bound (mean > t·sd·√(1 + 1/S)): a lucky single draw of
  null rows must not pass.
`hurts`: the delta against real-only of the tune metric or recall has a CI below 0 and a Holm-adjusted
p-value below `significance`. Anything else is `no-evidence`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthdata.evaluate.stats import holm

MIN_SEEDS_FOR_HELPS = 3
PREDICTION_LEVEL = 0.95  # one-sided


def t_quantile(dof: int, level: float = PREDICTION_LEVEL) -> float:
    """Student's t quantile for every d.o.f. (scipy): no normal fall-back, which would be
    anti-conservative (t with 10 d.o.f. is 1.812, not 1.645)."""
    from scipy.stats import t

    return float(t.ppf(level, dof))


def _beats_draws(deltas: list[float]) -> bool:
    """Per-seed deltas vs a control, each seed refitted on a fresh control draw: the mean delta must
    clear a one-sided 95% prediction bound, mean > t·sd·√(1 + 1/S). The users-bootstrap CI treats the
    synthetic table as fixed; this is the check that one more draw of a null generator would not do
    as well (the calibration study showed single-draw luck passing the CI test)."""
    d = np.asarray(deltas, dtype=np.float64)
    if d.size < MIN_SEEDS_FOR_HELPS:
        return False
    return bool(d.mean() > t_quantile(d.size - 1) * d.std(ddof=1) * np.sqrt(1 + 1 / d.size))


CODES = {"helps": 1, "no-evidence": 0, "hurts": -1}


def segment_verdict(
    vs: dict[str, dict[str, dict[str, float]]],
    per_seed: dict[str, dict[str, list[float]]],
    *,
    metrics: tuple[str, ...],
    alpha: float | None,
    seeds: int,
    significance: float,
) -> dict[str, Any]:
    """`vs[comparator][metric]` = paired delta (augmented − comparator); `per_seed` likewise, per seed.

    Comparators: "real" and one per control. Returns verdict, code, reason and the test table.
    """
    tests = [(c, m, vs[c][m]) for c in vs for m in metrics]
    adjusted = holm([t[2]["p_value"] for t in tests])
    table = [
        {
            "vs": c,
            "metric": m,
            "mean": d["mean"],
            "ci_low": d["ci_low"],
            "ci_high": d["ci_high"],
            "p_value": d["p_value"],
            "p_holm": p,
        }
        for (c, m, d), p in zip(tests, adjusted, strict=True)
    ]
    significant_up = all(t["ci_low"] > 0 and t["p_holm"] < significance for t in table)
    seeds_up = all(x > 0 for c in per_seed for m in metrics for x in per_seed[c].get(m, []))
    draws_up = all(_beats_draws(per_seed[c].get(m, [])) for c in per_seed if c != "real" for m in metrics)
    hurts = any(t["vs"] == "real" and t["ci_high"] < 0 and t["p_holm"] < significance for t in table)
    if not alpha:
        verdict, reason = "no-evidence", "tuning chose α = 0: the augmented model is the real-only model"
    elif hurts:
        verdict, reason = "hurts", "below real-only with a CI under 0 (Holm-corrected)"
    elif not significant_up:
        weak = [
            f"{t['vs']}/{t['metric']}" for t in table if not (t["ci_low"] > 0 and t["p_holm"] < significance)
        ]
        verdict, reason = "no-evidence", "not significantly above: " + ", ".join(weak)
    elif seeds < MIN_SEEDS_FOR_HELPS:
        verdict, reason = (
            "no-evidence",
            f"only {seeds} recommender seed(s); helps needs ≥ {MIN_SEEDS_FOR_HELPS}",
        )
    elif not seeds_up:
        verdict, reason = "no-evidence", "some per-seed delta ≤ 0"
    elif not draws_up:
        verdict, reason = "no-evidence", "within the spread of the controls' draws (per-seed prediction test)"
    else:
        verdict, reason = "helps", "above real-only and every control on every seed (Holm-corrected)"
    return {"verdict": verdict, "code": CODES[verdict], "reason": reason, "tests": table}
