"""Negative controls, the verdict (Holm), synthetic-only, external synthetic inputs, string gates and
the verdict in `runs compare`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.eval_world import FAST_EVAL, SCHEMA, FakeSynthesizer, world

from synthdata.errors import ConfigError, InputError
from synthdata.evaluate import EvalConfig, evaluate
from synthdata.evaluate.controls import CONTROLS, control_rngs, control_rows
from synthdata.evaluate.stats import holm
from synthdata.evaluate.verdict import segment_verdict
from synthdata.split import split

FAST = FAST_EVAL


@pytest.fixture(scope="module")
def result(eval_data) -> dict:
    return evaluate(*eval_data, SCHEMA, EvalConfig(**FAST))


def test_controls_keep_what_they_promise(eval_data) -> None:
    train, _, synthetic = eval_data
    rngs = control_rngs(0)
    pop = control_rows("popularity", synthetic, train, SCHEMA, rngs["popularity"])
    uni = control_rows("uniform", synthetic, train, SCHEMA, rngs["uniform"])
    shu = control_rows("shuffled", synthetic, train, SCHEMA, rngs["shuffled"])
    for c in (pop, uni, shu):
        assert len(c) == len(synthetic)
        assert (c["user_id"].to_numpy() == synthetic["user_id"].to_numpy()).all()  # users kept
        assert c["item_id"].isin(train["item_id"]).all()
        assert c["item_id"].dtype == train["item_id"].dtype
    assert sorted(shu["item_id"]) == sorted(synthetic["item_id"])  # item marginal kept exactly
    assert not (shu["item_id"].to_numpy() == synthetic["item_id"].to_numpy()).all()
    # popularity draws follow training positive popularity: the most popular item is drawn most
    liked = train.loc[train["rating"] >= 4, "item_id"].value_counts()
    assert pop["item_id"].value_counts().index[0] in set(liked.index[:5])
    assert uni["item_id"].nunique() > 0.8 * train["item_id"].nunique()
    again = control_rows("popularity", synthetic, train, SCHEMA, control_rngs(0)["popularity"])
    pd.testing.assert_frame_equal(again, pop)  # seeded


def test_layout_has_controls_verdict_and_synthetic_only(result: dict) -> None:
    rec = result["recsys"]
    assert set(rec["control"]) == set(CONTROLS)
    for c in CONTROLS:
        for seg in ("all", "cold", "warm"):
            d = rec["delta_control"][c][seg]["ndcg"]
            assert d["ci_low"] <= d["mean"] <= d["ci_high"] and 0 < d["p_value"] <= 1
            assert len(rec["per_seed_delta"][c][seg]["ndcg"]) == 2
    for seg in ("all", "cold", "warm"):
        assert rec["verdict"][seg] in ("helps", "hurts", "no-evidence")
        assert rec["verdict_code"][seg] == {"helps": 1, "hurts": -1, "no-evidence": 0}[rec["verdict"][seg]]
        assert rec["verdict"][seg] != "helps"  # 2 seeds: never helps
        assert len(rec["verdict_detail"][seg]["tests"]) == 2 * (1 + len(CONTROLS))
    # the α grid always holds 0 and the chosen α is reported for every run with extra rows
    assert result["config"]["alpha_grid"] == [0.0, 0.5]
    assert {"augmented", *(f"control.{c}" for c in CONTROLS)} <= set(rec["chosen_alpha"])
    for c in CONTROLS:  # the verdict compares against the stronger of the control's two α per segment
        assert set(rec["control_variant"][c]) == {"all", "cold", "warm"}
    alphas = {row["synthetic_alpha"] for row in rec["tuning"]["augmented"]["grid"]}
    assert alphas == {0.0, 0.5}
    r = rec["synthetic_only_ratio"]["ndcg"]
    real, so = rec["real"]["all"]["ndcg"]["mean"], rec["synthetic_only"]["all"]["ndcg"]["mean"]
    assert r["mean"] == pytest.approx(so / real) and r["ci_low"] <= r["mean"] <= r["ci_high"]
    # the fake replays training rows (every column but the shuffled item id): the attack must see that
    # beyond the null table's shift (0.578 and +0.078 here; a generator of another world scores 0.47)
    assert result["privacy"]["mia_auc"] > 0.55 and result["privacy"]["mia_auc_excess"] > 0.05
    assert result["privacy"]["mia_auc"] == max(
        result["privacy"]["mia_auc_dcr"], result["privacy"]["mia_auc_density_ratio"]
    )


def test_membership_attack_ranks_copies_first_and_strangers_near_the_null(eval_data) -> None:
    """mia(): a table of the training rows themselves is all but certain membership; rows of another
    world (same generator, never saw these users) add nothing over the null table."""
    from synthdata.evaluate.mia import mia

    train, test, _ = eval_data
    copies = mia(train, test, train, SCHEMA, max_rows=200)
    assert copies["mia_auc"] > 0.9 and copies["mia_auc_excess"] > 0.3, copies
    stranger_train, _ = split(world(n_users=90, n_items=50, seed=12), SCHEMA)
    strangers = FakeSynthesizer(SCHEMA).fit(stranger_train).sample(len(train), seed=1)
    other = mia(train, test, strangers, SCHEMA, max_rows=200)
    assert other["mia_auc_excess"] < 0.05 and other["mia_auc"] < copies["mia_auc"] - 0.3, other


def test_alpha_zero_cells_are_shared_with_the_real_run(result: dict) -> None:
    rec = result["recsys"]
    real_val = {(r["factors"], r["regularization"]): r["val_ndcg"] for r in rec["tuning"]["real"]["grid"]}
    for run in ("augmented", *(f"control.{c}" for c in CONTROLS)):
        for row in rec["tuning"][run]["grid"]:
            if row["synthetic_alpha"] == 0:
                assert row["val_ndcg"] == real_val[(row["factors"], row["regularization"])]
    # fits: real 1 tune + 2 seeds; 4 runs × (1 α>0 tune + ≤ 2 refits); synthetic-only 1 + 2;
    # each control refitted at the augmented α when its own differs: ≤ 3 × (1 + 2)
    assert rec["recommender_fits"] <= 3 + 4 * 3 + 3 + 3 * 3


def test_alpha_zero_means_no_evidence() -> None:
    d = {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_value": 1.0}
    vs = {"real": {"ndcg": d, "recall": d}}
    v = segment_verdict(vs, {}, metrics=("ndcg", "recall"), alpha=0.0, seeds=3, significance=0.05)
    assert v["verdict"] == "no-evidence" and "α = 0" in v["reason"]


def _d(mean: float, lo: float, hi: float, p: float) -> dict:
    return {"mean": mean, "ci_low": lo, "ci_high": hi, "p_value": p}


def test_verdict_rules() -> None:
    up = _d(0.05, 0.02, 0.08, 0.001)
    kw = dict(metrics=("ndcg", "recall"), alpha=0.3, significance=0.05)
    seeds_up = {"real": {"ndcg": [0.1, 0.2, 0.1], "recall": [0.1, 0.1, 0.1]}}
    all_up = {c: {"ndcg": up, "recall": up} for c in ("real", *CONTROLS)}
    assert segment_verdict(all_up, seeds_up, seeds=3, **kw)["verdict"] == "helps"
    assert segment_verdict(all_up, seeds_up, seeds=2, **kw)["verdict"] == "no-evidence"
    one_seed_down = {"real": {"ndcg": [0.1, -0.01, 0.1], "recall": [0.1, 0.1, 0.1]}}
    assert segment_verdict(all_up, one_seed_down, seeds=3, **kw)["verdict"] == "no-evidence"
    control_ties = {**all_up, "popularity": {"ndcg": _d(0.01, -0.01, 0.03, 0.3), "recall": up}}
    assert segment_verdict(control_ties, seeds_up, seeds=3, **kw)["verdict"] == "no-evidence"
    # p = 0.02 passes alone but not after Holm: the four smallest-but-0.02 tests get ≥ 4 × 0.02 = 0.08
    marginal = {c: {"ndcg": _d(0.05, 0.01, 0.09, 0.02), "recall": up} for c in ("real", *CONTROLS)}
    assert segment_verdict(marginal, seeds_up, seeds=3, **kw)["verdict"] == "no-evidence"
    # per-seed deltas against a control's fresh draws must clear the prediction bound, not just be > 0
    steady = {**seeds_up, "uniform": {"ndcg": [0.10, 0.11, 0.12], "recall": [0.1, 0.1, 0.1]}}
    assert segment_verdict(all_up, steady, seeds=3, **kw)["verdict"] == "helps"
    lucky = {**seeds_up, "uniform": {"ndcg": [0.01, 0.2, 0.05], "recall": [0.1, 0.1, 0.1]}}
    v = segment_verdict(all_up, lucky, seeds=3, **kw)
    assert v["verdict"] == "no-evidence" and "draws" in v["reason"]
    down = {**all_up, "real": {"ndcg": _d(-0.05, -0.08, -0.02, 0.001), "recall": up}}
    assert segment_verdict(down, seeds_up, seeds=3, **kw)["verdict"] == "hurts"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_is_monotone_and_bounded(ps: list[float]) -> None:
    adj = holm(ps)
    assert all(a >= p - 1e-12 and a <= 1 for a, p in zip(adj, ps, strict=True))
    order = np.argsort(ps, kind="stable")
    assert all(adj[order[i]] <= adj[order[i + 1]] + 1e-12 for i in range(len(ps) - 1))
    assert min(adj) == pytest.approx(min(1.0, len(ps) * min(ps)))


def test_unknown_synthetic_items_are_counted_and_dropped(eval_data, caplog) -> None:
    train, test, synthetic = eval_data
    extra = synthetic.iloc[:7].copy()
    extra["item_id"] = np.arange(10_000, 10_007)  # items the training data never saw
    out = evaluate(train, test, pd.concat([synthetic, extra]), SCHEMA, EvalConfig(**{**FAST, "seeds": 1}))
    assert out["data"]["synthetic_rows_unknown_items_dropped"] == 7
    assert out["data"]["items"] == train["item_id"].nunique() + len(
        set(test["item_id"]) - set(train["item_id"])
    )  # no synthetic-only item became a new item
    assert "dropped_rows=7" in caplog.text


def test_synthetic_id_dtype_mismatch_is_an_input_error(eval_data) -> None:
    train, test, synthetic = eval_data
    bad = synthetic.assign(item_id=synthetic["item_id"].astype(str) + "x")
    with pytest.raises(InputError) as e:
        evaluate(train, test, bad, SCHEMA, EvalConfig(**FAST))
    assert e.value.column == "item_id" and "text" in str(e.value)


def test_gates_accept_string_values() -> None:
    from synthdata.pipeline.config import GateConfig
    from synthdata.pipeline.gates import evaluate_gates

    metrics = {"recsys": {"verdict": {"cold": "no-evidence"}, "delta": {"cold": {"recall": {"mean": 0.1}}}}}
    g = GateConfig(metric="recsys.verdict.cold", op="==", value="helps")
    (r,) = evaluate_gates([g], metrics)
    assert not r.passed and r.actual == "no-evidence" and "no-evidence" in r.describe()
    (r,) = evaluate_gates([GateConfig(metric="recsys.verdict.cold", op="!=", value="hurts")], metrics)
    assert r.passed
    with pytest.raises(ValueError):
        GateConfig(metric="recsys.verdict.cold", op=">=", value="helps")
    with pytest.raises(ConfigError):  # a number metric against a string value
        evaluate_gates([GateConfig(metric="recsys.delta.cold.recall", op="==", value="helps")], metrics)


def test_compare_shows_the_verdict_first_in_words() -> None:
    from datetime import UTC, datetime

    from synthdata.registry import MetricInfo, RunInfo, flatten_metrics
    from synthdata.registry.compare import compare_runs, fmt_value

    def run(i: str, code: int) -> RunInfo:
        tree = {"recsys": {"verdict_code": {"all": code}, "a": {"mean": 1.0, "ci_low": 0, "ci_high": 2}}}
        flat = flatten_metrics(tree)
        metrics = {k: MetricInfo(k, *v) for k, v in flat.items()}
        none = dict(config_path=None, config_hash=None, run_dir=None, warm_start_from=None, exit_code=None)
        return RunInfo(
            id=i,
            name=None,
            status="succeeded",
            error=None,
            created_at=datetime.now(UTC),
            finished_at=None,
            metrics=metrics,
            **none,
        )

    cmp = compare_runs([run("a", 0), run("b", 1)])
    assert cmp.metrics[0].key == "recsys.verdict_code.all"
    assert [fmt_value(v) for v in cmp.metrics[0].values] == ["no-evidence", "helps"]
    assert cmp.metrics[0].delta_text(1) == "no-evidence → helps"


def test_prediction_bound_uses_student_t_for_every_seed_count() -> None:
    """Past 10 seeds the bound stays Student's t (1.796 at 11 d.o.f.), never the normal 1.645."""
    from synthdata.evaluate.verdict import _beats_draws, t_quantile

    assert t_quantile(10) == pytest.approx(1.812, abs=1e-3) and t_quantile(2) == pytest.approx(
        2.920, abs=1e-3
    )
    base = np.array([1.0, -1.0] * 6)  # 12 seeds: mean 0, sd 1.044
    sd, scale = base.std(ddof=1), np.sqrt(1 + 1 / 12)
    between = base + 1.70 * sd * scale  # clears a normal bound (1.645), not the t bound (1.796)
    assert not _beats_draws(list(between))
    assert _beats_draws(list(base + 1.85 * sd * scale))
