"""The verdict rule, clause by clause, and the prose users read being generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthdata.errors import InputError
from synthdata.evaluate.api import DEFINITIONS
from synthdata.evaluate.arms import Arm, ArmResult, Role, find
from synthdata.evaluate.controls import CONTROLS
from synthdata.evaluate.recommend import ModelParams
from synthdata.evaluate.tuning import Candidate
from synthdata.evaluate.verdict import (
    CLAUSES,
    COMPARATOR,
    HURTS,
    MIN_SEEDS_FOR_HELPS,
    comparator_arms,
    control_variants,
    main,
    rule_text,
    segment_verdict,
    settled_by_real,
    stronger,
    sync_rule_block,
)

RULE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"
METRICS = ("ndcg", "recall")
UP = {"mean": 0.05, "ci_low": 0.02, "ci_high": 0.08, "p_value": 0.0005}
FLAT = {"mean": 0.0, "ci_low": -0.01, "ci_high": 0.01, "p_value": 0.9}
DOWN = {"mean": -0.05, "ci_low": -0.08, "ci_high": -0.02, "p_value": 0.0005}
STEADY = [0.10, 0.11, 0.12]  # clears the prediction bound: mean 0.11 > t(2)·0.01·√(4/3) ≈ 0.034


def _passing() -> tuple[dict, dict, dict]:
    vs = {c: {m: dict(UP) for m in METRICS} for c in ("real", *CONTROLS)}
    per_seed = {c: {m: list(STEADY) for m in METRICS} for c in ("real", *CONTROLS)}
    kw = {"metrics": METRICS, "alpha": 0.3, "seeds": 3, "significance": 0.05}
    return vs, per_seed, kw


def test_every_clause_holding_gives_helps() -> None:
    vs, ps, kw = _passing()
    v = segment_verdict(vs, ps, **kw)
    assert (v["verdict"], v["code"], v["clause"]) == ("helps", 1, "all")
    assert len(v["tests"]) == (1 + len(CONTROLS)) * len(METRICS)  # the Holm family


def _break(clause: str, vs: dict, ps: dict, kw: dict) -> None:
    """Make exactly one clause fail, every other one still holding."""
    if clause == "alpha":
        kw["alpha"] = 0.0
    elif clause == "significant":
        vs["uniform"]["recall"] = dict(FLAT)
    elif clause == "seeds":
        kw["seeds"] = MIN_SEEDS_FOR_HELPS - 1
    elif clause == "per_seed":
        ps["real"]["ndcg"] = [0.1, -0.001, 0.1]
    elif clause == "draws":
        ps["shuffled"]["ndcg"] = [0.01, 0.3, 0.02]  # all > 0, but the spread of the draws swamps the mean
    else:
        raise AssertionError(clause)


@pytest.mark.parametrize("clause", [c.key for c in CLAUSES])
def test_each_clause_alone_blocks_helps(clause: str) -> None:
    vs, ps, kw = _passing()
    _break(clause, vs, ps, kw)
    v = segment_verdict(vs, ps, **kw)
    assert v["verdict"] == "no-evidence" and v["code"] == 0
    assert v["clause"] == clause, v["reason"]


def test_holm_is_what_makes_a_marginal_family_fail() -> None:
    vs, ps, kw = _passing()
    for c in vs:  # p = 0.02 passes alone; Holm over 8 tests needs the smallest below 0.05/8
        vs[c]["ndcg"] = {**UP, "p_value": 0.02}
    v = segment_verdict(vs, ps, **kw)
    assert v["clause"] == "significant"
    assert all(t["p_holm"] >= t["p_value"] for t in v["tests"])


def test_hurts_needs_a_significant_drop_against_real_only() -> None:
    vs, ps, kw = _passing()
    vs["real"]["recall"] = dict(DOWN)
    assert segment_verdict(vs, ps, **kw)["verdict"] == "hurts"
    vs, ps, kw = _passing()
    vs["popularity"]["recall"] = dict(DOWN)  # below a control only: not `hurts`
    assert segment_verdict(vs, ps, **kw)["verdict"] == "no-evidence"
    vs["real"]["recall"] = {**DOWN, "p_value": 0.2}  # CI below 0 but not significant after Holm
    assert segment_verdict(vs, ps, **kw)["verdict"] == "no-evidence"


def _result(arm: Arm, alpha: float | None, ndcg: list[float]) -> ArmResult:
    user = {"ndcg": np.asarray(ndcg), "recall": np.asarray(ndcg)}
    return ArmResult(arm, Candidate(ModelParams(), alpha), [], user, np.zeros((len(ndcg), 1), dtype=int))


def test_controls_are_refitted_at_the_augmented_alpha_only_when_theirs_differs() -> None:
    arms = [Arm(Role.REAL), Arm(Role.AUGMENTED, alphas=(0.0, 0.3))]
    arms += [Arm(Role.CONTROL, control=c, alphas=(0.0, 0.3)) for c in ("popularity", "uniform")]
    results = [
        _result(arms[0], None, [0.1]),
        _result(arms[1], 0.3, [0.2]),
        _result(arms[2], 0.3, [0.1]),  # same α: nothing to add
        _result(arms[3], 0.0, [0.1]),
    ]
    extra = comparator_arms(arms, results)
    assert [a.name for a in extra] == ["control.uniform@augmented_alpha"]
    assert extra[0].alphas == (0.3,) and extra[0].role is Role.CONTROL
    results[1] = _result(arms[1], 0.0, [0.2])
    assert comparator_arms(arms, results) == []  # α = 0 chosen: the verdict is no-evidence anyway


def test_the_stronger_control_variant_is_chosen_per_segment() -> None:
    arm = Arm(Role.CONTROL, control="uniform", alphas=(0.0, 0.3))
    tuned = _result(arm, 0.0, [0.5, 0.0])
    at_aug = _result(arm.at_alpha(0.3), 0.3, [0.0, 0.5])
    variants = control_variants([tuned, at_aug])["uniform"]
    assert variants == [tuned, at_aug]
    assert stronger(variants, np.array([True, False]), "ndcg") is tuned
    assert stronger(variants, np.array([False, True]), "ndcg") is at_aug


def test_arm_roles_are_explicit() -> None:
    with pytest.raises(ValueError):
        Arm(Role.CONTROL)  # a control names its null generator
    with pytest.raises(ValueError):
        Arm(Role.AUGMENTED, control="uniform")
    with pytest.raises(ValueError):
        Arm(Role.REAL, at_augmented_alpha=True)
    assert [Arm(r).name for r in (Role.REAL, Role.AUGMENTED, Role.SYNTHETIC_ONLY)] == [
        "real",
        "augmented",
        "synthetic_only",
    ]
    assert Arm(Role.CONTROL, control="shuffled").name == "control.shuffled"
    real = _result(Arm(Role.REAL), None, [0.1])
    assert find([real], Role.REAL) is real and find([real], Role.AUGMENTED) is None


def test_the_prose_is_generated_from_the_rule() -> None:
    text = rule_text()
    assert DEFINITIONS["verdict"] == text
    for c in (*CLAUSES, HURTS):
        assert c.text in text
    assert COMPARATOR in text
    block = re.search(
        r"<!-- verdict-rule:start -->\n(.*?)\n<!-- verdict-rule:end -->", RULE_PAGE.read_text(), re.S
    )
    assert block is not None, "docs/evaluation.md lost its generated verdict block"
    assert block.group(1) == rule_text(markdown=True), (
        "docs/evaluation.md's rule drifted: run `python -m synthdata.evaluate.verdict --write`"
    )


def test_the_generator_checks_and_rewrites_only_the_block(tmp_path: Path, capsys) -> None:
    page = tmp_path / "evaluation.md"
    start, end = "<!-- verdict-rule:start -->", "<!-- verdict-rule:end -->"
    page.write_text(f"# Evaluate\n{start}\nstale\n{end}\nafter\n")
    assert main(["--check", str(page)]) == 1
    assert "drifted" in capsys.readouterr().out
    assert main(["--write", str(page)]) == 0
    assert page.read_text() == f"# Evaluate\n{start}\n{rule_text(markdown=True)}\n{end}\nafter\n"
    assert main(["--check", str(page)]) == 0 and sync_rule_block(page)
    page.write_text("no block here\n")
    with pytest.raises(InputError, match="no <!-- verdict-rule:start -->"):
        sync_rule_block(page, write=True)


# ---- when the comparator refits can be skipped ------------------------------------------------------

_TEST = st.fixed_dictionaries(
    {
        "mean": st.just(0.0),
        "ci_low": st.floats(-0.1, 0.1),
        "ci_high": st.floats(-0.1, 0.1),
        "p_value": st.floats(1e-4, 1.0),
    }
).map(lambda t: {**t, "ci_low": min(t["ci_low"], t["ci_high"]), "ci_high": max(t["ci_low"], t["ci_high"])})


@settings(max_examples=300, deadline=None)
@given(
    real=st.tuples(_TEST, _TEST),
    controls=st.lists(st.tuples(_TEST, _TEST), min_size=len(CONTROLS), max_size=len(CONTROLS)),
    seeds=st.lists(st.floats(-0.05, 0.2), min_size=3, max_size=3),
)
def test_a_settled_segment_gets_that_verdict_and_clause_whatever_the_controls_score(real, controls, seeds):
    """settled_by_real's promise, checked against the rule itself over arbitrary control tests."""
    vs_real = dict(zip(METRICS, real, strict=True))
    n_tests = (1 + len(CONTROLS)) * len(METRICS)
    settled = settled_by_real(vs_real, metrics=METRICS, n_tests=n_tests, significance=0.05)
    if settled is None:
        return
    kw = {"metrics": METRICS, "alpha": 0.3, "seeds": 3, "significance": 0.05}
    ps = {c: {m: list(seeds) for m in METRICS} for c in ("real", *CONTROLS)}
    seen = set()
    extremes = [[(dict(UP), dict(UP))] * len(CONTROLS), [(dict(DOWN), dict(FLAT))] * len(CONTROLS)]
    for variant in (controls, *extremes):
        tests = {c: dict(zip(METRICS, t, strict=True)) for c, t in zip(CONTROLS, variant, strict=True)}
        vs = {"real": vs_real, **tests}
        v = segment_verdict(vs, ps, **kw)
        seen.add((v["verdict"], v["clause"]))
    assert seen == {(settled, "hurts" if settled == "hurts" else "significant")}


def test_settled_by_real_case_by_case() -> None:
    kw = {"metrics": METRICS, "n_tests": 8, "significance": 0.05}
    assert settled_by_real({"ndcg": dict(UP), "recall": dict(UP)}, **kw) is None  # controls decide
    assert settled_by_real({"ndcg": dict(UP), "recall": dict(FLAT)}, **kw) == "no-evidence"
    assert settled_by_real({"ndcg": dict(DOWN), "recall": dict(FLAT)}, **kw) == "hurts"  # 8 × 0.0005 < 0.05
    borderline = {**DOWN, "p_value": 0.01}  # below 0.05 alone, not after × 8: the family's ranks decide
    assert settled_by_real({"ndcg": borderline, "recall": dict(FLAT)}, **kw) is None
