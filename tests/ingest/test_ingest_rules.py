"""Every rule reaches every executor: each rule's example (a row breaking only that rule) is
quarantined with the rule's reason code by the pandas executor, the DuckDB executor (CSV and
Parquet) and push-down (SQLite streams; PostgreSQL runs it in the database). A rule added to
`rules.RULES` reaches them all; a rule an executor cannot render is a clear error there."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import synthdata.ingest.rules as rules
from synthdata.errors import SynthdataError
from synthdata.ingest import ingest
from synthdata.ingest.executors.duckdb import write as duck_write
from synthdata.ingest.executors.pandas.aggregate import EventAggregator
from synthdata.ingest.executors.pushdown import write as push_write
from synthdata.ingest.layouts.events import AGGREGATE_OPS, Aggregate
from synthdata.ingest.rules import REASONS, RULES, Example, Rule
from synthdata.ingest.rules.expr import Cmp, Expr, Lit, RuleNotRendered, Value
from synthdata.schema import Schema

BASE = [
    {"name": "user_id", "role": "user_id", "dtype": "int"},
    {"name": "item_id", "role": "item_id", "dtype": "string"},
    {"name": "ts", "role": "timestamp", "dtype": "datetime"},
]
FILES = ["pandas-csv", "duckdb-csv", "duckdb-parquet"]
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _good(col: dict[str, Any], schema: dict[str, Any]) -> Any:
    if col.get("role") == "event_type":
        return schema["event_types"][0]
    if col.get("allowed"):
        return col["allowed"][0]
    return {"int": 1, "datetime": pd.Timestamp("2024-01-02", tz="UTC")}.get(col["dtype"], "a")


def _frame(ex: Example) -> tuple[pd.DataFrame, Schema]:
    """A good row (line 2) and the example's bad row (line 3), typed where the database can hold it."""
    cols = [*BASE, *ex.columns]
    extra = dict(ex.schema)
    good = {c["name"]: _good(c, extra) for c in cols} | {
        "user_id": 1,
        "ts": pd.Timestamp("2024-01-01", tz="UTC"),
    }
    bad = good | {"user_id": 2} | ex.row
    df = pd.DataFrame([good, bad])
    df["user_id"] = df["user_id"].astype("Int64")
    for c in df.columns:
        kinds = {type(v) for v in df[c] if v is not None and not pd.isna(v)}
        if len(kinds) > 1:  # a value the column's type cannot hold: the column is text
            df[c] = [None if v is None or pd.isna(v) else str(v) for v in df[c]]
    schema = Schema.from_dict({"layout": "interactions", "columns": cols, **extra})
    return df, schema


def _run(where: str, df: pd.DataFrame, schema: Schema, tmp: Path, url: str | None = None) -> Any:
    out = {"out": tmp / "clean.parquet", "schema": schema}
    if where.endswith("csv"):
        text = df.astype(object).where(df.notna(), None).map(lambda v: "" if v is None else str(v))
        src = tmp / "in.csv"
        text.to_csv(src, index=False)
        return ingest(src, engine=where.split("-")[0], **out)
    if where == "duckdb-parquet":
        df.to_parquet(tmp / "in.parquet", index=False)
        return ingest(tmp / "in.parquet", engine="duckdb", **out)
    eng = sa.create_engine(url or "")
    with eng.begin() as c:
        df.to_sql("t", c, index=False)
    eng.dispose()
    return ingest(url or "", table="t", engine="duckdb", **out)


def _url(where: str, tmp: Path, request: pytest.FixtureRequest) -> str | None:
    if where == "sqlite":
        return f"sqlite:///{tmp / 'in.db'}"
    if where == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return None


def _check(rule: Rule | rules.RowRule, where: str, tmp: Path, request: pytest.FixtureRequest) -> None:
    ex = rule.example
    if where == "postgresql" and any("\x00" in str(v) for v in ex.row.values()):
        pytest.skip("PostgreSQL text cannot hold a NUL byte")
    df, schema = _frame(ex)
    res = _run(where, df, schema, tmp, _url(where, tmp, request))
    rej = pd.read_parquet(res.rejects_path)
    assert rej["reason"].tolist() == [rule.code], f"{rule.code} on {where}: {rej.to_dict('records')}"
    assert res.report.rows_out == 1
    if where == "postgresql":  # the database vouched for the good row (the bad one is typed natively)
        assert res.report.engine == ("pushdown" if ex.native else "pandas")


@pytest.mark.parametrize("where", [*FILES, *DATABASES])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_on_every_executor(
    rule: Rule | rules.RowRule, where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _check(rule, where, tmp_path, request)


def test_every_reason_is_a_rule_or_decided_elsewhere() -> None:
    assert {r.code for r in RULES} | set(rules.DECIDED_ELSEWHERE) == set(REASONS)
    assert len({r.order for r in RULES}) == len(RULES)  # precedence is a total order


UNLUCKY = Rule(
    "unlucky",
    65,
    lambda s, c: Cmp("=", Value(), Lit(13)) if s.dtype.value == "int" and s.role.value == "signal" else None,
    Example(({"name": "x", "role": "signal", "dtype": "int"},), {"x": 13}),
)


@pytest.mark.parametrize("where", [*FILES, *DATABASES])
def test_a_rule_added_once_reaches_every_executor(
    where: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "RULES", [*RULES, UNLUCKY])
    _check(UNLUCKY, where, tmp_path, request)


class Mystery(Expr):
    """A node no executor knows."""


@pytest.mark.parametrize(
    "where", ["pandas-csv", "duckdb-csv", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_rule_an_executor_cannot_render_is_an_error(
    where: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = replace(UNLUCKY, code="mystery", condition=lambda s, c: Mystery() if s.name == "x" else None)
    monkeypatch.setattr(rules, "RULES", [*RULES, odd])
    df, schema = _frame(odd.example)
    executor = {"pandas-csv": "pandas", "duckdb-csv": "duckdb", "postgresql": "pushdown"}[where]
    with pytest.raises(RuleNotRendered, match=f"rule 'mystery' uses Mystery, which the {executor} executor"):
        _run(where, df, schema, tmp_path, _url(where, tmp_path, request))
    assert not issubclass(RuleNotRendered, SynthdataError)  # a programming error, not bad input


def test_every_aggregate_op_is_rendered_by_every_executor() -> None:
    for op in AGGREGATE_OPS:
        a = Aggregate("n", op, "v", equals="view" if op == "count" else None)
        EventAggregator("u", "i", [a], set())
        duck_write.aggregate_sql(a)
        push_write.aggregate_sql(a, sa.select(sa.column("v")).subquery(), set())
    odd = Aggregate("n", "median", "v")
    for render in (
        lambda: EventAggregator("u", "i", [odd], set()),
        lambda: duck_write.aggregate_sql(odd),
        lambda: push_write.aggregate_sql(odd, sa.select(sa.column("v")).subquery(), set()),
    ):
        with pytest.raises(ValueError, match="no rendering for 'median'"):
            render()
