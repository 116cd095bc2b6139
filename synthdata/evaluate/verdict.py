"""The verdict per segment — `helps`, `hurts` or `no-evidence` — as a sceptical reviewer would accept it.

Everything the verdict depends on lives here: which arms are compared (`comparator_arms`, `stronger`),
the rule (`CLAUSES`, `HURTS`, `segment_verdict`) and the prose users read (`rule_text`, which builds
`DEFINITIONS["verdict"]`, the block in docs/evaluation.md and the HTML report from the same constants, so
the text cannot drift from the code). `python -m synthdata.evaluate.verdict` prints the rule; `--write
docs/evaluation.md` puts it into the page's generated block and `--check` fails when the block drifted.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthdata.atomic import atomic_write_text
from synthdata.errors import InputError
from synthdata.evaluate.arms import Arm, ArmResult, Role
from synthdata.evaluate.controls import CONTROLS
from synthdata.evaluate.stats import holm

MIN_SEEDS_FOR_HELPS = 3
PREDICTION_LEVEL = 0.95  # one-sided, the per-seed test against fresh draws of each null generator
CI_LEVEL = 0.95  # the users-bootstrap CI of every paired delta (stats.paired_delta)
CODES = {"helps": 1, "no-evidence": 0, "hurts": -1}


@dataclass(frozen=True)
class Clause:
    """One condition of `helps`: its key (named in the verdict's reason) and its prose."""

    key: str
    text: str


ALPHA = Clause("alpha", "tuning chose α > 0 for the augmented model (α = 0 is the real-only model)")
SIGNIFICANT = Clause(
    "significant",
    f"against real-only AND against every negative control, the paired per-user delta (augmented − "
    f"comparator) of the tune metric and of recall has a {CI_LEVEL:.0%} bootstrap CI above 0 and a "
    "Holm-adjusted two-sided sign-flip p-value below `significance` (0.05 by default); the Holm family "
    "is every (comparator, metric) test of the segment",
)
SEEDS = Clause("seeds", f"at least {MIN_SEEDS_FOR_HELPS} recommender seeds")
PER_SEED = Clause("per_seed", "every per-seed delta, against real-only and every control, is > 0")
DRAWS = Clause(
    "draws",
    "against every control (each seed refits it on a fresh draw of its null generator), the per-seed "
    f"deltas clear a one-sided {PREDICTION_LEVEL:.0%} prediction bound: mean > t·sd·√(1 + 1/S), S seeds, "
    "t the Student-t quantile with S − 1 degrees of freedom — one lucky draw of null rows must not pass",
)
CLAUSES: tuple[Clause, ...] = (ALPHA, SIGNIFICANT, SEEDS, PER_SEED, DRAWS)  # checked in this order
HURTS = Clause(
    "hurts",
    f"the delta against real-only of the tune metric or of recall has a {CI_LEVEL:.0%} CI below 0 and a "
    "Holm-adjusted p-value below `significance` (the same Holm family); checked after the α clause",
)
COMPARATOR = (
    f"Comparators: real-only, and each negative control ({', '.join(CONTROLS)}: as many rows as "
    "the synthesizer's, no learnt signal), tuned over the same α grid as the augmented model. A control "
    "whose chosen α differs from the augmented model's is also refitted at the augmented α, and each "
    "segment is compared with the stronger of the two by the tune metric (the conservative choice). "
    "That refit is skipped only when the tests against real-only already settle every segment's verdict "
    "and clause, whatever the controls score: a real-only test that is not significant (the `significant` "
    "clause fails: no-evidence), or `hurts` decided either way (a Holm-adjusted p-value lies between p and "
    "p × the family size); the controls are then compared at their tuned α."
)


def rule_text(markdown: bool = False) -> str:
    """The rule as prose, from the constants above (metrics.json definitions, docs, HTML report)."""
    if not markdown:
        helps = "; ".join(f"({n}) {c.text}" for n, c in enumerate(CLAUSES, 1))
        return f"helps when ALL hold: {helps}. hurts: {HURTS.text}. Otherwise no-evidence. {COMPARATOR}"
    lines = ["`helps` needs **all** of, per segment:", ""]  # a blank line, or MkDocs renders no list
    lines += [f"{n}. {c.text} (`{c.key}`);" for n, c in enumerate(CLAUSES, 1)]
    lines += ["", f"`hurts`: {HURTS.text}. Anything else is `no-evidence`; the reason names the first"]
    lines += ["clause that failed.", "", COMPARATOR]
    return "\n".join(lines)


def t_quantile(dof: int, level: float = PREDICTION_LEVEL) -> float:
    """Student's t quantile for every d.o.f. (scipy): no normal fall-back, which would be
    anti-conservative (t with 10 d.o.f. is 1.812, not 1.645)."""
    from scipy.stats import t

    return float(t.ppf(level, dof))


def _beats_draws(deltas: list[float]) -> bool:
    """The `draws` clause: the users-bootstrap CI treats the synthetic table as fixed; this is the check
    that one more draw of a null generator would not do as well (the calibration study showed
    single-draw luck passing the CI test)."""
    d = np.asarray(deltas, dtype=np.float64)
    if d.size < MIN_SEEDS_FOR_HELPS:
        return False
    return bool(d.mean() > t_quantile(d.size - 1) * d.std(ddof=1) * np.sqrt(1 + 1 / d.size))


# ---- which arms are compared ----------------------------------------------------------------------


def comparator_arms(arms: list[Arm], results: list[ArmResult]) -> list[Arm]:
    """Controls to refit at the augmented arm's α: α is tuned on all users, and its noise alone can make
    a control look weak on a segment."""
    aug = next((r for r in results if r.role is Role.AUGMENTED), None)
    if aug is None or not aug.chosen.alpha:
        return []
    chosen = {r.name: r.chosen.alpha for r in results}
    return [
        a.at_alpha(aug.chosen.alpha)
        for a in arms
        if a.role is Role.CONTROL and not a.at_augmented_alpha and chosen.get(a.name) != aug.chosen.alpha
    ]


def settled_by_real(
    vs_real: dict[str, dict[str, float]], *, metrics: tuple[str, ...], n_tests: int, significance: float
) -> str | None:
    """The verdict a segment (α > 0) gets whatever the control comparisons say, or None when they can
    change its verdict or clause. `vs_real[metric]`: the paired test against real-only; `n_tests`: the
    Holm family's size. Holm's adjusted p of a test lies in [p, min(1, n_tests·p)] for any other p-values."""
    tests = [vs_real[m] for m in metrics]
    below = [t for t in tests if t["ci_high"] < 0 and t["p_value"] < significance]
    if any(min(1.0, n_tests * t["p_value"]) < significance for t in below):
        return "hurts"
    if below:  # hurts or not depends on where the controls' p-values rank
        return None
    if any(not (t["ci_low"] > 0 and t["p_value"] < significance) for t in tests):
        return "no-evidence"  # the `significant` clause fails on real-only, so it is the clause named
    return None


def control_variants(results: list[ArmResult]) -> dict[str, list[ArmResult]]:
    """Per null generator, its scored variants (tuned α first, then the augmented arm's α)."""
    out: dict[str, list[ArmResult]] = {}
    for r in results:
        if r.role is Role.CONTROL:
            out.setdefault(str(r.arm.control), []).append(r)
    return {c: sorted(v, key=lambda r: r.arm.at_augmented_alpha) for c, v in out.items()}


def variant_label(r: ArmResult) -> str:
    return ("augmented's α=" if r.arm.at_augmented_alpha else "tuned α=") + str(r.chosen.alpha)


def stronger(variants: list[ArmResult], mask: np.ndarray, metric: str) -> ArmResult:
    """The variant with the higher mean `metric` on the segment's users: the harder comparator."""
    return max(variants, key=lambda r: float(r.user[metric][mask].mean()) if mask.any() else 0.0)


# ---- the rule ---------------------------------------------------------------------------------------


def _test_table(vs: dict[str, dict[str, dict[str, float]]], metrics: tuple[str, ...]) -> list[dict]:
    tests = [(c, m, vs[c][m]) for c in vs for m in metrics]
    adjusted = holm([t[2]["p_value"] for t in tests])
    return [
        {"vs": c, "metric": m, **{k: d[k] for k in ("mean", "ci_low", "ci_high", "p_value")}, "p_holm": p}
        for (c, m, d), p in zip(tests, adjusted, strict=True)
    ]


def _failed(
    table: list[dict],
    per_seed: dict[str, dict[str, list[float]]],
    metrics: tuple[str, ...],
    seeds: int,
    sig: float,
) -> tuple[Clause, str] | None:
    """The first `helps` clause after α that fails, with the detail a reader needs; None when all hold."""
    weak = [f"{t['vs']}/{t['metric']}" for t in table if not (t["ci_low"] > 0 and t["p_holm"] < sig)]
    if weak:
        return SIGNIFICANT, "not significantly above: " + ", ".join(weak)
    if seeds < MIN_SEEDS_FOR_HELPS:
        return SEEDS, f"only {seeds} recommender seed(s); helps needs ≥ {MIN_SEEDS_FOR_HELPS}"
    down = [f"{c}/{m}" for c in per_seed for m in metrics if any(x <= 0 for x in per_seed[c].get(m, []))]
    if down:
        return PER_SEED, "some per-seed delta ≤ 0: " + ", ".join(down)
    lucky = [
        f"{c}/{m}"
        for c in per_seed
        if c != "real"
        for m in metrics
        if not _beats_draws(per_seed[c].get(m, []))
    ]
    if lucky:
        return DRAWS, "within the spread of the controls' draws (per-seed prediction test): " + ", ".join(
            lucky
        )
    return None


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

    Comparators: "real" and one per control. Returns verdict, code, the deciding clause, the reason and
    the test table (every comparator × metric, with raw and Holm-adjusted p-values)."""
    table = _test_table(vs, metrics)
    if not alpha:
        clause, verdict, reason = (
            ALPHA.key,
            "no-evidence",
            "tuning chose α = 0: the augmented model is the real-only model",
        )
    elif any(t["vs"] == "real" and t["ci_high"] < 0 and t["p_holm"] < significance for t in table):
        clause, verdict, reason = HURTS.key, "hurts", "below real-only with a CI under 0 (Holm-corrected)"
    elif (failed := _failed(table, per_seed, metrics, seeds, significance)) is not None:
        clause, verdict, reason = failed[0].key, "no-evidence", failed[1]
    else:
        clause, verdict, reason = (
            "all",
            "helps",
            "above real-only and every control on every seed (Holm-corrected)",
        )
    return {"verdict": verdict, "code": CODES[verdict], "clause": clause, "reason": reason, "tests": table}


# ---- the rule in the docs ------------------------------------------------------------------------

RULE_DOC = Path("docs/evaluation.md")
_BLOCK = re.compile(r"(?<=<!-- verdict-rule:start -->\n)(.*?)(?=\n<!-- verdict-rule:end -->)", re.S)


def sync_rule_block(path: str | Path = RULE_DOC, *, write: bool = False) -> bool:
    """Whether `path`'s generated block holds the rule as the code states it; `write` makes it so."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    block = _BLOCK.search(text)
    if block is None:
        raise InputError(f"{p}: no <!-- verdict-rule:start --> ... <!-- verdict-rule:end --> block")
    current = block.group(1) == rule_text(markdown=True)
    if write and not current:
        atomic_write_text(p, text[: block.start()] + rule_text(markdown=True) + text[block.end() :])
    return current


def main(argv: list[str] | None = None) -> int:
    """Print the rule, or `--write`/`--check` the generated block of a docs page (exit 1: it drifted)."""
    ap = argparse.ArgumentParser(prog="python -m synthdata.evaluate.verdict", description=main.__doc__)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update the page's block")
    mode.add_argument("--check", action="store_true", help="exit 1 when the page's block drifted")
    ap.add_argument("page", nargs="?", default=str(RULE_DOC), help=f"default: {RULE_DOC}")
    args = ap.parse_args(argv)
    if not (args.write or args.check):
        print(rule_text(markdown=True))
        return 0
    current = sync_rule_block(args.page, write=args.write)
    if args.check and not current:
        print(f"{args.page}: the verdict rule drifted; run python -m synthdata.evaluate.verdict --write")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
