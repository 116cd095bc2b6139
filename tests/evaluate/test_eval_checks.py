"""The inputs a sceptic checks first: a test split that is not held out is refused, unscoreable test
users and items are counted, and a synthetic table that saw the test split gets a warning."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli
from support.eval_world import FAST_EVAL, SCHEMA, FakeSynthesizer, world

from synthdata.errors import InputError
from synthdata.evaluate import evaluate
from synthdata.evaluate.checks import leakage_report, split_checks
from synthdata.evaluate.config import EvalConfig
from synthdata.split import split

CFG = EvalConfig(**{**FAST_EVAL, "seeds": 1, "privacy": False})


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(world(n_users=90, n_items=300, seed=5), SCHEMA)


def test_identical_train_and_test_is_refused_naming_the_count(data) -> None:
    train, _ = data
    with pytest.raises(InputError) as e:
        evaluate(train, train, None, SCHEMA, CFG)
    n = len(train[["user_id", "item_id"]].drop_duplicates())
    assert f"{n:,} of {n:,} test (user, item) pairs (100%)" in str(e.value)


def test_a_held_out_split_passes_and_counts_what_cf_cannot_score(data) -> None:
    train, test = data
    stranger = test.iloc[:3].assign(user_id=999_999, item_id=[777_001, 777_002, 777_003])
    before = split_checks(train, test, SCHEMA, max_shared=0.2)
    counts = split_checks(train, pd.concat([test, stranger]), SCHEMA, max_shared=0.2)
    assert counts["test_pairs_shared_with_train"] == before["test_pairs_shared_with_train"] == 0
    assert counts["test_users_not_in_train"] == before["test_users_not_in_train"] + 1
    assert counts["test_items_not_in_train"] == before["test_items_not_in_train"] + 3


def test_a_generator_that_saw_the_test_split_is_flagged(data) -> None:
    train, test = data
    honest = FakeSynthesizer(SCHEMA).fit(train).sample(len(train), seed=1)
    cheat = pd.concat([train, test], ignore_index=True)  # "fitted on the full data": it replays test
    assert not leakage_report(honest, train, test, SCHEMA, seed=0)["warning"]
    report = leakage_report(cheat, train, test, SCHEMA, seed=0)
    assert report["warning"] and report["ratio_to_best_control"] >= 3 and "LEAK?" in report["note"]


def test_cli_shows_the_warning_next_to_the_verdict(data, tmp_path: Path, capsys) -> None:
    train, test = data
    for name, df in (("train", train), ("test", test), ("synth", pd.concat([train, test]))):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
        SCHEMA.to_yaml(tmp_path / f"{name}.schema.yaml")
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        "seeds: 1\nfactors_grid: [8]\nregularization_grid: [0.1]\nalpha_grid: [0.5]\nprivacy: false\n"
    )
    args = ["evaluate", "--train", tmp_path / "train.parquet", "--test", tmp_path / "test.parquet"]
    args += ["--synthetic", tmp_path / "synth.parquet", "--config", cfg, "--out", tmp_path / "m.json"]
    code, out, err = run_cli([*args, "--html", tmp_path / "r.html"], capsys)
    assert code == 0, err[-1500:]
    assert "WARNING: LEAK?" in out and out.index("WARNING: LEAK?") < out.index("verdict:")  # above the table
    assert out.rindex("WARNING: LEAK?") < out.rindex("verdict:")  # and beside the verdict line
    assert "WARNING: LEAK?" in (tmp_path / "r.html").read_text()
