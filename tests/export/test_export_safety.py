"""Export checks before it streams (dependent views, drivers, name lengths) and leaves the user's
SQLite file in the journal mode it had. PostgreSQL and SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from support.cli import run_cli

from synthdata import export as export_mod
from synthdata.errors import InputError, SynthdataError
from synthdata.export import export_table, read_table
from synthdata.ingest import ingest
from synthdata.pipeline import parse_config


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"user_id": range(n), "item_id": [i % 7 for i in range(n)]})


@pytest.mark.parametrize("mode", ["delete", "wal"])  # the two modes a file keeps between connections
def test_sqlite_target_keeps_its_journal_mode(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "target.db"
    con = sqlite3.connect(db)
    assert con.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
    con.execute("CREATE TABLE keep (x INTEGER)")
    con.commit()
    con.close()
    url = f"sqlite:///{db}"
    export_table(frame(50), url, "synth", if_exists="replace")
    export_table(frame(20), url, "synth", if_exists="append")
    export_table(frame(10), url, "synth", if_exists="replace")
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == mode
    assert con.execute("SELECT count(*) FROM synth").fetchone()[0] == 10
    con.close()
    if mode != "wal":
        assert not (tmp_path / "target.db-wal").exists()


@pytest.fixture
def counting_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records every batch the export reads from its source: a check-first refusal reads none."""
    seen: list[int] = []
    real = export_mod.RowSource.batches

    def spy(self):  # type: ignore[no-untyped-def]
        for b in real(self):
            seen.append(b.num_rows)
            yield b

    monkeypatch.setattr(export_mod.RowSource, "batches", spy)
    return seen


def test_replace_with_dependent_view_fails_before_streaming(db_url: str, counting_batches: list[int]) -> None:
    export_table(frame(5), db_url, "target")
    eng = sa.create_engine(db_url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE VIEW target_v AS SELECT user_id FROM target WHERE item_id > 2"))
    counting_batches.clear()
    with pytest.raises(InputError, match=r"view .*target_v.* depend.*nothing was written"):
        export_table(frame(1000), db_url, "target", if_exists="replace", chunk_size=100)
    assert counting_batches == []  # refused before a single row was read, let alone sent
    assert len(read_table(db_url, "target")) == 5
    with eng.connect() as c:  # the view still works and no staging table is left
        assert c.execute(sa.text("SELECT count(*) FROM target_v")).scalar_one() == 2
        assert not [t for t in sa.inspect(c).get_table_names() if t.startswith("_sd_")]
    res = export_table(frame(7), db_url, "target", if_exists="append")  # append keeps views: allowed
    assert res.rows == 7 and counting_batches == [7]
    assert len(read_table(db_url, "target")) == 5 + 7  # the rows were added, none replaced
    with eng.connect() as c:  # and the view sees them: 2 of the first 5 rows and 4 of the 7 new ones
        assert c.execute(sa.text("SELECT count(*) FROM target_v")).scalar_one() == 2 + 4
    with eng.begin() as c:
        c.execute(sa.text("DROP VIEW target_v"))
    eng.dispose()
    export_table(frame(3), db_url, "target", if_exists="replace")  # without dependents: fine
    assert len(read_table(db_url, "target")) == 3


def test_replace_with_dependent_foreign_key_fails_first(db_url: str, counting_batches: list[int]) -> None:
    eng = sa.create_engine(db_url)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE target (user_id BIGINT PRIMARY KEY)"))
        c.execute(sa.text("CREATE TABLE child (u BIGINT REFERENCES target (user_id))"))
    eng.dispose()
    with pytest.raises(InputError, match=r"foreign key .*child"):
        export_table(frame(10), db_url, "target", if_exists="replace")
    assert counting_batches == []
    assert (
        len(read_table(db_url, "target")) == 0
        and "child" in sa.inspect(sa.create_engine(db_url)).get_table_names()
    )


def test_unknown_or_missing_driver_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "s.parquet"
    frame(3).to_parquet(src)
    for url, what in (
        ("postgresql+nosuchdriver://u:pw1234@h/db", "unknown or not installed"),
        ("postgresql+psycopg2://u:pw1234@h/db", "unknown or not installed"),  # not installed here
        ("mysql://u:pw1234@h/db", "not supported"),
        ("nosuchdb://u:pw1234@h/db", "not supported"),
    ):
        code, _, err = run_cli(["export", "--file", str(src), "--to", url, "--table", "t"], capsys)
        assert code == 2 and what in err and "pw1234" not in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


def test_unwritable_sqlite_target_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "s.parquet"
    frame(3).to_parquet(src)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    target = blocker / "sub" / "t.db"
    code, _, err = run_cli(["export", "--file", src, "--to", f"sqlite:///{target}", "--table", "t"], capsys)
    assert code == 2 and str(blocker / "sub") in err and "Traceback" not in err
    assert blocker.read_text() == "a file, not a folder"


def test_too_long_names_are_refused_for_every_table_option(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL truncates names to 63 bytes: a 64-byte source table would read ANOTHER table."""
    base = "t" * 63
    eng = sa.create_engine(pg_url)
    with eng.begin() as c:
        c.execute(sa.text(f'CREATE TABLE "{base}" (user_id INTEGER, item_id INTEGER)'))
        c.execute(sa.text(f'INSERT INTO "{base}" VALUES (1, 2)'))
    eng.dispose()
    with pytest.raises(InputError, match="64 bytes long, the limit on postgresql is 63"):
        ingest(pg_url, table=base + "x", out=tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()
    cfg = {"source": {"path": "x.csv"}}
    for over in (
        {"export": {"enabled": True, "url": pg_url, "table": base + "x"}},
        {"source": {"url": pg_url, "table": base + "x"}},
        {"source": {"path": "x.csv", "rejects_to": pg_url, "rejects_table": base + "x"}},
    ):
        with pytest.raises(SynthdataError, match="limit on postgresql is 63"):
            parse_config({**cfg, **over})
    sqlite = f"sqlite:///{tmp_path / 'x.db'}"  # SQLite keeps long names whole: allowed there
    parse_config({**cfg, "export": {"enabled": True, "url": sqlite, "table": base + "x"}})
