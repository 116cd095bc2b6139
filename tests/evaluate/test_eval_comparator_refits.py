"""Skipping the controls' refits at the augmented α changes no verdict and no clause.

On the bundled sample, the calibration's uniform null with seed 3 (benchmarks/results/calibration.jsonl)
settles every segment against real-only: `hurts` on warm users, the `significant` clause on the others.
Forcing the refits must give the same verdicts and clauses, with more recommender fits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import synthdata.evaluate.api as api
from synthdata.evaluate import EvalConfig, evaluate
from synthdata.ingest import ingest
from synthdata.schema import Schema
from synthdata.split import split
from synthdata.testing.known_answers import CALIBRATION_GRID, tables

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
CFG = EvalConfig(seed=3, fidelity=False, privacy=False, synthetic_only=False, **CALIBRATION_GRID)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("sample") / "clean.parquet"
    ingest(SAMPLE, layout="events", schema=SAMPLE / "schema.yaml", out=out)
    df, schema = pd.read_parquet(out), Schema.from_yaml(out.with_name("clean.schema.yaml"))
    train, test = split(df, schema, "user-temporal", 0.2, seed=0)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    synthetic, val = tables("uniform", train, test, schema, CFG, share=0.5, seed=3)
    return train, test, synthetic, schema, val


def _run(inputs) -> dict:
    train, test, synthetic, schema, val = inputs
    return evaluate(train, test, synthetic, schema, CFG, val_synthetic=val)["recsys"]


def test_skipped_refits_change_no_verdict_and_no_clause(inputs, monkeypatch) -> None:
    lazy = _run(inputs)
    assert lazy["comparator_refits"]["refitted"] == []
    assert len(lazy["comparator_refits"]["skipped"]) == 3, lazy["comparator_refits"]
    settled = lazy["comparator_refits"]["settled_by_real"]
    assert settled == lazy["verdict"] and "hurts" in settled.values()
    monkeypatch.setattr(api, "settled_segments", lambda results, masks, cfg: dict.fromkeys(masks))
    forced = _run(inputs)
    assert forced["comparator_refits"]["refitted"] == lazy["comparator_refits"]["skipped"]
    assert forced["verdict"] == lazy["verdict"]
    clauses = {seg: d["clause"] for seg, d in lazy["verdict_detail"].items()}
    assert {seg: d["clause"] for seg, d in forced["verdict_detail"].items()} == clauses
    assert forced["recommender_fits"] > lazy["recommender_fits"]
    assert forced["delta"] == lazy["delta"]  # the tests against real-only do not move
