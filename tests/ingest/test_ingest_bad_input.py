"""Issue 17, "Bad input", on both executors: a binary file without --schema (the schema is inferred)
is one error line, and a record with fewer fields than the header is malformed (quarantined, or the
stop under --on-malformed error) unless --pad-short-records asks for padding. Each test failed on
5b24f82."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli
from support.files import rejects, write

from synthdata.errors import InputError
from synthdata.ingest import ingest

pytestmark = pytest.mark.usefixtures("both_engines")

EVENTS_SCHEMA = (
    "layout: events\nevent_types: [view, cart, purchase]\ncolumns:\n"
    "- {name: user_id, role: user_id, dtype: int}\n"
    "- {name: item_id, role: item_id, dtype: int}\n"
    "- {name: event_type, role: event_type, dtype: string}\n"
    "- {name: timestamp, role: timestamp, dtype: datetime}\n"
)
SHORT = (
    "user_id,item_id,event_type,timestamp\n"
    "1,10,view,2024-03-01T10:00:00\n"
    "1,11,view\n"  # one field short: malformed
    "2,12,cart,2024-03-02T10:00:00\n"
    "3,13,view,\n"  # four fields, the last empty: a (rejected) row, not a malformed record
    "\n"  # blank line: a row with every field empty (missing_id), as before
    "4,14\n"  # two fields short
    "5,15,purchase,2024-03-03T10:00:00\n"
)


@pytest.mark.parametrize("layout", ["events", "interactions", "auto"])
@pytest.mark.parametrize("with_schema", [False, True], ids=["inferred", "schema"])
def test_binary_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, with_schema: bool
) -> None:
    src = write(tmp_path / "blob.csv", bytes(range(256)))
    extra = ["--schema", write(tmp_path / "s.yaml", EVENTS_SCHEMA)] if with_schema else []
    out = tmp_path / "o" / "x.parquet"
    code, stdout, err = run_cli(["ingest", src, "--layout", layout, "--out", out, *extra], capsys)
    assert code == 2, err
    assert "Traceback" not in stdout + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "blob.csv" in lines[0], err
    assert not (tmp_path / "o").exists()


def test_binary_file_inferred_names_the_bad_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "blob.csv", bytes(range(256)))
    code, _, err = run_cli(["ingest", src, "--layout", "events", "--out", tmp_path / "x.parquet"], capsys)
    assert code == 2 and "cannot decode bytes as utf-8 at byte offset 128" in err, err


def _ingest(tmp_path: Path, src: Path, name: str, **kw: object) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    res = ingest(src, layout="events", out=tmp_path / name / "c.parquet", **kw)  # type: ignore[arg-type]
    return res.read(), rejects(res.rejects_path), res.report.to_dict()


@pytest.mark.parametrize("with_schema", [False, True], ids=["inferred", "schema"])
def test_short_record_is_malformed(tmp_path: Path, with_schema: bool) -> None:
    src = write(tmp_path / "short.csv", SHORT)
    schema = write(tmp_path / "s.yaml", EVENTS_SCHEMA) if with_schema else None
    clean, rej, rep = _ingest(tmp_path, src, "q", schema=schema)
    got = rej[["line", "reason"]].values.tolist()
    # inferred from the rows that are not malformed: line 5's empty timestamp makes it nullable
    line5 = [[5, "missing_value"]] if with_schema else []
    assert got == [[3, "malformed_record"], *line5, [6, "missing_id"], [7, "malformed_record"]]
    mal = rej[rej["reason"] == "malformed_record"]
    assert [json.loads(r)["_record"] for r in mal["raw"]] == ["1,11,view", "4,14"]
    assert mal["value"].tolist() == ["expected 4 fields"] * 2
    assert sorted(clean["user_id"].tolist()) == ([1, 2, 5] if with_schema else [1, 2, 3, 5])
    assert clean["first_ts"].notna().sum() == 3  # no padded row among the clean ones
    assert rep["rows_in"] == 7 == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    assert rep["rejected_by_reason"]["malformed_record"] == 2


def test_short_record_stops_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "short.csv", SHORT)
    with pytest.raises(InputError, match=r"malformed CSV record: Expected 4 fields in line 3, saw 3"):
        _ingest(tmp_path, src, "e", on_malformed="error")
    code, _, err = run_cli(
        ["ingest", src, "--out", tmp_path / "c.parquet", "--on-malformed", "error"], capsys
    )
    msg = " ".join(err.split())
    assert code == 2 and msg.startswith("error: malformed CSV record") and "short.csv" in msg, err
    assert "row 3" in msg and not (tmp_path / "c.parquet").exists()


def test_short_record_padded_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "short.csv", SHORT)
    schema = write(tmp_path / "s.yaml", EVENTS_SCHEMA)
    _clean, rej, rep = _ingest(tmp_path, src, "p", schema=schema, pad_short_records=True)
    assert rej[["line", "reason"]].values.tolist() == [
        [3, "missing_value"],
        [5, "missing_value"],
        [6, "missing_id"],
        [7, "missing_value"],
    ]
    assert rep["rows_in"] == 7 == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    args = ["ingest", src, "--out", tmp_path / "c.parquet", "--pad-short-records"]
    args += ["--report", tmp_path / "r.json"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "malformed_record" not in json.loads((tmp_path / "r.json").read_text())["rejected_by_reason"]


def test_short_record_with_a_nullable_last_column(tmp_path: Path) -> None:
    """A nullable last column: the padded record used to be a clean row; an empty last field
    (all fields present) still is one."""
    nullable = EVENTS_SCHEMA.replace("dtype: datetime}", "dtype: datetime, nullable: true}")
    schema = write(tmp_path / "s.yaml", nullable)
    src = write(
        tmp_path / "n.csv",
        "user_id,item_id,event_type,timestamp\n1,11,view\n2,12,view,\n3,13,cart,2024-01-01T00:00:00\n",
    )
    clean, rej, _rep = _ingest(tmp_path, src, "n", schema=schema)
    assert rej[["line", "reason"]].values.tolist() == [[2, "malformed_record"]]
    assert sorted(clean["user_id"].tolist()) == [2, 3]
    clean, rej, _ = _ingest(tmp_path, src, "np", schema=schema, pad_short_records=True)
    assert rej.empty and sorted(clean["user_id"].tolist()) == [1, 2, 3]


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_short_records_across_chunks(tmp_path: Path, chunk: int) -> None:
    schema = write(tmp_path / "s.yaml", EVENTS_SCHEMA)
    src = write(tmp_path / "short.csv", SHORT)
    _, rej, rep = _ingest(tmp_path, src, f"c{chunk}", schema=schema, chunk_size=chunk)
    assert rej["line"].tolist() == [3, 5, 6, 7]
    assert rep["rows_in"] == 7 == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]


def test_attribute_table_records_with_the_wrong_field_count(tmp_path: Path) -> None:
    """In an attribute table too: the short record was padded and the long one dropped without a
    count (rows_in 2 for 3 records); both are malformed, counted and quarantined now."""
    events = "user_id,item_id,event_type,timestamp\n" + "".join(
        f"{u},1{u},view,2024-03-0{u}T10:00:00\n" for u in (1, 2, 3)
    )
    src = write(tmp_path / "ev.csv", events)
    users = write(tmp_path / "users.csv", "user_id,country\n1,DE\n2\n3,FR,x\n")
    schema = write(tmp_path / "s.yaml", EVENTS_SCHEMA)
    res = ingest(src, schema=schema, user_attributes=users, out=tmp_path / "c.parquet")
    att = res.report.to_dict()["attributes"]["users"]
    assert att["rows_in"] == 3 == att["rows_kept"] + att["rows_rejected"] + att["rows_merged"]
    assert att["rejected_by_reason"] == {"malformed_record": 2}
    rej = rejects(res.rejects_path)
    got = rej.loc[rej["source"].str.endswith("users.csv"), ["line", "reason"]].values.tolist()
    assert got == [[3, "malformed_record"], [4, "malformed_record"]]
