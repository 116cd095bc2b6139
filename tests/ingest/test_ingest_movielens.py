"""MovieLens-100K layout on the real data: the issue's acceptance numbers and the table contract."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli

from synthdata.schema import Schema

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


@pytest.mark.movielens
def test_movielens_100k(movielens_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "ingest",
        movielens_dir,
        "--layout",
        "movielens-100k",
        "--out",
        tmp_path / "x.parquet",
        "--report",
        tmp_path / "r.json",
    ]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "100,000" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    assert (rep["rows_in"], rep["rows_out"], rep["n_users"], rep["n_items"]) == (100_000, 100_000, 943, 1682)
    assert rep["rows_rejected"] == 0 and rep["rejected_by_reason"] == {}
    assert all(a["rows_rejected"] == 0 for a in rep["attributes"].values())
    df = pd.read_parquet(tmp_path / "x.parquet")
    schema = Schema.from_yaml(tmp_path / "x.schema.yaml")
    assert df.columns.tolist() == schema.names
    assert df.columns[:11].tolist() == [
        "user_id",
        "item_id",
        "rating",
        "timestamp",
        "age",
        "gender",
        "occupation",
        "zip_code",
        "title",
        "release_date",
        "genre",
    ]
    flags = [c for c in df.columns if c.startswith("genre_")]
    assert len(flags) == 19 and all(df[c].dtype == bool for c in flags)
    assert df["rating"].between(1, 5).all() and set(df["gender"]) == {"M", "F"}
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["release_date"].isna().sum() > 0  # a few titles have no release date: nullable, kept
    assert schema.positive.column == "rating" and schema.positive.min == 4
    # primary genre is the first flagged one
    first = df[flags].to_numpy().argmax(axis=1)
    assert (
        df["genre"].str.lower().str.replace("'", "").str.replace("-", "_")
        == pd.Series(flags).str.removeprefix("genre_").to_numpy()[first]
    ).all()
