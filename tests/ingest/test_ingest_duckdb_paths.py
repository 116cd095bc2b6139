"""The DuckDB executor's fast paths give the streaming executor's results: fingerprint
de-duplication (and its DISTINCT fallback), the events table written by DuckDB itself, CSV
suspects re-read by position, and the line accounting that skips the blank-line search."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.event_log import dirty, event_log
from support.files import write

import synthdata.ingest.executors.duckdb.run as duck
from synthdata.errors import InputError
from synthdata.ingest import ingest
from synthdata.ingest.executors.duckdb.dedup import Fingerprints, dedup_sql
from synthdata.ingest.sources.csvtext import blank_lines, scan_bytes

# events without inline attributes: the fused path (de-duplicated inside the aggregation)
SCHEMA = (
    "layout: events\nevent_types: [view, cart, purchase]\ncolumns:\n"
    "- {name: user_id, source: user, role: user_id, dtype: int}\n"
    "- {name: item_id, source: item, role: item_id, dtype: int}\n"
    "- {name: event_type, source: event, role: event_type, dtype: string}\n"
    "- {name: ts, role: timestamp, dtype: datetime}\n"
    "- {name: price, role: signal, dtype: float, min: 0, nullable: true}\n"
)


# rows only the validator can read (padded ids, offsets without a colon, exponents) and bad rows
DIRT = {
    "padded_user": 0.02,
    "offset_ts": 0.01,
    "negative_price": 0.01,
    "unknown_event": 0.01,
    "exponent_price": 0.01,
}


def _frame(n: int, seed: int) -> pd.DataFrame:
    """Random events (int item ids, as SCHEMA says) with DIRT and n // 10 exact duplicates."""
    log = event_log(n, seed=seed, users=39, items=25, item_prefix="")
    return dirty(log, DIRT, seed=seed, duplicates=n // 10)


def _run(tmp: Path, src: Path, engine: str, **kw: object) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    res = ingest(
        src, schema=write(tmp / "s.yaml", SCHEMA), out=tmp / engine / "c.parquet", engine=engine, **kw
    )
    rep = res.report.to_dict()
    for k in ("elapsed_s", "engine", "outputs"):
        rep.pop(k)
    return res.read(), pd.read_parquet(res.rejects_path), rep


def _identical(tmp: Path, src: Path, **kw: object) -> dict:
    a, ra, da = _run(tmp, src, "duckdb", **kw)
    b, rb, db = _run(tmp, src, "pandas")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ra, rb)
    assert da == db
    return da


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("fingerprints", [True, False])
def test_fused_events_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, fingerprints: bool
) -> None:
    """Duplicates, suspects, rescued rows and rejects: the same table either way of de-duplicating."""
    if not fingerprints:
        monkeypatch.setattr(duck, "fingerprint_budget", lambda _limit: -1)
    df = _frame(3000, seed=5)
    src = tmp_path / f"e.{fmt}"
    if fmt == "csv":
        df.to_csv(src, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), src, row_group_size=700)
    d = _identical(tmp_path, src)
    assert d["rows_in"] == 3300 == d["rows_kept"] + d["rows_rejected"] + d["rows_merged"]
    assert d["rows_merged"] >= 250 and d["rows_rejected"] > 50


def test_duckdb_writes_the_events_file_itself(tmp_path: Path) -> None:
    """The DuckDB-written events table has the streaming writer's Arrow types, in (user, item) order."""
    src = tmp_path / "e.csv"
    _frame(500, seed=1).to_csv(src, index=False)
    _identical(tmp_path, src)
    a = pq.read_schema(tmp_path / "duckdb" / "c.parquet")
    b = pq.read_schema(tmp_path / "pandas" / "c.parquet")
    assert [(f.name, f.type) for f in a] == [(f.name, f.type) for f in b]
    t = pd.read_parquet(tmp_path / "duckdb" / "c.parquet")
    assert t.sort_values(["user_id", "item_id"]).index.tolist() == list(range(len(t)))


H = b"user,item,event,ts,price\n"


