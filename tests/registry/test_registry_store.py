"""Run registry store: runs, stages, metrics (with CIs), params (masked), artefacts, on both backends."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from synthdata.registry import Registry, RegistryError, flatten_metrics, flatten_params, resolve_url


def test_run_lifecycle_roundtrip(db_url: str, tmp_path: Path) -> None:
    art = tmp_path / "synth.parquet"
    art.write_bytes(b"not really parquet but bytes" * 100)
    with Registry(db_url) as reg:
        reg.create_run(
            "r1",
            name="demo",
            config={"train": {"epochs": 3}, "seed": 0},
            config_hash="c" * 64,
            run_dir=str(tmp_path),
        )
        reg.start_stage("r1", "ingest", "h-ingest")
        reg.finish_stage("r1", "ingest", "succeeded")
        reg.start_stage("r1", "train", "h-train")
        reg.finish_stage("r1", "train", "failed", message="boom")
        n = reg.log_metrics(
            "r1",
            {
                "recsys": {"real": {"recall@10": {"mean": 0.2, "ci": [0.1, 0.3], "n_users": 50}}},
                "privacy": {"exact_copy_rate": 0.0, "dcr": {"p5": float("nan")}},
            },
        )
        reg.add_artefact("r1", "synth", art, "synthetic")
        reg.finish_run("r1", "failed", exit_code=1, error="train failed")
        run = reg.get_run("r1")
    assert run is not None and run.status == "failed" and run.exit_code == 1 and run.name == "demo"
    assert [s.name for s in run.stages] == ["ingest", "train"]
    assert run.stages[0].status == "succeeded" and run.stages[0].duration_s is not None
    assert run.stages[0].duration_s >= 0 and run.stages[1].message == "boom"
    assert run.created_at.tzinfo is not None and run.finished_at is not None
    assert n == len(run.metrics) == 4
    m = run.metrics["recsys.real.recall@10.mean"]
    assert (m.value, m.ci_low, m.ci_high) == (0.2, 0.1, 0.3)
    assert run.metrics["recsys.real.recall@10.n_users"].value == 50
    assert run.metrics["privacy.dcr.p5"].value is None  # NaN stored as NULL, portable
    assert run.params == {"train.epochs": 3, "seed": 0}
    a = run.artefacts["synth"]
    assert a.sha256 == hashlib.sha256(art.read_bytes()).hexdigest() and a.bytes == art.stat().st_size


def test_find_stage_returns_succeeded_matches_newest_first(db_url: str) -> None:
    with Registry(db_url) as reg:
        for rid, status in [("a", "succeeded"), ("b", "failed"), ("c", "succeeded")]:
            reg.create_run(rid, run_dir=f"/runs/{rid}")
            reg.start_stage(rid, "train", "same-hash")
            reg.finish_stage(rid, "train", status)
            reg.finish_run(rid, status)
        reg.create_run("d")
        reg.start_stage("d", "train", "other-hash")
        reg.finish_stage("d", "train", "succeeded")
        assert reg.find_stage("train", "same-hash") == [("c", "/runs/c"), ("a", "/runs/a")]
        assert reg.find_stage("train", "same-hash", exclude_run="c") == [("a", "/runs/a")]
        assert reg.find_stage("ingest", "same-hash") == []
        # restarting a stage (resume) resets it to running until finished again
        reg.start_stage("a", "train", "same-hash")
        assert reg.find_stage("train", "same-hash") == [("c", "/runs/c")]
        assert [r.id for r in reg.list_runs()] == ["d", "c", "b", "a"]
        assert [r.id for r in reg.list_runs(status="failed")] == ["b"]
        assert reg.resolve_run_id("d") == "d" and reg.resolve_run_id("zz") is None


def test_passwords_never_stored_or_shown(db_url: str, tmp_path: Path) -> None:
    secret_url = "postgresql+psycopg://loader:s3cr3tPW@db.example:5432/warehouse"
    with Registry(db_url) as reg:
        reg.create_run("r", config={"export": {"url": secret_url}, "sources": [{"url": secret_url}]})
        reg.finish_run("r", "failed", error=f"could not connect to {secret_url}")
        reg.start_stage("r", "export", "h")
        reg.finish_stage("r", "export", "failed", message=f"refused: {secret_url}")
        run = reg.get_run("r")
        with reg.engine.connect() as c:
            dump = " ".join(
                str(row)
                for t in ("runs", "stages", "params", "metrics", "artefacts")
                for row in c.execute(sa.text(f"SELECT * FROM {t}"))
            )
    assert "s3cr3tPW" not in dump and "***" in dump
    assert (
        run is not None
        and run.params["export.url"] == "postgresql+psycopg://loader:***@db.example:5432/warehouse"
    )
    assert "s3cr3tPW" not in repr(Registry(f"sqlite:///{tmp_path / 'x.db'}"))


def test_unreachable_registry_error_masks_password() -> None:
    with pytest.raises(RegistryError) as ei:
        Registry("postgresql+psycopg://u:hunter2pw@127.0.0.1:1/nope?connect_timeout=2")
    assert "hunter2pw" not in str(ei.value) and "***" in str(ei.value)


def test_resolve_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DB_URL", raising=False)
    assert resolve_url(None) == "sqlite:///./synthdata.db"
    monkeypatch.setenv("SYNTHDATA_DB_URL", "sqlite:///env.db")
    assert resolve_url(None) == "sqlite:///env.db"
    assert resolve_url("sqlite:///cli.db") == "sqlite:///cli.db"


def test_flatten_params_nested_and_masked() -> None:
    flat = flatten_params(
        {"a": {"b": {"c": 1}, "d": [1, 2]}, "e": {}, "u": "sqlite:///x.db", "p": "mysql://a:b@h/d"}
    )
    assert flat == {
        "a.b.c": "1",
        "a.d": "[1, 2]",
        "e": "{}",
        "u": '"sqlite:///x.db"',
        "p": '"mysql://a:***@h/d"',
    }


leaf = st.floats(allow_nan=False, allow_infinity=False, width=32) | st.integers(-(10**6), 10**6)
key = st.text(alphabet="abcxyz_@0123456789", min_size=1, max_size=6).filter(lambda k: k not in {"ci", "mean"})
tree = st.recursive(leaf, lambda kids: st.dictionaries(key, kids, min_size=1, max_size=4), max_leaves=20)


@given(st.dictionaries(key, tree, min_size=1, max_size=4))
def test_flatten_metrics_keeps_every_numeric_leaf(metrics: dict) -> None:
    flat = flatten_metrics(metrics)

    def leaves(node: object, path: str) -> dict[str, float]:
        if isinstance(node, dict):
            out: dict[str, float] = {}
            for k, v in node.items():
                out.update(leaves(v, f"{path}.{k}" if path else k))
            return out
        return {path: float(node)}  # type: ignore[arg-type]

    expected = leaves(metrics, "")
    assert set(flat) == set(expected)
    for k, v in expected.items():
        assert math.isclose(flat[k][0], v) and flat[k][1:] == (None, None)


def test_flatten_metrics_ci_forms() -> None:
    flat = flatten_metrics(
        {
            "a": {"mean": 1.0, "ci": [0.5, 1.5]},
            "b": {"mean": 2.0, "ci_low": 1.0, "ci_high": 3.0, "std": 0.1},
            "c": {"value": 3.0, "lo": 2.0, "hi": 4.0},
            "d": {"ci": [0.0, 1.0]},  # no point estimate: bounds kept as plain rows
        }
    )
    assert flat == {
        "a.mean": (1.0, 0.5, 1.5),
        "b.mean": (2.0, 1.0, 3.0),
        "b.std": (0.1, None, None),
        "c.value": (3.0, 2.0, 4.0),
        "d.ci.0": (0.0, None, None),
        "d.ci.1": (1.0, None, None),
    }
