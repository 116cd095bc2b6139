"""Sources: CSV with any delimiter and with/without header, Parquet, SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from support.files import (
    write,
)

from synthdata.errors import InputError
from synthdata.ingest import ingest
from synthdata.ingest.sources.csvtext import sniff_csv
from synthdata.masking import mask_url

ROWS = [(1, "a", 4), (1, "b", 2), (2, "a", 5), (3, "c", 1)]

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def expected() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["user_id", "item_id", "rating"])


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_delimiters_and_header(tmp_path: Path, sep: str, header: bool) -> None:
    lines = ([sep.join(["user_id", "item_id", "rating"])] if header else []) + [
        sep.join(map(str, r)) for r in ROWS
    ]
    src = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    assert sniff_csv(src, None) == (sep, header)
    res = ingest(src, out=tmp_path / "c.parquet")
    df = res.read()
    # header-less: positions 0, 1 are user and item; the small-int column 2 is read as a rating
    assert df.columns[:3].tolist() == ["user_id", "item_id", "rating"]
    assert (
        df[["user_id", "item_id", "rating"]].astype({"item_id": str}).values.tolist()
        == expected().values.tolist()
    )
    assert res.inferred_schema_path is not None and res.inferred_schema_path.exists()
    assert res.report.to_dict()["rows_in"] == len(ROWS)


def test_parquet_source_row_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame({"user_id": [1, 2, None, 4], "item_id": ["a", "b", "c", "d"], "rating": [1, 2, 3, 9]})
    df.to_parquet(tmp_path / "in.parquet")
    schema = tmp_path / "s.yaml"
    schema.write_text(
        "columns:\n- {name: user_id, role: user_id, dtype: int}\n"
        "- {name: item_id, role: item_id, dtype: string}\n"
        "- {name: rating, role: signal, dtype: int, min: 1, max: 5}\n"
    )
    res = ingest(tmp_path / "in.parquet", schema=schema, out=tmp_path / "c.parquet", chunk_size=2)
    rej = pd.read_parquet(res.rejects_path)
    assert rej[["line", "reason", "column"]].values.tolist() == [
        [3, "missing_id", "user_id"],
        [4, "out_of_range", "rating"],
    ]
    assert res.read()["user_id"].tolist() == [1, 2]


@pytest.mark.postgres
def test_sql_table_and_query(db_url: str, tmp_path: Path) -> None:
    eng = sa.create_engine(db_url)
    expected().assign(rating=[4, 2, 5, -1]).to_sql("ratings", eng, index=False)
    eng.dispose()
    res = ingest(db_url, table="ratings", out=tmp_path / "t.parquet", chunk_size=3)
    d = res.report.to_dict()
    assert (d["rows_in"], d["rows_kept"], d["rows_rejected"]) == (4, 3, 1)
    rej = pd.read_parquet(res.rejects_path)
    assert rej[["line", "reason"]].values.tolist() == [[4, "out_of_range"]]
    res2 = ingest(
        db_url,
        query="SELECT user_id, item_id, rating FROM ratings WHERE rating > 2",
        out=tmp_path / "q.parquet",
    )
    assert sorted(res2.read()["rating"].tolist()) == [4, 5]


def test_sql_bad_table_name_and_password_masking(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid table name"):
        ingest(sqlite_url, table="x; DROP TABLE y", out=tmp_path / "c.parquet")
    with pytest.raises(InputError, match="cannot read from database"):
        ingest(sqlite_url, table="nope", out=tmp_path / "c.parquet")
    url = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/db"
    assert "s3cret" not in mask_url(url) and "***" in mask_url(url)
    with pytest.raises(InputError) as e:
        ingest(url, table="t", out=tmp_path / "c.parquet")
    assert "s3cret" not in str(e.value)
