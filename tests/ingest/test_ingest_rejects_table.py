"""`--rejects-to URL`: rejected rows also land in a database table, appended per ingest, on SQLite
and PostgreSQL; the file stays the complete record and nothing else changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli
from support.files import rejects, write

from synthdata.export import read_table

DIRTY = "user,item,rating\n1,10,5\n,11,4\n2,12,9\n2,13,x\n3,14,3\n"

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def test_rejects_appended_to_table(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "r.csv", DIRTY)
    schema = write(
        tmp_path / "s.yaml",
        "columns:\n- {name: user_id, source: user, role: user_id, dtype: int}\n"
        "- {name: item_id, source: item, role: item_id, dtype: int}\n"
        "- {name: rating, role: signal, dtype: int, min: 1, max: 5}\n",
    )
    for run in (1, 2):
        code, out, err = run_cli(
            [
                "ingest",
                src,
                "--schema",
                schema,
                "--out",
                tmp_path / f"c{run}.parquet",
                "--rejects-to",
                db_url,
            ],
            capsys,
        )
        assert code == 0, err
        assert "3 rows appended to ingest_rejects" in out
    table = read_table(db_url, "ingest_rejects")
    assert len(table) == 6  # appended, not replaced
    file_rows = rejects(tmp_path / "c2.rejects.parquet")
    assert sorted(table["reason"].unique()) == sorted(file_rows["reason"].unique())
    assert set(table["reason"]) == {"missing_id", "out_of_range", "bad_type"}
    assert {"ingested_at", "clean_table", "line", "column", "raw"} <= set(table.columns)
    assert sorted(table["line"].astype(int).unique()) == [3, 4, 5]


def test_bad_rejects_table_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "r.csv", DIRTY)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    code, _, err = run_cli(
        ["ingest", src, "--out", tmp_path / "c.parquet", "--rejects-to", url, "--rejects-table", "x; DROP"],
        capsys,
    )
    assert code == 2 and "Traceback" not in err
