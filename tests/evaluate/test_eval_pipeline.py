"""evaluate(): layout, segments, determinism; strategies; leakage; HTML report; the evaluate CLI."""

from __future__ import annotations

import html
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from support.eval_world import SCHEMA, FakeSynthesizer, world

from synthdata.evaluate import EvalConfig, evaluate
from synthdata.evaluate.api import validation_split
from synthdata.evaluate.augment import cold_users, long_tail_items, select, training_positives_per_user
from synthdata.evaluate.report import write_html
from synthdata.pipeline.experiment import run_experiment

SYNTHDATA = str(Path(sys.executable).with_name("synthdata"))
FAST = dict(
    seeds=1,
    factors_grid=[8],
    regularization_grid=[0.1],
    alpha_grid=[0.5],
    iterations=8,
    n_bootstrap=200,
    n_permutations=200,
    cold_threshold=4,
    fidelity_max_rows=2000,
    detection_max_rows=500,
    privacy_max_rows=200,
)
METRICS = ("precision", "recall", "f1", "ndcg", "map", "hitrate", "f1_of_means")


# Plain-Python oracles (a positive is rating >= 4 in SCHEMA), independent of synthdata.evaluate.augment.
def positives_per_user(df: pd.DataFrame) -> Counter:
    counts: Counter = Counter({u: 0 for u in df["user_id"]})
    counts.update(u for u, r in zip(df["user_id"], df["rating"], strict=True) if r >= 4)
    return counts


def cold_set(train: pd.DataFrame, threshold: int) -> set:
    return {u for u, n in positives_per_user(train).items() if n <= threshold}


def tail_set(train: pd.DataFrame, head_share: float) -> set:
    """Items outside the smallest most-popular set (ties: first seen first) holding head_share."""
    first_seen: dict = {}
    for i in train["item_id"]:
        first_seen.setdefault(i, len(first_seen))
    pos: Counter = Counter(i for i, r in zip(train["item_id"], train["rating"], strict=True) if r >= 4)
    total, before, tail = sum(pos.values()), 0, set()
    for i in sorted(first_seen, key=lambda i: (-pos[i], first_seen[i])):
        if before / total >= head_share:
            tail.add(i)
        before += pos[i]
    return tail


def latest_rows_dropped(df: pd.DataFrame, fraction: float) -> int:
    """Rows a per-user temporal split sends out of train: round(n·f) half-up, one row always kept."""
    return sum(min(math.floor(n * fraction + 0.5), n - 1) for n in Counter(df["user_id"]).values())


@pytest.fixture(scope="module")
def result(eval_data: tuple) -> dict:
    return evaluate(*eval_data, SCHEMA, EvalConfig(**FAST))


def test_result_layout(result: dict) -> None:
    rec = result["recsys"]
    for run in ("real", "augmented", "popularity"):
        for seg in ("all", "cold", "warm"):
            for m in METRICS:
                v = rec[run][seg][m]
                if rec[run][seg]["n_users"]:
                    assert v["ci_low"] <= v["mean"] <= v["ci_high"], (run, seg, m)
            assert "coverage" in rec[run][seg]
        assert rec[run]["cold"]["n_users"] + rec[run]["warm"]["n_users"] == rec[run]["all"]["n_users"]
    for seg in ("all", "cold", "warm"):
        for m in METRICS[:-1]:
            d = rec["delta"][seg][m]
            assert set(d) == {"mean", "ci_low", "ci_high", "p_value"}
            if rec["real"][seg]["n_users"]:
                assert d["mean"] == pytest.approx(
                    rec["augmented"][seg][m]["mean"] - rec["real"][seg][m]["mean"]
                )
    assert rec["real"]["cold"]["n_users"] > 0 and rec["real"]["warm"]["n_users"] > 0
    assert set(rec["tuning"]["augmented"]["chosen"]) >= {"factors", "regularization", "synthetic_alpha"}
    assert "synthetic_alpha" not in rec["tuning"]["real"]["chosen"]
    for key in ("column_shapes", "column_pair_trends", "detection_auc", "recsys"):
        assert key in result["fidelity"]
    assert "exact_copy_rate" in result["privacy"] and "dcr_closer_to_train_share" in result["privacy"]
    assert result["config"]["k"] == 10 and result["timings_s"]["total"] > 0
    assert result["data"]["evaluated_users"] == rec["real"]["all"]["n_users"]


def test_segments_follow_training_positives(eval_data: tuple, result: dict) -> None:
    train, test, _ = eval_data
    counts = positives_per_user(train)
    test_pos_users = {u for u, r in zip(test["user_id"], test["rating"], strict=True) if r >= 4}
    cold = sum(counts[u] <= FAST["cold_threshold"] for u in test_pos_users)  # unseen users count 0
    assert 0 < cold < len(test_pos_users)  # both segments are populated, so a swap would show
    assert result["recsys"]["real"]["cold"]["n_users"] == cold
    assert result["recsys"]["real"]["warm"]["n_users"] == len(test_pos_users) - cold
    assert result["recsys"]["real"]["all"]["n_users"] == len(test_pos_users)
    assert dict(training_positives_per_user(train, SCHEMA)) == dict(counts)


