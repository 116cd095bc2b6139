"""Events layout: aggregation against a plain pandas groupby, chunk-size invariance, attributes,
and the bundled sample (deterministic generator, demo report)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.cli import run_cli
from support.event_log import as_text, event_log

from synthdata.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def make_log(tmp_path: Path, n: int = 3000, seed: int = 0) -> tuple[Path, pd.DataFrame]:
    """A clean log written as CSV under synonyms the inference must map (visitor, product, action)."""
    df = event_log(n, seed=seed, users=59, items=40, start="2023-05-01", days=30)
    path = tmp_path / "log.csv"
    synonyms = {"user": "visitor", "item": "product", "event": "action"}
    as_text(df).rename(columns=synonyms).to_csv(path, index=False)
    return path, df


def reference(df: pd.DataFrame) -> pd.DataFrame:
    """Straightforward in-memory aggregation, the oracle for the streaming one."""
    counts = pd.crosstab([df["user"], df["item"]], df["event"])
    g = df.groupby(["user", "item"])
    ref = (
        pd.DataFrame(
            {
                "views": counts.get("view", 0),
                "carts": counts.get("cart", 0),
                "purchases": counts.get("purchase", 0),
                "first_ts": g["ts"].min(),
                "last_ts": g["ts"].max(),
                "value_sum": g["price"].sum().round(6),
            }
        )
        .reset_index()
        .rename(columns={"user": "user_id", "item": "item_id"})
    )
    return ref.sort_values(["user_id", "item_id"]).reset_index(drop=True)


def test_events_match_reference_and_any_chunk_size(tmp_path: Path) -> None:
    path, df = make_log(tmp_path)
    whole = ingest(path, layout="events", out=tmp_path / "a.parquet", chunk_size=1_000_000)
    tiny = ingest(
        path, layout="events", out=tmp_path / "b.parquet", schema=whole.inferred_schema_path, chunk_size=37
    )
    a, b = whole.read(), tiny.read()
    pd.testing.assert_frame_equal(a, b)
    ref = reference(df)
    cols = ["user_id", "item_id", "views", "carts", "purchases", "first_ts", "last_ts"]
    pd.testing.assert_frame_equal(a[cols], ref[cols], check_dtype=False)
    np.testing.assert_allclose(a["value_sum"], ref["value_sum"], rtol=1e-9)
    d = whole.report.to_dict()
    assert d["rows_out"] == len(ref) and d["rows_kept"] == len(df)
    assert d["n_users"] == df["user"].nunique() and d["n_items"] == df["item"].nunique()
    assert whole.schema.positive.confidence == "purchases"
    assert whole.schema.column("last_ts").role == "timestamp"


def test_events_duplicates_across_chunks_are_merged(tmp_path: Path) -> None:
    text = (
        "user_id,item_id,event_type,timestamp\n"
        + "1,5,view,2024-01-01T00:00:00Z\n" * 5
        + "1,5,view,2024-01-02T00:00:00Z\n"
    )
    (tmp_path / "e.csv").write_text(text)
    res = ingest(tmp_path / "e.csv", layout="events", out=tmp_path / "c.parquet", chunk_size=2)
    d = res.report.to_dict()
    assert (d["rows_in"], d["rows_kept"], d["rows_merged"], d["rows_out"]) == (6, 2, 4, 1)
    assert res.read()["views"].tolist() == [2]


def _digest(folder: Path) -> dict[str, str]:
    return {
        f: hashlib.sha256((folder / f).read_bytes()).hexdigest()
        for f in ("events.csv", "users.csv", "items.csv", "schema.yaml")
    }


def test_sample_generator_is_deterministic_and_matches_bundled(tmp_path: Path) -> None:
    for d in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "data" / "make_sample.py"),
                "--out",
                str(tmp_path / d),
                "--seed",
                "7",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") == _digest(ROOT / "data" / "sample")
    size = sum(
        (ROOT / "data" / "sample" / f).stat().st_size for f in ("events.csv", "users.csv", "items.csv")
    )
    assert size <= 5_000_000


def test_demo_ingests_sample_and_shows_cleaning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["demo", "--ingest-only", tmp_path / "demo"], capsys)
    assert code == 0 and "rows_rejected" in out
    import json

    rep = json.loads((tmp_path / "demo" / "ingest_report.json").read_text())
    # the generator's documented dirty rows, each caught with its reason
    assert rep["rejected_by_reason"] == {
        "bad_type": 2,
        "missing_id": 3,
        "out_of_range": 4,
        "unknown_event_type": 2,
    }
    assert rep["rows_merged"] == 3
    assert rep["attributes"]["users"]["rejected_by_reason"] == {"attribute_conflict": 1}
    assert rep["attributes"]["users"]["rows_merged"] == 1
    assert rep["attributes"]["items"]["rejected_by_reason"] == {"out_of_range": 1}
    clean = pd.read_parquet(tmp_path / "demo" / "clean.parquet")
    assert {
        "user_id",
        "item_id",
        "views",
        "carts",
        "purchases",
        "first_ts",
        "last_ts",
        "age_band",
        "country",
        "category",
        "price",
    } <= set(clean.columns)
    assert (clean[["views", "carts", "purchases"]].sum(axis=1) > 0).all()
    # the funnel: fewer carts than views, fewer purchases than carts
    assert clean["views"].sum() > clean["carts"].sum() > clean["purchases"].sum() > 0
