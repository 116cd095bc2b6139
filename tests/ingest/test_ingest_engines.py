"""One plan, three executors: DuckDB (files), push-down (PostgreSQL) and streaming pandas give the
same clean table, the same rejects (reason, column, line, value, raw) and the same counts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from support.event_log import dirty, event_log
from support.files import write

from synthdata.ingest import ingest

SCHEMA = (
    "layout: {layout}\nevent_types: [view, cart, purchase]\nconstraints: []\ncolumns:\n"
    "- {{name: user_id, source: user, role: user_id, dtype: int}}\n"
    "- {{name: item_id, source: item, role: item_id, dtype: string}}\n"
    "- {{name: event_type, source: event, role: event_type, dtype: string}}\n"
    "- {{name: ts, role: timestamp, dtype: datetime}}\n"
    "- {{name: price, role: signal, dtype: float, min: 0, nullable: true}}\n"
    "- {{name: channel, role: user_attribute, dtype: category, nullable: true}}\n"
)
# every kind of dirt the validator knows, plus text only pandas' parser reads (kept by both)
DIRTY = (
    "user,item,event,ts,price,channel\n"
    "1,a,view,2024-01-01T00:00:00Z,1.5,web\n"
    "1,a,view,2024-01-01T00:00:00Z,1.5,web\n"  # exact duplicate: merged
    ",b,view,2024-01-01T00:00:00Z,2,web\n"  # missing_id
    "x,b,view,2024-01-01T00:00:00Z,2,web\n"  # bad_type
    "2, b ,cart,2024-01-02 10:00:00,3,app\n"  # padded item: stripped by the validator, kept
    "2,b,cart,02-Jan-2024,3,app\n"  # non-ISO date: parsed by the validator, kept
    "3,c,buy,2024-01-01T00:00:00Z,1,web\n"  # unknown_event_type
    "3,c,view,1989-01-01T00:00:00Z,1,web\n"  # out_of_range (before 1990)
    "3,c,view,3000-01-01T00:00:00Z,1,web\n"  # bad_timestamp
    "3,c,view,yesterday,1,web\n"  # bad_type
    "4,d,view,2024-01-03T00:00:00Z,-5,web\n"  # out_of_range price
    "4,d,view,2024-01-03T00:00:00Z,1e2,web\n"  # exponent: kept
    "5,e,view,2024-01-03T00:00:00Z,,app\n"  # empty nullable price: kept
    "5,e,view,2024-01-03T00:00:00Z,7,web\n"  # channel conflict for user 5 (app wins on first line)
    "6,f,view,2024-01-03T00:00:00Z,1,web,extra\n"  # malformed_record
    "\n"  # blank line: a row with every field empty (missing_id)
    "7,g,purchase,2024-01-04T00:00:00Z\n"  # too few fields: malformed_record (kept with --pad-short-records)
    '8,"h,1",view,2024-01-04T00:00:00Z,1,"we""b"\n'  # quoting
    "9,i,view,2024-01-04T00:00:00+02:00,1,web\n"  # offset
    "10,j,view,2024-01-04T00:00:00Z,1,\tweb\n"  # tab padding
)


def _both(tmp_path: Path, src: Path | str, schema: str, **kw: object) -> dict[str, object]:
    s = write(tmp_path / "s.yaml", schema)
    out = {}
    for engine in ("duckdb", "pandas"):
        res = ingest(src, schema=s, out=tmp_path / engine / "clean.parquet", engine=engine, **kw)
        out[engine] = res
    return out


def _same(res: dict) -> dict:
    a, b = res["duckdb"], res["pandas"]
    pd.testing.assert_frame_equal(a.read(), b.read())
    pd.testing.assert_frame_equal(pd.read_parquet(a.rejects_path), pd.read_parquet(b.rejects_path))
    da, db = a.report.to_dict(), b.report.to_dict()
    for k in ("elapsed_s", "engine", "outputs"):
        da.pop(k), db.pop(k)
    assert da == db
    assert a.schema_path.read_text() == b.schema_path.read_text()
    return da


@pytest.mark.parametrize("layout", ["interactions", "events"])
@pytest.mark.parametrize("chunk", [3, 1000])
def test_dirty_csv_identical(tmp_path: Path, layout: str, chunk: int) -> None:
    src = write(tmp_path / "dirty.csv", DIRTY)
    res = _both(tmp_path, src, SCHEMA.format(layout=layout), chunk_size=chunk)
    d = _same(res)
    assert res["duckdb"].report.engine == "duckdb" and res["pandas"].report.engine == "pandas"
    assert d["rows_in"] == 20 == d["rows_kept"] + d["rows_rejected"] + d["rows_merged"]
    rej = pd.read_parquet(res["duckdb"].rejects_path)
    by_line = dict(zip(rej["line"], rej["reason"], strict=True))
    assert by_line == {
        4: "missing_id",
        5: "bad_type",
        8: "unknown_event_type",
        9: "out_of_range",
        10: "bad_timestamp",
        11: "bad_type",
        12: "out_of_range",
        15: "attribute_conflict",
        16: "malformed_record",
        17: "missing_id",
        18: "malformed_record",
    }
    assert json.loads(rej.loc[rej["reason"] == "malformed_record", "raw"].iloc[0])["_record"].endswith(
        ",extra"
    )


@pytest.mark.parametrize("chunk", [3, 1000])
def test_dirty_csv_padded_identical(tmp_path: Path, chunk: int) -> None:
    """With --pad-short-records the short record (line 18) is padded and kept by both engines."""
    src = write(tmp_path / "dirty.csv", DIRTY)
    res = _both(tmp_path, src, SCHEMA.format(layout="events"), chunk_size=chunk, pad_short_records=True)
    d = _same(res)
    assert d["rows_in"] == 20 == d["rows_kept"] + d["rows_rejected"] + d["rows_merged"]
    rej = pd.read_parquet(res["duckdb"].rejects_path)
    assert 18 not in rej["line"].tolist() and rej["reason"].tolist().count("malformed_record") == 1
    assert 7 in res["pandas"].read()["user_id"].tolist()


def test_random_csv_identical(tmp_path: Path) -> None:
    """Many random rows with sprinkled dirt: byte-for-byte the same tables and rejects."""
    log = event_log(5000, seed=3, users=299, items=80, start="2023-01-01", days=400, channel=True)
    dirt = {
        "empty_user": 0.01,
        "bad_user": 0.01,
        "unknown_event": 0.01,
        "bad_date": 0.01,
        "empty_price": 0.01,
        "empty_channel": 1 / 3,
    }
    df = dirty(log, dirt, seed=3, duplicates=200)
    src = tmp_path / "r.csv"
    df.to_csv(src, index=False)
    for layout in ("events", "interactions"):
        d = _same(_both(tmp_path / layout, src, SCHEMA.format(layout=layout), chunk_size=777))
        assert d["rows_merged"] >= 150 and d["rows_rejected"] > 100


def test_parquet_dataset_glob_and_hive(tmp_path: Path) -> None:
    """Folders and globs of Parquet files, with `key=value` partition folders as columns; line
    numbers run through the files in path order; year 1600/3000 timestamps are bad_timestamp."""
    root = tmp_path / "ds"
    rows = []
    for day, n in (("2024-01-01", 4), ("2024-01-02", 3)):
        ts = [pd.Timestamp(f"{day} 10:00", tz="UTC").to_pydatetime()] * n
        if day == "2024-01-02":
            ts[1] = pd.Timestamp("1600-01-01").to_pydatetime().replace(tzinfo=None)
            ts[2] = pd.Timestamp("3000-01-01").to_pydatetime().replace(tzinfo=None)
        t = pa.table(
            {
                "user": pa.array(list(range(1, n + 1)), pa.int64()),
                "item": [f"i{k}" for k in range(n)],
                "event": ["view"] * n,
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "price": [1.0] * n,
            }
        )
        (root / f"day={day}").mkdir(parents=True)
        pq.write_table(t, root / f"day={day}" / "part.parquet")
        rows.append(n)
    schema = SCHEMA.format(layout="interactions").replace(
        "- {name: channel, role: user_attribute, dtype: category, nullable: true}\n",
        "- {name: day, role: signal, dtype: string}\n",
    )
    for src in (root, str(root / "*" / "*.parquet")):
        res = _both(tmp_path / str(abs(hash(str(src)))), src, schema)
        d = _same(res)
        assert d["rows_in"] == 7
        rej = pd.read_parquet(res["duckdb"].rejects_path)
        assert rej[["line", "reason"]].values.tolist() == [[6, "bad_timestamp"], [7, "bad_timestamp"]]
        assert res["duckdb"].report.rows_out == 4  # `day` came from the folder names (else: column missing)


@pytest.mark.postgres
def test_postgres_pushdown_identical(pg_url: str, tmp_path: Path) -> None:
    """The database validates, de-duplicates and aggregates; infinity timestamps are per-row
    bad_timestamp rejects; the result equals streaming every row through pandas."""
    eng = sa.create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql(
            'CREATE TABLE ev ("user" bigint, item text, event text, ts timestamptz, price float8)'
        )
        c.exec_driver_sql(
            "INSERT INTO ev VALUES (1,'a','view','2024-01-01',1.5),(1,'a','view','2024-01-01',1.5),"
            "(1,'a','purchase','2024-01-02',9),(2,'b','view','infinity',1),(2,'b','view','-infinity',1),"
            "(NULL,'b','view','2024-01-01',1),(3,'c','teleport','2024-01-01',1),(3,'c','view','2024-01-01',-1),"
            "(3,'c','cart','2024-01-05',NULL),(4,'d','view','1989-12-31',1)"
        )
    eng.dispose()
    schema = SCHEMA.format(layout="events").replace(
        "- {name: channel, role: user_attribute, dtype: category, nullable: true}\n", ""
    )
    res = _both(tmp_path, pg_url, schema, table="ev")
    assert res["duckdb"].report.engine == "pushdown"
    d = _same(res)
    assert d["rows_in"] == 10 and d["rows_merged"] == 1 and d["rows_out"] == 2
    assert d["rejected_by_reason"] == {
        "bad_timestamp": 2,
        "missing_id": 1,
        "out_of_range": 2,
        "unknown_event_type": 1,
    }


@pytest.mark.postgres
def test_postgres_text_columns_fall_back_to_streaming(pg_url: str, tmp_path: Path) -> None:
    eng = sa.create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql('CREATE TABLE t ("user" text, item text, event text, ts text, price text)')
        c.exec_driver_sql(
            "INSERT INTO t VALUES ('1','a','view','2024-01-01','1'),('x','a','view','2024-01-01','1')"
        )
    eng.dispose()
    schema = SCHEMA.format(layout="events").replace(
        "- {name: channel, role: user_attribute, dtype: category, nullable: true}\n", ""
    )
    res = _both(tmp_path, pg_url, schema, table="t")
    assert res["duckdb"].report.engine == "pandas"  # text where the schema wants numbers: exact path
    _same(res)


@pytest.mark.postgres
def test_pushdown_is_driven_by_the_dialect_profile(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database's push-down is its entry in `dialects.PUSHDOWN`: with the entry changed (another
    byte-order collation, an extra session statement) the plan still runs in the database with the
    same result; without an entry the ingest streams."""
    import synthdata.ingest.executors.pushdown.run as pushdown
    from synthdata.ingest.executors.pushdown.dialects import PUSHDOWN

    eng = sa.create_engine(pg_url)
    with eng.begin() as c:
        c.exec_driver_sql(
            'CREATE TABLE ev2 ("user" text, item text, event text, ts timestamptz, price float8)'
        )
        c.exec_driver_sql(
            "INSERT INTO ev2 VALUES ('u2','b','view','2024-01-01',1),('U1','a','view','2024-01-02',2),"
            "('u1','a','cart','2024-01-03',3),('u1','a','cart','2024-01-03',3)"
        )
    eng.dispose()
    schema = (
        SCHEMA.format(layout="events")
        .replace("- {name: channel, role: user_attribute, dtype: category, nullable: true}\n", "")
        .replace(
            "{name: user_id, source: user, role: user_id, dtype: int}",
            "{name: user_id, source: user, role: user_id, dtype: string}",
        )
    )
    pg = PUSHDOWN["postgresql"]
    changed = dataclasses.replace(
        pg, byte_order='"POSIX"', setup=(*pg.setup, "SET LOCAL statement_timeout = '5min'")
    )
    monkeypatch.setitem(pushdown.PUSHDOWN, "postgresql", changed)
    res = _both(tmp_path / "changed", pg_url, schema, table="ev2")
    assert res["duckdb"].report.engine == "pushdown"
    assert res["duckdb"].read()["user_id"].tolist() == ["U1", "u1", "u2"]  # byte order: upper case first
    _same(res)
    monkeypatch.delitem(pushdown.PUSHDOWN, "postgresql")
    res = _both(tmp_path / "none", pg_url, schema, table="ev2")
    assert res["duckdb"].report.engine == "pandas"
    _same(res)