@pytest.mark.parametrize(
    ("text", "searched"),
    [
        (H.replace(b"\n", b"\r\n") + b"1,1,view,2024-01-01,1\r\n\r\n2,2,cart,2024-01-01,2\r\n", True),
        (H + b"1,1,view,2024-01-01,1\n\n\n2,2,cart,2024-01-01,2", True),
        (H + b'1,1,view,2024-01-01,"1"\n2,x,cart,2024-01-01,2\n', False),
        (H + b"1,1,view,2024-01-01,1,9\n2,2,cart\n\n4,4,view,2024-01-01,3\n", True),
        (H + b"1,1,view,2024-01-01,1,9\n2,2,cart\n4,4,view,2024-01-01,3\n", False),
    ],
    ids=["crlf-blank", "blanks-no-final-newline", "clean", "malformed-short-blank", "malformed-short"],
)
def test_blank_lines_with_and_without_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bytes, searched: bool
) -> None:
    """Blank lines, CRLF and malformed records: the same rejects at the same lines; the slow
    search for blank lines runs only when the line count says there may be some."""
    import synthdata.ingest.executors.duckdb.read as duckread

    calls = []
    real = duckread.blank_lines
    monkeypatch.setattr(duckread, "blank_lines", lambda p: calls.append(p) or real(p))
    src = write(tmp_path / "e.csv", text)
    _identical(tmp_path, src)
    assert bool(calls) == searched


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_long_first_record_is_malformed(tmp_path: Path, engine: str) -> None:
    """A first record with one field too many: pandas took its first column as the index and
    shifted every column (all rows bad_type); now both engines quarantine it, or stop on it."""
    src = write(tmp_path / "e.csv", H + b"1,1,view,2024-01-01,1,9\n4,4,view,2024-01-01,3\n")
    t, rej, rep = _run(tmp_path, src, engine)
    assert rej[["line", "reason"]].values.tolist() == [[2, "malformed_record"]]
    assert t["user_id"].tolist() == [4] and rep["rows_kept"] == 1
    with pytest.raises(InputError, match="line 2"):
        _run(tmp_path / "strict", src, engine, on_malformed="error")


def test_quoted_line_break_counts_lines(tmp_path: Path) -> None:
    """The documented difference: after a quoted field spanning two lines DuckDB numbers physical
    lines, pandas records. Tables and reasons agree."""
    src = write(tmp_path / "e.csv", H + b'1,1,"vi\new",2024-01-01,1\n\n3,3,view,2024-01-01,2\n')
    a, ra, da = _run(tmp_path, src, "duckdb")
    b, rb, db = _run(tmp_path, src, "pandas")
    pd.testing.assert_frame_equal(a, b)
    assert da == db
    assert ra["reason"].tolist() == rb["reason"].tolist() == ["unknown_event_type", "missing_id"]
    assert ra["line"].tolist() == [2, 4] and rb["line"].tolist() == [2, 3]


def test_byte_scan_counts_lines(tmp_path: Path) -> None:
    cases = {
        b"": (0, False),
        b"a\n": (1, False),
        b"a": (1, False),
        b"a\r\nb\r\n\r\n": (3, False),
        b"a\rb\n": (1, True),
        b"x" * (1 << 24) + b"\r\n": (1, False),  # CRLF across the scan's block boundary
    }
    for i, (data, (lines, lone_cr)) in enumerate(cases.items()):
        s = scan_bytes(write(tmp_path / f"{i}.csv", data))
        assert (s.lines, s.lone_cr, s.has_nul) == (lines, lone_cr, False)
    assert scan_bytes(write(tmp_path / "n.csv", b"a\x00\n")).has_nul
    assert blank_lines(write(tmp_path / "b.csv", b"a\n\nb\r\n\r\nc\n")) == [2, 4]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["a", "b"]), st.sampled_from([0.0, -0.0, 1.5, None])),
        max_size=40,
    ),
    everything=st.booleans(),
)
def test_fingerprint_dedup_is_distinct(rows: list[tuple], everything: bool) -> None:
    """Any set of candidate fingerprints that includes the repeated ones gives DISTINCT's rows
    (`everything`: every row a candidate, as if every fingerprint collided)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (u BIGINT, e VARCHAR, v DOUBLE)")
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    key = "u, e, v"
    fps = Fingerprints(len(rows))
    fps.add(con, f"SELECT hash({key}) FROM t")
    cands = fps.repeated()
    if everything:
        cands = np.unique(
            con.execute(f"SELECT hash({key}) FROM t").fetchnumpy()[f"hash({key})"].astype(np.uint64)
        )
    got = con.execute(
        f"SELECT * FROM ({dedup_sql(con, 'SELECT * FROM t', key, cands)}) ORDER BY ALL"
    ).fetchall()
    want = con.execute("SELECT DISTINCT * FROM t ORDER BY ALL").fetchall()
    assert got == want
