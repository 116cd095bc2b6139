"""Issue 9 for ingest, on both executors: NUL bytes, read-only one-statement queries, options
checked before output, out-of-range timestamps, malformed records, no partial output on failure.
Each test failed on 74c103d."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from support.cli import run_cli
from support.files import rejects, write

pytestmark = pytest.mark.usefixtures("both_engines")

SCHEMA = (
    "columns:\n- {name: user_id, role: user_id, dtype: int}\n"
    "- {name: item_id, role: item_id, dtype: string}\n"
    "- {name: rating, role: signal, dtype: int, min: 1, max: 5}\n"
)
INJECTION = "SELECT 1 AS x) _a; DROP TABLE victim; COMMIT; SELECT * FROM (SELECT 1"


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def test_nul_bytes_are_rejected_never_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "n.csv", b"user_id,item_id,rating\n12\x0034,a,3\n12,a,3\n1,ab\x00cd,4\n2,ab,4\n")
    s = write(tmp_path / "s.yaml", SCHEMA)
    code, _, err = run_cli(["ingest", src, "--schema", s, "--out", tmp_path / "c.parquet"], capsys)
    assert code == 0, err
    rej = rejects(tmp_path / "c.rejects.parquet")
    assert rej[["line", "reason", "column"]].values.tolist() == [
        [2, "nul_byte", "user_id"],
        [4, "nul_byte", "item_id"],
    ]
    assert rej["value"].tolist() == ["12\x0034", "ab\x00cd"]
    assert json.loads(rej["raw"].iloc[1])["item_id"] == "ab\x00cd"
    clean = pd.read_parquet(tmp_path / "c.parquet")
    assert clean[["user_id", "item_id"]].values.tolist() == [[12, "a"], [2, "ab"]]  # nothing merged


def test_malformed_records_are_quarantined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "m.csv", "user_id,item_id,rating\n1,a,3\n1,b,3,4,5\n4,c,1\n5,d,9,9\n6,e,2\n")
    code, _, err = run_cli(
        ["ingest", src, "--out", tmp_path / "c.parquet", "--report", tmp_path / "r.json"], capsys
    )
    assert code == 0, err
    rej = rejects(tmp_path / "c.rejects.parquet")
    assert rej[["line", "reason"]].values.tolist() == [[3, "malformed_record"], [5, "malformed_record"]]
    assert [json.loads(r)["_record"] for r in rej["raw"]] == ["1,b,3,4,5", "5,d,9,9"]
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["rows_in"] == 5 == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    assert rep["rows_kept"] == 3
    code, _, err = run_cli(
        ["ingest", src, "--out", tmp_path / "e.parquet", "--on-malformed", "error"], capsys
    )
    assert code == 2 and "malformed CSV" in err and "row 3" in " ".join(err.split())


def test_failed_ingest_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "in" / "g.csv", "user_id,item_id,rating\n1,a,3\n2,b,4\n")
    out = tmp_path / "out"
    code, _, _ = run_cli(["ingest", good, "--out", out / "c.parquet", "--report", out / "r.json"], capsys)
    assert code == 0
    before = {p: p.read_bytes() for p in out.iterdir()}
    bad = write(tmp_path / "in" / "b.csv", b"user_id,item_id,rating\n" + b"1,a,3\n" * 50 + b"2,caf\xe9,3\n")
    for args in (  # fails half-way: a byte that is not UTF-8 on line 52
        [bad, "--out", out / "c.parquet", "--report", out / "r.json", "--chunk-size", "7"],
        [bad, "--out", tmp_path / "new" / "x.parquet"],
    ):
        code, _, err = run_cli(["ingest", *args], capsys)
        assert code == 2 and "Traceback" not in err
    assert {p: p.read_bytes() for p in out.iterdir()} == before  # old outputs intact, nothing added
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--rejects-to", "sqlite:///{d}/r.db", "--rejects-table", "x; DROP TABLE y"],
        ["--rejects-to", "sqlite:///{d}/r.db", "--rejects-table", "a.b.c"],
        ["--rejects-to", "nodriver://x", "--rejects-table", "t"],
        ["--memory-limit", "lots"],
        ["--threads", "0"],
        ["--engine", "spark"],
        ["--on-malformed", "skip"],
        ["--rejects", "{d}/out/r.txt"],
        ["--report", "{d}/out/r.yaml"],
    ],
)
def test_options_checked_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    src = write(tmp_path / "in.csv", "user_id,item_id,rating\n1,a,3\n")
    extra = [a.format(d=tmp_path) for a in extra]
    code, out, err = run_cli(["ingest", src, "--out", tmp_path / "out" / "c.parquet", *extra], capsys)
    assert code == 2 and "Traceback" not in err + out
    assert _files(tmp_path) == {"in.csv"}


def test_parquet_out_of_range_timestamps_are_rejected(tmp_path: Path) -> None:
    from synthdata.ingest import ingest

    ts = [
        pd.Timestamp("2024-01-01").to_pydatetime(),
        pd.Timestamp("1600-01-01").to_pydatetime(),
        pd.Timestamp("3000-01-01").to_pydatetime(),
    ]
    t = pa.table({"user_id": [1, 2, 3], "item_id": ["a", "b", "c"], "ts": pa.array(ts, pa.timestamp("us"))})
    pq.write_table(t, tmp_path / "t.parquet")
    s = write(
        tmp_path / "s.yaml",
        SCHEMA.replace(
            "- {name: rating, role: signal, dtype: int, min: 1, max: 5}\n",
            "- {name: ts, role: timestamp, dtype: datetime}\n",
        ),
    )
    res = ingest(tmp_path / "t.parquet", schema=s, out=tmp_path / "c.parquet")
    rej = pd.read_parquet(res.rejects_path)
    assert rej[["line", "reason", "column"]].values.tolist() == [
        [2, "bad_timestamp", "ts"],
        [3, "bad_timestamp", "ts"],
    ]
    assert res.read()["user_id"].tolist() == [1]


@pytest.mark.postgres
def test_postgres_infinity_is_a_bad_timestamp(pg_url: str, tmp_path: Path) -> None:
    from synthdata.ingest import ingest

    eng = sa.create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE e (user_id int, item_id text, ts timestamptz)")
        c.exec_driver_sql("INSERT INTO e VALUES (1,'a','2024-01-01'),(2,'b','infinity'),(3,'c','-infinity')")
    eng.dispose()
    s = write(
        tmp_path / "s.yaml",
        SCHEMA.replace(
            "- {name: rating, role: signal, dtype: int, min: 1, max: 5}\n",
            "- {name: ts, role: timestamp, dtype: datetime}\n",
        ),
    )
    for how in ({"table": "e"}, {"query": "SELECT user_id, item_id, ts FROM e ORDER BY user_id"}):
        res = ingest(pg_url, schema=s, out=tmp_path / "c.parquet", **how)
        rej = pd.read_parquet(res.rejects_path)
        assert rej[["line", "reason", "value"]].values.tolist() == [
            [2, "bad_timestamp", "infinity"],
            [3, "bad_timestamp", "-infinity"],
        ]
        assert res.read()["user_id"].tolist() == [1]


def _victim(url: str) -> None:
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE victim (user_id int, item_id text, rating int)")
        c.exec_driver_sql("INSERT INTO victim VALUES (1,'a',3),(2,'b',2),(3,'c',4)")
    eng.dispose()


def _victim_rows(url: str) -> int:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.exec_driver_sql("SELECT count(*) FROM victim").scalar_one())
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_query_is_one_read_only_statement(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _victim(db_url)
    cli = ["ingest", db_url, "--out", tmp_path / "c.parquet", "--query"]
    code, _, err = run_cli([*cli, INJECTION], capsys)
    assert code == 2 and "--query" in err and _victim_rows(db_url) == 3
    code, _, err = run_cli([*cli, "SELECT 1 AS x; DROP TABLE victim"], capsys)
    assert code == 2 and "one statement" in err and _victim_rows(db_url) == 3
    writes = (
        "WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d"
        if db_url.startswith("postgresql")
        else "WITH k AS (SELECT 1) DELETE FROM victim RETURNING *"
    )
    code, _, err = run_cli([*cli, writes], capsys)
    assert code == 2 and "Traceback" not in err and _victim_rows(db_url) == 3
    # `:name` is text, not a bind parameter; a trailing `;` is fine
    q = "SELECT user_id, item_id, rating, ':tag' AS note FROM victim ORDER BY user_id;"
    code, _, err = run_cli([*cli, q], capsys)
    assert code == 0, err
    assert pd.read_parquet(tmp_path / "c.parquet")["note"].tolist() == [":tag"] * 3
    assert not list(tmp_path.glob("*.parquet.*")) and _victim_rows(db_url) == 3


@pytest.mark.postgres
def test_errors_while_streaming_are_masked_input_errors(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _victim(pg_url)
    url = sa.engine.make_url(pg_url).set(password="s3cretpw").render_as_string(hide_password=False)
    q = "SELECT user_id, item_id, 10 / (rating - 2) AS rating FROM victim"
    code, out, err = run_cli(["ingest", url, "--query", q, "--out", tmp_path / "c.parquet"], capsys)
    assert code == 2 and "division by zero" in err and "Traceback" not in err
    assert "s3cretpw" not in err + out and "***" in err
    assert _files(tmp_path) == set()
