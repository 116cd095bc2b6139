"""Verdict calibration with known answers (synthdata/testing/known_answers.py, not part of the product):
a planted generator that adds held-out test positives must get `helps`; null generators must not."""

from __future__ import annotations

import pytest
from support.eval_world import FAST_EVAL, SCHEMA, world

from synthdata.evaluate import EvalConfig, evaluate
from synthdata.split import split
from synthdata.testing.known_answers import NULLS, tables

CFG = EvalConfig(**{**FAST_EVAL, "seeds": 3, "privacy": False})


@pytest.fixture(scope="module")
def data():
    return split(world(n_users=150, n_items=60, seed=11), SCHEMA)


def test_planted_generator_gets_helps(data) -> None:
    train, test = data
    synthetic, val_synthetic = tables("planted", train, test, SCHEMA, CFG, share=0.6, seed=0)
    rec = evaluate(train, test, synthetic, SCHEMA, CFG, val_synthetic=val_synthetic)["recsys"]
    assert rec["verdict"]["all"] == "helps", (rec["verdict_detail"]["all"], rec["per_seed_delta"])
    assert rec["chosen_alpha"]["augmented"] > 0
    assert all(d > 0 for d in rec["per_seed_delta"]["real"]["all"]["ndcg"])


def test_planted_with_one_seed_never_says_helps(data) -> None:
    train, test = data
    cfg = CFG.model_copy(update={"seeds": 1})
    synthetic, val_synthetic = tables("planted", train, test, SCHEMA, cfg, share=0.3, seed=0)
    rec = evaluate(train, test, synthetic, SCHEMA, cfg, val_synthetic=val_synthetic)["recsys"]
    assert "helps" not in rec["verdict"].values()
    assert "seed" in rec["verdict_detail"]["all"]["reason"]


@pytest.mark.parametrize("null", NULLS)
def test_null_generators_do_not_get_helps(data, null: str) -> None:
    """A small version of the study's false-positive measurement (the study runs ≥ 20 seeds)."""
    train, test = data
    helps = 0
    for seed in range(3):
        cfg = CFG.model_copy(update={"seed": seed})
        synthetic, val_synthetic = tables(null, train, test, SCHEMA, cfg, share=0.5, seed=seed)
        rec = evaluate(train, test, synthetic, SCHEMA, cfg, val_synthetic=val_synthetic)["recsys"]
        helps += sum(v == "helps" for v in rec["verdict"].values())
    assert helps == 0
