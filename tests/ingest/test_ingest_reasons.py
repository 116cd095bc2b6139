"""Each reason code, triggered by a crafted bad file, lands in the rejects file with its line,
column and raw values; row accounting holds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.files import (
    write,
)

from synthdata.ingest import REASONS, ingest
from synthdata.schema import Schema

SCHEMA = {
    "layout": "interactions",
    "columns": [
        {"name": "user_id", "role": "user_id", "dtype": "int"},
        {"name": "item_id", "role": "item_id", "dtype": "string"},
        {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
        {"name": "ts", "role": "timestamp", "dtype": "datetime"},
        {"name": "device", "role": "categorical", "dtype": "category", "allowed": ["web", "app"]},
        {"name": "gender", "role": "user_attribute", "dtype": "category", "nullable": True},
    ],
}
GOOD = "1,a,5,2020-01-01T00:00:00Z,web,F\n"

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def run(tmp_path: Path, body: str, schema: dict | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    src = write(tmp_path / "in.csv", "user_id,item_id,rating,ts,device,gender\n" + body)
    res = ingest(
        src,
        schema=Schema.from_dict(schema or SCHEMA),
        out=tmp_path / "clean.parquet",
        report=tmp_path / "report.json",
    )
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["rows_in"] == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    return rep, pd.read_parquet(res.out), pd.read_parquet(res.rejects_path)


@pytest.mark.parametrize(
    ("bad", "reason", "column"),
    [
        (",b,4,2020-01-01T00:00:00Z,web,F\n", "missing_id", "user_id"),
        ("2,,4,2020-01-01T00:00:00Z,web,F\n", "missing_id", "item_id"),
        ("2,b,4,,web,F\n", "missing_value", "ts"),
        ("2,b,four,2020-01-01T00:00:00Z,web,F\n", "bad_type", "rating"),
        ("2,b,4.5,2020-01-01T00:00:00Z,web,F\n", "bad_type", "rating"),
        ("x2,b,4,2020-01-01T00:00:00Z,web,F\n", "bad_type", "user_id"),
        ("2,b,4,yesterday,web,F\n", "bad_type", "ts"),
        ("2,b,6,2020-01-01T00:00:00Z,web,F\n", "out_of_range", "rating"),
        ("2,b,0,2020-01-01T00:00:00Z,web,F\n", "out_of_range", "rating"),
        ("2,b,4,1985-05-01T00:00:00Z,web,F\n", "out_of_range", "ts"),
        ("2,b,4,2099-01-01T00:00:00Z,web,F\n", "out_of_range", "ts"),
        ("2,b,4,2020-01-01T00:00:00Z,fax,F\n", "not_allowed", "device"),
    ],
)
def test_reason_code(tmp_path: Path, bad: str, reason: str, column: str) -> None:
    rep, clean, rej = run(tmp_path, GOOD + bad + GOOD.replace("1,a", "3,c"))
    assert rep["rows_rejected"] == 1 and rep["rejected_by_reason"] == {reason: 1}
    assert rep["rejected_by_reason_column"] == {reason: {column: 1}}
    assert len(clean) == 2
    r = rej.iloc[0]
    assert (r["reason"], r["column"], int(r["line"])) == (reason, column, 3)  # header is line 1
    assert r["source"].endswith("in.csv")
    raw = json.loads(r["raw"])
    assert raw["device"] == bad.strip().split(",")[4] or reason == "missing_id"


def test_unknown_event_type(tmp_path: Path) -> None:
    src = write(
        tmp_path / "ev.csv",
        "user,item,event,ts\n1,a,view,2021-01-01\n1,a,like,2021-01-02\n1,a,purchase,2021-01-03\n",
    )
    schema = Schema.from_dict(
        {
            "layout": "events",
            "event_types": ["view", "purchase"],
            "columns": [
                {"name": "user_id", "source": "user", "role": "user_id", "dtype": "int"},
                {"name": "item_id", "source": "item", "role": "item_id", "dtype": "string"},
                {"name": "event", "role": "event_type", "dtype": "string"},
                {"name": "ts", "role": "timestamp", "dtype": "datetime"},
            ],
        }
    )
    res = ingest(src, schema=schema, out=tmp_path / "c.parquet")
    rej = pd.read_parquet(res.rejects_path)
    assert rej[["reason", "column", "line", "value"]].values.tolist() == [
        ["unknown_event_type", "event", 3, "like"]
    ]
    d = res.report.to_dict()
    assert (d["rows_kept"], d["rows_out"]) == (2, 1)
    out = res.read()
    assert out[["views", "purchases"]].values.tolist() == [[1, 1]]


def test_exact_duplicates_are_merged_not_rejected(tmp_path: Path) -> None:
    rep, clean, rej = run(tmp_path, GOOD + GOOD + GOOD + "1,a,4,2020-01-01T00:00:00Z,web,F\n")
    assert (rep["rows_in"], rep["rows_merged"], rep["rows_rejected"], rep["rows_kept"]) == (4, 2, 0, 2)
    assert len(clean) == 2 and rej.empty


def test_inline_attribute_conflict_majority_wins(tmp_path: Path) -> None:
    body = (
        "1,a,5,2020-01-01T00:00:00Z,web,F\n1,b,4,2020-01-02T00:00:00Z,web,M\n"
        "1,c,3,2020-01-03T00:00:00Z,web,M\n2,a,1,2020-01-03T00:00:00Z,app,\n"
        "2,b,2,2020-01-04T00:00:00Z,app,F\n"
    )
    rep, clean, rej = run(tmp_path, body)
    assert rep["rejected_by_reason"] == {"attribute_conflict": 1}
    assert rej[["line", "column", "value"]].values.tolist() == [[2, "gender", "F"]]
    # every kept row of a user carries the kept value, including where it was empty
    assert clean.groupby("user_id")["gender"].agg(lambda s: sorted(set(s))).to_dict() == {1: ["M"], 2: ["F"]}


def test_attribute_table_conflict_tie_keeps_first(tmp_path: Path) -> None:
    ev = write(
        tmp_path / "ev.csv",
        "user_id,item_id,event_type,timestamp\n1,9,view,2022-02-02\n2,9,view,2022-02-03\n",
    )
    users = write(tmp_path / "users.csv", "user_id,country\n1,DE\n2,FR\n1,PL\n2,FR\n")
    res = ingest(ev, layout="events", out=tmp_path / "c.parquet", user_attributes=users)
    a = res.report.to_dict()["attributes"]["users"]
    assert (a["rows_in"], a["rows_kept"], a["rows_rejected"], a["rows_merged"]) == (4, 2, 1, 1)
    rej = pd.read_parquet(res.rejects_path)
    assert rej[["source", "line", "reason", "value"]].values.tolist() == [
        [str(users), 4, "attribute_conflict", "PL"]
    ]
    assert res.read().set_index("user_id")["country"].to_dict() == {1: "DE", 2: "FR"}


def test_every_reason_is_documented() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    for r in (*REASONS, "duplicate"):
        assert f"`{r}`" in page, r
