"""`synthdata evaluate` options the docs promise: `--model bpr`, `--strategy`, `--val-synthetic` and
`tuning: joint` (in --config), each checked for its effect on metrics.json against a default run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from support.cli import run_cli_code
from support.eval_world import FAST_EVAL, SCHEMA, FakeSynthesizer, world

from synthdata.split import split

CFG = {**FAST_EVAL, "seeds": 1, "factors_grid": [4, 8], "n_bootstrap": 100, "n_permutations": 100}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("evalcli")
    train, test = split(world(n_users=60, n_items=40, seed=4), SCHEMA)
    synth = FakeSynthesizer(SCHEMA).fit(train).sample(len(train), seed=1)
    for name, df in (("train", train), ("test", test), ("synth", synth)):
        df.to_parquet(d / f"{name}.parquet", index=False)
    SCHEMA.to_yaml(d / "train.schema.yaml")
    (d / "eval.yaml").write_text(yaml.safe_dump(CFG))
    return SimpleNamespace(dir=d, train=train, synth=synth)


def evaluate(ws: SimpleNamespace, name: str, *extra: str, config: Path | None = None) -> dict:
    d = ws.dir
    args = ["evaluate", "--train", f"{d}/train.parquet", "--test", f"{d}/test.parquet"]
    args += ["--synthetic", f"{d}/synth.parquet", "--out", f"{d}/{name}.json"]
    args += ["--config", str(config or d / "eval.yaml"), *extra]
    assert run_cli_code(args) == 0  # the exit code only: module-scoped callers have no capsys
    return json.loads((d / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def default(ws: SimpleNamespace) -> dict:
    return evaluate(ws, "default")


def test_model_bpr(ws, default) -> None:
    bpr = evaluate(ws, "bpr", "--model", "bpr")
    assert default["config"]["model"] == "als" and bpr["config"]["model"] == "bpr"
    for run in ("real", "augmented"):
        assert default["recsys"]["tuning"][run]["chosen"]["model"] == "als"
        assert bpr["recsys"]["tuning"][run]["chosen"]["model"] == "bpr"
    assert bpr["recsys"]["real"]["all"]["ndcg"] != default["recsys"]["real"]["all"]["ndcg"]


def test_strategy_cold_users_keeps_only_cold_users_rows(ws, default) -> None:
    got = evaluate(ws, "cold", "--strategy", "cold-users", "--cold-threshold", "4")
    positives = Counter({u: 0 for u in ws.train["user_id"]})
    positives.update(u for u, r in zip(ws.train["user_id"], ws.train["rating"], strict=True) if r >= 4)
    cold = {u for u, n in positives.items() if n <= 4}
    expected = int(np.isin(ws.synth["user_id"], list(cold)).sum())
    assert 0 < expected < len(ws.synth)
    assert got["config"]["strategy"] == "cold-users"
    assert got["data"]["synthetic_rows_after_strategy"] == expected
    assert default["data"]["synthetic_rows_after_strategy"] == len(ws.synth)


def test_val_synthetic_file_is_the_tuning_table(ws, default) -> None:
    val = FakeSynthesizer(SCHEMA, seed=2).fit(ws.train).sample(len(ws.train) // 2, seed=3)
    val.loc[val.index[:3], "item_id"] = [9001, 9002, 9003]  # items train never saw: dropped, counted
    val.to_parquet(ws.dir / "val.parquet", index=False)
    got = evaluate(ws, "val", "--val-synthetic", str(ws.dir / "val.parquet"))
    assert got["data"]["tuning_synthetic"].startswith("val_synthetic")
    assert got["data"]["val_synthetic_rows_unknown_items_dropped"] == 3
    assert not default["data"]["tuning_synthetic"].startswith("val_synthetic")
    assert got["recsys"]["real"] == default["recsys"]["real"]  # the real-only run does not use it


def test_tuning_joint_gives_every_run_the_whole_grid(ws, default) -> None:
    joint_cfg = ws.dir / "joint.yaml"
    joint_cfg.write_text(yaml.safe_dump({**CFG, "tuning": "joint"}))
    joint = evaluate(ws, "joint", config=joint_cfg)

    def cells(m: dict) -> set:
        return {(r["factors"], r["synthetic_alpha"]) for r in m["recsys"]["tuning"]["augmented"]["grid"]}

    assert cells(joint) == {(f, a) for f in (4, 8) for a in (0.0, 0.5)}
    shared = cells(default)  # shared: α is tuned at the factors real-only chose
    chosen = default["recsys"]["tuning"]["real"]["chosen"]["factors"]
    assert {f for f, a in shared if a > 0} == {chosen}
    assert joint["recsys"]["recommender_fits"] > default["recsys"]["recommender_fits"]