def test_evaluate_is_deterministic(eval_data: tuple, result: dict) -> None:
    again = evaluate(*eval_data, SCHEMA, EvalConfig(**FAST))
    assert again["recsys"]["real"] == result["recsys"]["real"]
    assert again["recsys"]["augmented"] == result["recsys"]["augmented"]
    assert again["recsys"]["delta"] == result["recsys"]["delta"]


def test_without_synthetic_only_real_and_popularity(eval_data: tuple) -> None:
    train, test, _ = eval_data
    out = evaluate(train, test, None, SCHEMA, EvalConfig(**FAST))
    assert "augmented" not in out["recsys"] and out["recsys"]["delta"] == {}
    assert "fidelity" not in out and "popularity" in out["recsys"]


def test_strategies_select_targeted_rows(eval_data: tuple) -> None:
    train, _, synthetic = eval_data
    cold = cold_set(train, 4)
    assert set(cold_users(train, SCHEMA, 4)) == cold
    got = select(synthetic, train, SCHEMA, "cold-users", cold_threshold=4)
    assert 0 < len(got) < len(synthetic)
    pd.testing.assert_frame_equal(got, synthetic[[u in cold for u in synthetic["user_id"]]])
    tail = tail_set(train, 0.8)
    assert set(long_tail_items(train, SCHEMA, 0.8)) == tail
    pos = train[train.rating >= 4].item_id.value_counts()
    assert pos.index[0] not in tail  # the most popular item is head
    got = select(synthetic, train, SCHEMA, "long-tail")
    assert 0 < len(got) < len(synthetic)
    pd.testing.assert_frame_equal(got, synthetic[[i in tail for i in synthetic["item_id"]]])


def test_experiment_fits_synthesizers_on_train_only() -> None:
    df = world(n_users=70, n_items=40, seed=5)
    spy: list[FakeSynthesizer] = []

    def factory(schema):
        spy.append(FakeSynthesizer(schema))
        return spy[-1]

    cfg = EvalConfig(**FAST)
    res = run_experiment(df, SCHEMA, synthesizer_factory=factory, config=cfg)
    assert len(spy) == 2  # final synthesizer + the one fitted on the inner split for tuning
    final, tuning = spy[0].fitted_on, spy[1].fitted_on
    assert final is not None and tuning is not None
    key = ["user_id", "item_id", "timestamp"]
    test_keys = pd.MultiIndex.from_frame(res.test[key])
    train_keys = pd.MultiIndex.from_frame(res.train[key])
    for seen in (final, tuning):
        assert not pd.MultiIndex.from_frame(seen[key]).isin(test_keys).any()  # not a single test row
        assert pd.MultiIndex.from_frame(seen[key]).isin(train_keys).all()
    assert len(final) == len(res.train)
    # nor a validation row: the tuning synthesizer saw each user's earliest rows, without the latest
    # val_fraction (counted by hand), and nothing later than what it kept of that user
    assert len(tuning) == len(res.train) - latest_rows_dropped(res.train, cfg.val_fraction)
    in_tuning = pd.MultiIndex.from_frame(res.train[key]).isin(pd.MultiIndex.from_frame(tuning[key]))
    first_held = res.train.loc[~in_tuning].groupby("user_id").timestamp.min()
    last_kept = tuning.groupby("user_id").timestamp.max()
    assert (first_held >= last_kept.reindex(first_held.index)).all()
    inner, val = validation_split(res.train, SCHEMA, cfg)
    assert (
        len(inner) == len(tuning)
        and not pd.MultiIndex.from_frame(tuning[key]).isin(pd.MultiIndex.from_frame(val[key])).any()
    )
    assert len(res.test) > 0 and "augmented" in res.metrics["recsys"]
    assert res.metrics["data"]["tuning_synthetic"].startswith("val_synthetic")


def test_cold_user_strategy_conditions_exactly(eval_data: tuple) -> None:
    train, test, _ = eval_data
    calls: list[dict] = []

    class Recording(FakeSynthesizer):
        def sample(self, n, conditions=None, seed=None):
            calls.append({"n": n, "conditions": conditions})
            return super().sample(n, conditions, seed)

    cfg = EvalConfig(**{**FAST, "strategy": "cold-users"})
    res = run_experiment(
        schema=SCHEMA,
        train=train,
        test=test,
        synthesizer_factory=lambda s: Recording(s),
        config=cfg,
        budget=3,
        tune_synthesizer=False,
    )
    cold = sorted(cold_set(train, 4))
    (call,) = calls
    assert 0 < len(cold) < train["user_id"].nunique()
    assert call["n"] == 3 * len(cold)
    assert sorted(call["conditions"]["user_id"]) == sorted(np.repeat(cold, 3).tolist())
    assert set(res.synthetic.user_id) == set(cold)