def test_engine_options(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", DIRTY)
    s = write(tmp_path / "s.yaml", SCHEMA.format(layout="events"))
    a = ingest(src, schema=s, out=tmp_path / "a.parquet", threads=1, memory_limit="256MB")
    b = ingest(src, schema=s, out=tmp_path / "b.parquet", engine="pandas")
    pd.testing.assert_frame_equal(a.read(), b.read())
    assert not list(tmp_path.glob(".*duckdb-tmp*"))  # the spill folder is removed


def test_null_tokens_and_quoting_identical(tmp_path: Path) -> None:
    """`null`, `NULL`, `NaN`, `nan`, `None`, `N/A`, empty and quoted-empty fields are empty in both
    CSV readers; quoted delimiters, doubled quotes and a bare quote inside a field read the same."""
    text = "user,item,event,ts,price,channel\n" + "".join(
        f"{u},i{u},view,2024-01-0{1 + u % 5}T00:00:00Z,{p},{c}\n"
        for u, (p, c) in enumerate(
            [
                ("null", "web"),
                ("NULL", '""'),
                ("NaN", "N/A"),
                ("nan", "None"),
                ('""', '"a,b"'),
                ("1", '"say ""hi"""'),
                ("2", 'x"y'),
                ("N/A", ""),
            ],
            start=1,
        )
    )
    src = write(tmp_path / "na.csv", text)
    d = _same(_both(tmp_path, src, SCHEMA.format(layout="interactions")))
    assert d["rows_kept"] == 8 and d["rows_rejected"] == 0
