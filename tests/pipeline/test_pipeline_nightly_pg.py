"""pipelines/nightly.yaml against the PostgreSQL server: SQL source table → PG registry → PG export.

Runs in CI (the `pg_url` fixture fails there when the server is down). Only the budget knobs the
config exposes through environment variables are turned down; everything else is the shipped file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from support.cli import run_cli
from support.pipeline_world import interactions

from synthdata.export import export_table, read_table
from synthdata.pipeline.config import load_config
from synthdata.pipeline.gates import evaluate_gates
from synthdata.registry import Registry

NIGHTLY = Path(__file__).resolve().parents[2] / "pipelines" / "nightly.yaml"
SECRET = "Sup3rS3cretPW"


def test_nightly_yaml_on_postgres(pg_url: str, tmp_path: Path, monkeypatch, capsys) -> None:
    clean_rows = interactions(seed=3)
    dirty = clean_rows.head(2).assign(rating=[9, 0])  # out of the schema's 1-5 range: rejected
    source = pd.concat([clean_rows, dirty], ignore_index=True)
    export_table(source, pg_url, "interactions")  # the warehouse table, in this test's fresh schema
    # trust auth ignores the password, so a real-looking secret can travel through every URL
    with_pw = pg_url.replace("://postgres@", f"://postgres:{SECRET}@", 1)
    assert SECRET in with_pw
    for var in ("SYNTHDATA_DB_URL", "SOURCE_DB_URL", "EXPORT_DB_URL"):
        monkeypatch.setenv(var, with_pw)
    monkeypatch.setenv("NIGHTLY_EPOCHS", "2")
    monkeypatch.setenv("NIGHTLY_MAX_MINUTES", "2")
    monkeypatch.setenv("NIGHTLY_EVAL_SEEDS", "1")
    monkeypatch.setenv("NIGHTLY_ALS_ITERATIONS", "3")
    # Tiny data: a 0.005 margin would fail on noise, so the run gets −1. A recall delta lies in [−1, 1],
    # so at −1 the gate can only fail on a missing or NaN metric; what it read is checked below instead
    # (the printed value is the run's metric, and the shipped gate fails once the bar is above it).
    monkeypatch.setenv("NIGHTLY_COLD_RECALL_EPS", "-1")
    # ~50 rows per class: the row-level MIA excess has a standard error near 0.08 here (docs), so the
    # shipped 0.05 would fail on noise; the gate itself failing a leaking model is test_pipeline_config's
    monkeypatch.setenv("NIGHTLY_MAX_MIA_EXCESS", "0.3")
    monkeypatch.setenv("SYNTHDATA_RUNS_DIR", str(tmp_path / "runs"))

    code, out, err = run_cli(["run", NIGHTLY], capsys)
    assert code == 0, err[-3000:]
    assert "PASS exact-copies" in out
    got = re.search(r"PASS cold-recall-not-worse \(actual ([^)]+)\)", out)
    assert got, out[-3000:]
    actual = float(got.group(1))  # "nan" or "missing" would not get here: NaN never passes
    assert math.isfinite(actual)
    assert "PASS membership-inference" in out and "SKIP identical-histories" in out

    with Registry(pg_url) as reg:
        assert reg.engine.dialect.name == "postgresql"
        (run,) = reg.list_runs()
        info = reg.get_run(run.id)
    assert info is not None and info.status == "succeeded" and info.name == "nightly"
    assert {s.name: s.status for s in info.stages} == {
        "ingest": "succeeded",
        "split": "succeeded",
        "train": "succeeded",
        "generate": "succeeded",
        "evaluate": "succeeded",
        "gate": "succeeded",
        "export": "succeeded",
    }
    assert info.params["source.table"] == "interactions" and info.params["train.epochs"] == 2
    assert info.params["evaluate.iterations"] == 3
    assert Path(info.run_dir or "").parent == (tmp_path / "runs").resolve()

    metrics = json.loads((Path(info.run_dir or "") / "metrics.json").read_text())
    rec = metrics["recsys"]
    stored = rec["delta"]["cold"]["recall"]["mean"]
    assert actual == pytest.approx(stored, rel=1e-5, abs=1e-9)  # printed with 6 significant digits
    assert info.metrics["recsys.delta.cold.recall.mean"].value == pytest.approx(stored)
    assert stored == pytest.approx(
        rec["augmented"]["cold"]["recall"]["mean"] - rec["real"]["cold"]["recall"]["mean"]
    )
    # the shipped gate, read from the same file: with its bar just above the stored value it fails
    (gate,) = [g for g in load_config(NIGHTLY).gates if g.name == "cold-recall-not-worse"]
    assert gate.metric == "recsys.delta.cold.recall.mean" and gate.op == ">=" and gate.value == -1
    (fails,) = evaluate_gates([gate.model_copy(update={"value": stored + 1e-6})], metrics)
    (passes,) = evaluate_gates([gate.model_copy(update={"value": stored})], metrics)
    assert not fails.passed and passes.passed
    # on tiny data the tuned α is often 0 (delta exactly 0): the gate must read the metric, not a
    # constant, so the same run's metrics with the cold delta below the −1 bar fail it
    worse = json.loads(json.dumps(metrics))
    worse["recsys"]["delta"]["cold"]["recall"]["mean"] = stored - 2
    (low,) = evaluate_gates([gate], worse)
    assert not low.passed and low.actual == pytest.approx(stored - 2)

    synth = pd.read_parquet(Path(info.run_dir or "") / "synth.parquet")
    exported = read_table(pg_url, "synthetic_interactions")
    assert len(exported) == len(synth) > 0
    assert set(exported.columns) == set(synth.columns)
    clean = pd.read_parquet(Path(info.run_dir or "") / "clean.parquet")
    assert len(clean) == len(clean_rows)  # every valid warehouse row made it through ingestion
    rej = read_table(pg_url, "ingest_rejects")  # and the two bad ones are in the rejects table
    assert sorted(rej["reason"]) == ["out_of_range", "out_of_range"] and set(rej["column"]) == {"rating"}
    eng = sa.create_engine(pg_url)
    try:
        tables = set(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()
    assert {"runs", "stages", "metrics", "params", "artefacts", "alembic_version"} <= tables
    assert not any(t.startswith("_sd_stage_") for t in tables)

    # the password appears nowhere: console, log, run directory files, registry rows
    assert SECRET not in out + err
    for f in Path(info.run_dir or "").rglob("*"):
        if f.is_file() and f.suffix in {".log", ".json", ".yaml", ".html", ".csv", ".input_hash"}:
            assert SECRET not in f.read_text(errors="replace"), f
    eng = sa.create_engine(pg_url)
    try:
        with eng.connect() as c:
            for t in ("runs", "stages", "params", "metrics", "artefacts"):
                assert SECRET not in " ".join(str(r) for r in c.execute(sa.text(f"SELECT * FROM {t}"))), t
    finally:
        eng.dispose()
    assert "***" in str(info.params.get("source.url")) and "***" in str(info.params.get("export.url"))
