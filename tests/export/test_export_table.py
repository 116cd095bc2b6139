"""export_table: round trip, if_exists semantics, hostile names, rollback on failure, on both backends."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from synthdata import export as export_mod
from synthdata.db import validate_identifier
from synthdata.errors import InputError
from synthdata.export import ExportError, export_table, read_table
from synthdata.export import rows as export_rows


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, 1000, n),
            "item_id": rng.integers(0, 500, n).astype("int32"),
            "views": rng.integers(0, 20, n),
            "price": rng.random(n) * 100,
            "last_ts": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s"),
            "country": pd.Categorical(rng.choice(["DE", "FR", "US"], n)),
            "vip": rng.random(n) < 0.3,
            "note": pd.Series(rng.choice(["a", "", 'quote"d', "comma,\nnewline", None], n), dtype=object),
        }
    )


def table_names(url: str) -> set[str]:
    eng = sa.create_engine(url)
    try:
        return set(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Exported content equals the source (row order, types normalised for the backend)."""
    b = b[list(a.columns)].copy()
    a = a.copy()
    for c in ("last_ts",):
        a[c] = pd.to_datetime(a[c], utc=True)
        b[c] = pd.to_datetime(b[c], utc=True)
    a["country"] = a["country"].astype(str)
    key = ["user_id", "item_id", "views", "price"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    b["vip"] = b["vip"].astype(bool)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("from_parquet", [True, False])
def test_roundtrip_parquet_and_frame(db_url: str, tmp_path: Path, from_parquet: bool) -> None:
    df = frame(2_345)
    src: object = df
    if from_parquet:
        src = tmp_path / "synth.parquet"
        df.to_parquet(src, row_group_size=700)
    res = export_table(src, db_url, "synthetic_events", chunk_size=500)  # type: ignore[arg-type]
    assert res.rows == len(df) and res.rows_per_s > 0 and res.table == "synthetic_events"
    same_rows(df, read_table(db_url, "synthetic_events"))
    assert not any(t.startswith("_sd_stage_") for t in table_names(db_url))


def test_if_exists_semantics(db_url: str) -> None:
    a, b = frame(100, seed=1), frame(60, seed=2)
    export_table(a, db_url, "t")
    with pytest.raises(InputError, match="already exists"):
        export_table(b, db_url, "t")  # default fail
    same_rows(a, read_table(db_url, "t"))
    export_table(b, db_url, "t", if_exists="append", chunk_size=7)
    same_rows(pd.concat([a, b], ignore_index=True), read_table(db_url, "t"))
    export_table(b, db_url, "t", if_exists="replace")
    same_rows(b, read_table(db_url, "t"))
    with pytest.raises(InputError, match="no column"):
        export_table(b.assign(extra=1), db_url, "t", if_exists="append")
    same_rows(b, read_table(db_url, "t"))
    assert not any(t.startswith("_sd_stage_") for t in table_names(db_url))


def test_reserved_words_are_quoted_not_refused(db_url: str) -> None:
    df = pd.DataFrame({"order": [1, 2], "select": ["x", "y"], "User": [True, False]})
    export_table(df, db_url, "table", if_exists="replace")
    back = read_table(db_url, "table")
    assert list(back.columns) == ["order", "select", "User"] and back["order"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "bad", ["x; DROP TABLE victim", "victim--", 'a"b', "1abc", "a b", "", "a.b.c", "victim\n", "victim\x00"]
)
def test_hostile_table_names_refused_and_nothing_runs(db_url: str, bad: str) -> None:
    export_table(frame(5), db_url, "victim")
    with pytest.raises(InputError, match="invalid table name"):
        export_table(frame(5), db_url, bad, if_exists="replace")
    assert "victim" in table_names(db_url)
    assert len(read_table(db_url, "victim")) == 5


def test_identifier_length_is_the_databases_limit(db_url: str) -> None:
    """PostgreSQL keeps 63 bytes of a name and silently drops the rest, so a 64-byte name would
    address a different table: refused before anything runs. SQLite has no such limit."""
    export_table(frame(5), db_url, "victim")
    pg = db_url.startswith("postgresql")
    long_name = "x" * 64
    if pg:
        with pytest.raises(InputError, match="64 bytes long, the limit on postgresql is 63"):
            export_table(frame(5), db_url, long_name)
        with pytest.raises(InputError, match="limit on postgresql is 63"):
            export_table(pd.DataFrame({"c" * 64: [1]}), db_url, "short")
        assert long_name[:63] not in table_names(db_url) and "short" not in table_names(db_url)
        export_table(frame(5), db_url, "y" * 63)  # exactly at the limit is fine
        assert len(read_table(db_url, "y" * 63)) == 5
    else:
        export_table(frame(5), db_url, long_name)
        assert len(read_table(db_url, long_name)) == 5
    assert len(read_table(db_url, "victim")) == 5


def test_hostile_column_name_refused(db_url: str) -> None:
    export_table(frame(5), db_url, "victim")
    df = pd.DataFrame({"ok": [1], 'x"); DROP TABLE victim; --': [2]})
    with pytest.raises(InputError, match="invalid column name"):
        export_table(df, db_url, "other")
    assert {"victim"} <= table_names(db_url) and "other" not in table_names(db_url)


def test_schema_qualified_table(pg_url: str) -> None:
    eng = sa.create_engine(pg_url)
    with eng.connect() as c:
        schema = c.execute(sa.text("SELECT current_schema()")).scalar_one()
    eng.dispose()
    export_table(frame(10), pg_url, f"{schema}.qualified")
    assert len(read_table(pg_url, f"{schema}.qualified")) == 10
    assert len(read_table(pg_url, "qualified")) == 10


def test_failure_midway_leaves_target_unchanged(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = frame(50, seed=3)
    export_table(original, db_url, "target")

    def boom(done: int) -> None:
        if done == 3:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_rows, "_after_chunk", boom)  # the writers call it
    for mode in ("replace", "append"):
        with pytest.raises(RuntimeError, match="disk on fire"):
            export_table(frame(1_000, seed=4), db_url, "target", if_exists=mode, chunk_size=100)  # type: ignore[arg-type]
        same_rows(original, read_table(db_url, "target"))
    with pytest.raises(RuntimeError):
        export_table(frame(1_000), db_url, "brand_new", chunk_size=100)
    assert "brand_new" not in table_names(db_url)
    assert not any(t.startswith("_sd_stage_") for t in table_names(db_url))


def test_row_count_mismatch_rolls_back(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = frame(20, seed=5)
    export_table(original, db_url, "target")
    real_batches = export_mod.RowSource.batches

    def lossy(self: export_mod.RowSource):  # type: ignore[no-untyped-def]
        batches = list(real_batches(self))
        yield from batches[:-1]  # silently lose the last chunk

    monkeypatch.setattr(export_mod.RowSource, "batches", lossy)
    with pytest.raises(ExportError, match="row count mismatch"):
        export_table(frame(300), db_url, "target", if_exists="replace", chunk_size=100)
    same_rows(original, read_table(db_url, "target"))


def test_database_error_is_masked_and_typed(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as ei:
        export_table(frame(3), "postgresql+psycopg://u:topsecretpw@127.0.0.1:1/db?connect_timeout=2", "t")
    assert "topsecretpw" not in str(ei.value)
    with pytest.raises(InputError, match="not found"):
        export_table(tmp_path / "missing.parquet", f"sqlite:///{tmp_path / 'x.db'}", "t")
    with pytest.raises(InputError, match="postgresql and sqlite"):
        export_table(frame(3), "mysql://u:p@h/db", "t")


_FIRST = frozenset(string.ascii_letters + "_")
_REST = frozenset(string.ascii_letters + string.digits + "_")


def _is_identifier(name: str) -> bool:
    """The oracle, written without a regular expression: an ASCII letter or underscore, then ASCII
    letters, digits or underscores, every character checked; at most 63 bytes (portable limit)."""
    if len(name) == 0 or name[0] not in _FIRST or not all(ch in _REST for ch in name):
        return False
    return len(name) <= 63  # every character is ASCII here, so characters are bytes


# hostile characters often, so the valid/invalid boundary is hit: whitespace, line ends, NUL, dots,
# quotes, non-ASCII letters and digits that str.isalnum() would accept
_HOSTILE = ["\n", "\r", "\t", " ", "\x00", ".", ";", '"', "é", "ß", "٣", "\u2028"]
_ALPHABET = st.sampled_from([*"aZ_09", *_HOSTILE])
_WORDS = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=66)
_EDGE = st.sampled_from([*_HOSTILE, "\r\n", "\n\n"])
_NAMES = st.one_of(
    st.text(alphabet=_ALPHABET | st.characters(), max_size=70),
    _WORDS,
    st.builds(lambda w, e: w + e, _WORDS, _EDGE),  # near-valid: a hostile last character
    st.builds(lambda e, w: e + w, _EDGE, _WORDS),
)


@settings(max_examples=400, deadline=None)
@given(_NAMES)
def test_validate_identifier_agrees_with_an_independent_oracle(name: str) -> None:
    """Without a database the portable limit (63 bytes, PostgreSQL's) applies."""
    if _is_identifier(name):
        assert validate_identifier(name) == (None, name)
    else:
        with pytest.raises(InputError):
            validate_identifier(name)


@settings(max_examples=400, deadline=None)
@given(_NAMES, _NAMES)
def test_validate_identifier_with_schema_agrees_with_the_oracle(schema: str, table: str) -> None:
    name = f"{schema}.{table}"
    if _is_identifier(schema) and _is_identifier(table):  # the byte limit is per part
        assert validate_identifier(name, allow_schema=True) == (schema, table)
    else:
        with pytest.raises(InputError):
            validate_identifier(name, allow_schema=True)


@pytest.mark.parametrize(
    "name",
    [
        "victim\n",
        "victim\r\n",
        "victim\r",
        "\nvictim",
        "victim ",
        " victim",
        "victim\t",
        "vic\x00tim",
        "victim\x00",
        "victim\u2028",
        "vïctim",
        "victim٣",
        "ｖictim",
        "public.victim\n",
        "public\n.victim",
    ],
)
def test_identifier_with_whitespace_nul_or_unicode_is_refused(name: str) -> None:
    assert not _is_identifier(name.replace("public.", "", 1))
    with pytest.raises(InputError, match="invalid table name"):
        validate_identifier(name, what="table name", allow_schema=True)


@pytest.mark.parametrize("name", ["victim", "_v", "V1_x", "a" * 63, "public.victim"])
def test_plain_identifiers_are_accepted(name: str) -> None:
    assert validate_identifier(name, allow_schema=True)[1] == name.split(".")[-1]


def test_timestamps_keep_their_instant_whatever_the_zones(pg_url: str) -> None:
    """Zoned source timestamps land as the same instants even when the DB session zone is not UTC."""
    url = pg_url + "%20-ctimezone%3DAmerica/New_York"  # appended to the fixture's options=-csearch_path...
    ts = pd.Series(pd.date_range("2024-03-30 23:30", periods=6, freq="37min", tz="Europe/Berlin"))  # DST jump
    df = pd.DataFrame({"user_id": range(6), "ts": ts, "ts_naive": ts.dt.tz_convert(None)})
    export_table(df, url, "times", chunk_size=4)
    eng = sa.create_engine(url)
    with eng.connect() as c:
        assert c.execute(sa.text("SHOW TIME ZONE")).scalar() == "America/New_York"
    eng.dispose()
    back = read_table(url, "times").sort_values("user_id")
    assert (pd.to_datetime(back["ts"], utc=True).to_numpy() == ts.dt.tz_convert("UTC").to_numpy()).all()
    assert (pd.to_datetime(back["ts_naive"]).to_numpy() == df["ts_naive"].to_numpy()).all()


def test_nulls_infinities_and_empty_tables(db_url: str) -> None:
    df = pd.DataFrame(
        {
            "a": pd.array([1, None, 3], dtype="Int64"),
            "b": [1.5, None, float("inf")],
            "s": ["x", None, ""],
            "all_missing": [None, None, None],
        }
    )
    assert export_table(df, db_url, "edge").rows == 3
    back = read_table(db_url, "edge").sort_values("b", na_position="first")
    assert back["a"].isna().sum() == 1 and back["b"].isna().sum() == 1 and np.isinf(back["b"]).sum() == 1
    assert sorted(back["s"].fillna("<null>")) == ["", "<null>", "x"]  # empty string is not NULL
    assert back["all_missing"].isna().all()
    assert export_table(df.iloc[:0], db_url, "empty").rows == 0
    assert len(read_table(db_url, "empty")) == 0 and "empty" in table_names(db_url)


def test_rows_the_database_rejects_roll_back_cleanly(pg_url: str) -> None:
    """PostgreSQL text cannot hold NUL bytes: COPY fails mid-stream, the error is typed, nothing changes."""
    original = frame(10)
    export_table(original, pg_url, "target")
    bad = pd.DataFrame({"user_id": range(500), "note": ["ok"] * 499 + ["nul\x00byte"]})
    with pytest.raises(ExportError, match="target unchanged"):
        export_table(bad, pg_url, "target", if_exists="replace", chunk_size=100)
    same_rows(original, read_table(pg_url, "target"))
    assert not any(t.startswith("_sd_stage_") for t in table_names(pg_url))