def test_html_report_has_plots_and_keys(tmp_path: Path, eval_data: tuple, result: dict) -> None:
    train, _, synthetic = eval_data
    path = write_html(result, tmp_path / "r.html", train=train, synthetic=synthetic, schema=SCHEMA)
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 4
    for key in (
        "recsys.real.all.precision",
        "recsys.augmented.cold.recall",
        "recsys.delta.warm.f1",
        "fidelity.column_shapes",
        "privacy.exact_copy_rate",
    ):
        assert key in text
    from synthdata.evaluate.verdict import CLAUSES, HURTS

    for clause in (*CLAUSES, HURTS):  # the rule, rendered from the constants the verdict decides with
        assert html.escape(clause.text) in text
    import base64

    first = text.split("data:image/png;base64,")[1].split("'")[0]
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_cli_writes_required_keys(tmp_path: Path, eval_data: tuple) -> None:
    train, test, synthetic = eval_data
    for name, df in (("train", train), ("test", test), ("synth", synthetic)):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    SCHEMA.to_yaml(tmp_path / "train.schema.yaml")
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump({k: v for k, v in FAST.items() if k != "seeds"}))
    args = [
        SYNTHDATA,
        "evaluate",
        "--train",
        str(tmp_path / "train.parquet"),
        "--test",
        str(tmp_path / "test.parquet"),
        "--synthetic",
        str(tmp_path / "synth.parquet"),
        "--k",
        "5",
        "--out",
        str(tmp_path / "m.json"),
        "--html",
        str(tmp_path / "r.html"),
        "--seeds",
        "1",
        "--config",
        str(tmp_path / "eval.yaml"),
    ]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    for run in ("real", "augmented", "popularity"):
        for seg in ("all", "cold", "warm"):
            for metric in ("precision", "recall", "f1", "ndcg"):
                assert set(m["recsys"][run][seg][metric]) >= {"mean", "ci_low", "ci_high"}
    assert set(m["recsys"]["delta"]["cold"]["recall"]) == {"mean", "ci_low", "ci_high", "p_value"}
    assert m["config"]["k"] == 5 and m["config"]["seeds"] == 1
    assert "fidelity" in m and "privacy" in m
    assert "precision" in r.stdout and (tmp_path / "r.html").exists()
    # bad input: one line, exit 2
    bad = subprocess.run(
        [*args[:6], "--synthetic", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "missing.parquet" in bad.stderr and "Traceback" not in bad.stderr
    bad_cfg = subprocess.run(
        [*args[:-2], "--config", str(tmp_path / "nope.yaml")], capture_output=True, text=True, check=False
    )
    assert bad_cfg.returncode == 2
    # synthetic ids of another type than the training ids: exit 2 naming the file and the column
    synthetic.assign(item_id=synthetic["item_id"].astype(str) + "x").to_parquet(tmp_path / "s2.parquet")
    bad_ids = subprocess.run(
        [*args[:6], "--synthetic", str(tmp_path / "s2.parquet"), "--out", str(tmp_path / "y.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad_ids.returncode == 2 and "s2.parquet" in bad_ids.stderr and "item_id" in bad_ids.stderr
    assert "verdict:" in r.stdout and "ctl.popularity" in r.stdout and "membership-inference AUC" in r.stdout


def test_report_reads_metrics_json_with_empty_segment(tmp_path: Path, eval_data: tuple) -> None:
    """An empty segment gives NaN, stored as null in metrics.json; the report and table still render."""
    from rich.console import Console

    from synthdata.evaluate.report import json_safe, summary_table

    train, test, synthetic = eval_data
    out = evaluate(train, test, synthetic, SCHEMA, EvalConfig(**{**FAST, "cold_threshold": 0}))
    cold_n = out["recsys"]["real"]["cold"]["n_users"]
    reloaded = json.loads(json.dumps(json_safe(out)))
    assert cold_n == 0  # every user of this world has a training positive
    assert reloaded["recsys"]["real"]["cold"]["precision"]["mean"] is None
    write_html(reloaded, tmp_path / "r.html")
    console = Console(record=True, width=200)
    console.print(summary_table(reloaded))
    assert "cold (n=" in console.export_text()


def test_val_synthetic_is_used_for_tuning(eval_data: tuple) -> None:
    train, test, synthetic = eval_data
    cfg = EvalConfig(**FAST)
    inner, _ = validation_split(train, SCHEMA, cfg)
    val_syn = FakeSynthesizer(SCHEMA, seed=2).fit(inner).sample(len(inner))
    out = evaluate(train, test, synthetic, SCHEMA, cfg, val_synthetic=val_syn)
    assert out["data"]["tuning_synthetic"].startswith("val_synthetic")
    plain = evaluate(train, test, synthetic, SCHEMA, cfg)
    assert "conservative" in plain["data"]["tuning_synthetic"]
    assert out["recsys"]["real"] == plain["recsys"]["real"]  # the real-only run does not depend on it
