"""Schema inference writes an editable YAML that round-trips and reproduces the same ingest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.files import (
    write,
)

from synthdata.ingest import ingest
from synthdata.schema import Role, Schema

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def test_inferred_schema_round_trips(tmp_path: Path) -> None:
    src = write(
        tmp_path / "r.csv",
        "UserId;MovieId;Rating;Timestamp;gender;device\n"
        "1;10;4;881250949;F;web\n1;11;5;881250950;F;app\n2;10;1;881250951;M;web\n",
    )
    res = ingest(src, out=tmp_path / "a.parquet")
    p = res.inferred_schema_path
    assert p is not None and p.name == "a.inferred-schema.yaml"
    s = Schema.from_yaml(p)
    assert s == res.input_schema
    assert Schema.from_yaml(res.schema_path) == res.schema
    assert (s.user_col, s.item_col, s.time_col) == ("user_id", "item_id", "timestamp")
    assert s.column("timestamp").datetime_unit == "s" and s.column("rating").min == 1
    assert s.column("gender").role == Role.USER_ATTRIBUTE and s.column("device").role == Role.CATEGORICAL
    assert s.positive.column == "rating" and s.positive.min == 4
    assert s.csv == {"sep": ";", "header": True}
    again = ingest(src, schema=p, out=tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(res.read(), again.read())
    assert again.inferred_schema_path is None


def test_events_inferred_with_event_types(tmp_path: Path) -> None:
    src = write(
        tmp_path / "e.csv",
        "user_id,item_id,event_type,timestamp,value\n"
        "1,a,view,2024-01-01T00:00:00Z,\n1,a,purchase,2024-01-01T01:00:00Z,9.5\n",
    )
    res = ingest(src, out=tmp_path / "c.parquet")
    assert res.report.layout == "events"
    assert res.input_schema.event_types == ["view", "purchase"]
    assert res.read()[["views", "purchases", "value_sum"]].values.tolist() == [[1, 1, 9.5]]


def test_stray_text_in_numeric_column_is_rejected_not_a_category(tmp_path: Path) -> None:
    rows = [f"{u % 7},{u % 11},{1 + u % 5}" for u in range(200)]
    rows[13] = "3,4,x"
    src = write(tmp_path / "n.csv", "user,item,rating\n" + "\n".join(rows) + "\n")
    res = ingest(src, out=tmp_path / "n.parquet")
    spec = res.input_schema.column("rating")
    assert spec.role == Role.SIGNAL and spec.dtype.value == "int"
    rep = res.report.to_dict()
    assert rep["rejected_by_reason"] == {"bad_type": 1}
    assert rep["rows_in"] == 200 == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
