"""Property test: on random dirty tables every input row is kept, rejected or merged — exactly once —
and the outcome matches a plain per-row oracle, whatever the chunk size."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthdata.ingest import ingest
from synthdata.schema import Schema

SCHEMA = Schema.from_dict(
    {
        "columns": [
            {"name": "user_id", "role": "user_id", "dtype": "int"},
            {"name": "item_id", "role": "item_id", "dtype": "string"},
            {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
            {"name": "gender", "role": "user_attribute", "dtype": "category", "nullable": True},
        ]
    }
)
USERS = ["1", "2", "3", "", "x"]
ITEMS = ["a", "b", ""]
RATINGS = ["1", "3", "5", "0", "9", "bad", ""]
GENDERS = ["M", "F", ""]

row = st.tuples(
    st.sampled_from(USERS), st.sampled_from(ITEMS), st.sampled_from(RATINGS), st.sampled_from(GENDERS)
)

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


def oracle(rows: list[tuple[str, str, str, str]]) -> tuple[Counter, int, int]:
    """(rejected by reason, merged, kept) computed row by row."""
    reasons: Counter = Counter()
    valid: list[tuple[int, tuple[str, ...]]] = []
    seen = set()
    merged = 0
    for line, (u, i, r, g) in enumerate(rows, start=2):
        if u == "":  # columns are checked in schema order; the first problem is the reason
            reasons["missing_id"] += 1
        elif u == "x":
            reasons["bad_type"] += 1
        elif i == "":
            reasons["missing_id"] += 1
        elif r == "":
            reasons["missing_value"] += 1
        elif r == "bad":
            reasons["bad_type"] += 1
        elif not 1 <= int(r) <= 5:
            reasons["out_of_range"] += 1
        elif (u, i, r, g) in seen:
            merged += 1
        else:
            seen.add((u, i, r, g))
            valid.append((line, (u, i, r, g)))
    votes: dict[str, Counter] = {}
    first: dict[tuple[str, str], int] = {}
    for line, (u, _, _, g) in valid:
        if g:
            votes.setdefault(u, Counter())[g] += 1
            first.setdefault((u, g), line)
    winner = {u: sorted(c, key=lambda g: (-c[g], first[(u, g)]))[0] for u, c in votes.items()}
    conflicts = sum(1 for _, (u, _, _, g) in valid if g and g != winner[u])
    if conflicts:
        reasons["attribute_conflict"] = conflicts
    return reasons, merged, len(valid) - conflicts


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=40), chunk=st.integers(1, 9))
def test_row_accounting(rows: list[tuple[str, str, str, str]], chunk: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.csv"
        src.write_text("user_id,item_id,rating,gender\n" + "".join(",".join(r) + "\n" for r in rows))
        res = ingest(src, schema=SCHEMA, out=Path(d) / "c.parquet", chunk_size=chunk)
        rep = res.report.to_dict()
        clean, rej = res.read(), pd.read_parquet(res.rejects_path)
        big = ingest(src, schema=SCHEMA, out=Path(d) / "big.parquet", chunk_size=1000).read()
    assert rep["rows_in"] == len(rows) == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    reasons, merged, kept = oracle(rows)
    assert rep["rejected_by_reason"] == dict(reasons)
    assert (rep["rows_merged"], rep["rows_kept"]) == (merged, kept)
    assert len(clean) == kept and len(rej) == rep["rows_rejected"]
    assert rej["line"].is_unique and rej["line"].between(2, len(rows) + 1).all()
    pd.testing.assert_frame_equal(clean, big)
    assert clean.groupby("user_id")["gender"].nunique().le(1).all()
