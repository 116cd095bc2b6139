"""The rules every executor applies, each described once: reason code, precedence, the columns it
applies to and its condition (an expression, `rules/expr.py`).

Each executor derives its checks from `RULES`: the pandas executor evaluates the conditions
(`executors/pandas/render.py`, the reference: every row an SQL executor cannot vouch for is decided
there), the DuckDB and push-down executors render them as SQL (`executors/duckdb/render.py`,
`executors/pushdown/render.py`). A rule added here reaches all three; a rule using a node an executor
cannot render raises `RuleNotRendered` there. Two reasons are decided before or after the row checks,
not by a condition: `malformed_record` (a CSV record with the wrong number of fields, found by the
readers) and `attribute_conflict` (the attribute vote: `executors/pandas/dedup.py`,
`executors/duckdb/checks.py`; push-down streams sources with inline attributes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthdata.ingest.rules.expr import (
    And,
    AsText,
    Cmp,
    Expr,
    HasNul,
    In,
    IsNull,
    Lit,
    Not,
    Or,
    Raw,
    TimeLike,
    Unparsed,
    Value,
    referenced,
)
from synthdata.ingest.rules.expr import (
    RuleNotRendered as RuleNotRendered,
)
from synthdata.schema import ColumnSpec, DType, InequalityConstraint, Role

# Stable reason codes (documented in docs/ingest.md); never rename, only add.
MISSING_ID = "missing_id"  # user or item id empty
MISSING_VALUE = "missing_value"  # a non-nullable column is empty
BAD_TYPE = "bad_type"  # value does not parse as the declared dtype
OUT_OF_RANGE = "out_of_range"  # outside [min, max]; negative counts; time before 1990 or in the future
NOT_ALLOWED = "not_allowed"  # not in the column's `allowed` list
UNKNOWN_EVENT_TYPE = "unknown_event_type"  # event type not in schema.event_types
ATTRIBUTE_CONFLICT = "attribute_conflict"  # contradicts the value kept for that user/item
CONSTRAINT_VIOLATION = "constraint_violation"  # breaks a schema constraint (low > high)
DUPLICATE = "duplicate"  # exact duplicate row: merged (counted in rows_merged), never in rejects
NUL_BYTE = "nul_byte"  # a field holds a NUL byte (never truncated at it)
BAD_TIMESTAMP = "bad_timestamp"  # a date/time outside what can be stored (year 1600, 3000, infinity)
MALFORMED_RECORD = "malformed_record"  # a CSV record with the wrong number of fields (raw text kept)
REASONS = (  # the report's order
    MALFORMED_RECORD,
    NUL_BYTE,
    MISSING_ID,
    MISSING_VALUE,
    BAD_TYPE,
    BAD_TIMESTAMP,
    OUT_OF_RANGE,
    NOT_ALLOWED,
    UNKNOWN_EVENT_TYPE,
    ATTRIBUTE_CONFLICT,
    CONSTRAINT_VIOLATION,
)
DECIDED_ELSEWHERE = (MALFORMED_RECORD, ATTRIBUTE_CONFLICT)  # not row conditions (see above)

MIN_TIME = pd.Timestamp("1990-01-01", tz="UTC")


@dataclass(frozen=True)
class Context:
    """What a condition may depend on besides the column: the ingest's clock and event types."""

    now: pd.Timestamp
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    """A tiny input breaking only this rule (tests/ingest/test_ingest_rules.py runs it on every executor):
    extra columns (ColumnSpec fields), the bad row's values, schema extras; `native`: the bad value
    has the column's type in a database (push-down runs; else the source streams)."""

    columns: tuple[dict[str, Any], ...]
    row: dict[str, Any]
    schema: dict[str, Any] = field(default_factory=dict)
    native: bool = True


@dataclass(frozen=True)
class Rule:
    """One check. `order`: precedence, lower first: a row is rejected for the first rule it breaks,
    column by column in schema order, then the row rules. `condition(spec, ctx)`: when the column
    `spec` breaks it (None: the rule does not apply to that column). A condition is tested only
    where the value is present unless `on_empty` (the rules about empty values)."""

    code: str
    order: int
    condition: Callable[[ColumnSpec, Context], Expr | None]
    example: Example
    on_empty: bool = False
    as_read: bool = False  # the reject shows the field as read (not stripped)


@dataclass(frozen=True)
class RowRule:
    """A check across a row's columns: `conditions(constraints)` -> (column blamed, condition)."""

    code: str
    order: int
    conditions: Callable[[list[InequalityConstraint]], list[tuple[str, Expr]]]
    example: Example


def _is_id(s: ColumnSpec) -> bool:
    return s.role in (Role.USER_ID, Role.ITEM_ID)


def datetime_bounds(spec: ColumnSpec, now: pd.Timestamp) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """A datetime column's range: min/max are unix seconds; an interaction timestamp (role timestamp)
    defaults to [1990-01-01, now]: behaviour logs cannot come from the future and pre-1990 times are
    epoch/zero-date artefacts."""
    lo = pd.Timestamp(spec.min, unit="s", tz="UTC") if spec.min is not None else None
    hi = pd.Timestamp(spec.max, unit="s", tz="UTC") if spec.max is not None else None
    if spec.role == Role.TIMESTAMP:
        lo, hi = (MIN_TIME if lo is None else lo), (now if hi is None else hi)
    return lo, hi


def _present_and(e: Expr) -> Expr:
    """`e` where the typed value is present (an unparsed value has its own reason)."""
    return And((Not(IsNull(Value())), e))


def _out_of_range(spec: ColumnSpec, ctx: Context) -> Expr | None:
    if spec.dtype == DType.DATETIME:
        lo, hi = datetime_bounds(spec, ctx.now)
    elif spec.dtype in (DType.INT, DType.FLOAT):
        lo, hi = spec.min, spec.max
    else:
        return None
    parts = [Cmp(op, Value(), Lit(b)) for op, b in (("<", lo), (">", hi)) if b is not None]
    return Or(tuple(parts)) if parts else None


def _not_allowed(spec: ColumnSpec, ctx: Context) -> Expr | None:
    if spec.allowed is None:
        return None
    return _present_and(Not(In(AsText(Value()), tuple(str(a) for a in spec.allowed))))


def _unknown_event(spec: ColumnSpec, ctx: Context) -> Expr | None:
    if spec.role != Role.EVENT_TYPE or not ctx.event_types:
        return None
    return _present_and(Not(In(Value(), ctx.event_types)))


def _constraints(constraints: list[InequalityConstraint]) -> list[tuple[str, Expr]]:
    return [(k.low, Cmp(">", Value(k.low), Value(k.high))) for k in constraints]


_TEXT = {"name": "x", "role": "signal", "dtype": "string"}
RULES: list[Rule | RowRule] = [
    Rule(
        NUL_BYTE, 10, lambda s, c: HasNul(),
        Example((_TEXT,), {"x": "a\x00b"}, native=False), as_read=True,
    ),
    Rule(
        MISSING_ID, 20, lambda s, c: IsNull(Raw()) if _is_id(s) else None,
        Example((), {"user_id": None}), on_empty=True,
    ),
    Rule(
        MISSING_VALUE, 30, lambda s, c: IsNull(Raw()) if not s.nullable and not _is_id(s) else None,
        Example((_TEXT,), {"x": None}), on_empty=True,
    ),
    Rule(
        BAD_TIMESTAMP, 40, lambda s, c: And((Unparsed(), TimeLike())) if s.dtype == DType.DATETIME else None,
        Example(({**_TEXT, "dtype": "datetime"},), {"x": "3000-01-01"}, native=False),
    ),
    Rule(
        BAD_TYPE, 50, lambda s, c: Unparsed(),
        Example(({**_TEXT, "dtype": "int"},), {"x": "abc"}, native=False),
    ),
    Rule(
        OUT_OF_RANGE, 60, _out_of_range,
        Example(({**_TEXT, "dtype": "int", "min": 0},), {"x": -5}),
    ),
    Rule(
        NOT_ALLOWED, 70, _not_allowed,
        Example(({**_TEXT, "allowed": ["a", "b"]},), {"x": "c"}),
    ),
    Rule(
        UNKNOWN_EVENT_TYPE, 80, _unknown_event,
        Example(({**_TEXT, "role": "event_type"},), {"x": "teleport"}, {"event_types": ["view"]}),
    ),
    RowRule(
        CONSTRAINT_VIOLATION, 90, _constraints,
        Example(
            ({**_TEXT, "dtype": "int"}, {**_TEXT, "name": "y", "dtype": "int"}),
            {"x": 5, "y": 3},
            {"constraints": [{"type": "inequality", "low": "x", "high": "y"}]},
        ),
    ),
]  # fmt: skip


def column_rules(spec: ColumnSpec, ctx: Context) -> list[tuple[Rule, Expr]]:
    """The rules that apply to column `spec`, in precedence order, with their conditions."""
    out = []
    for r in sorted((r for r in RULES if isinstance(r, Rule)), key=lambda r: r.order):
        cond = r.condition(spec, ctx)
        if cond is not None:
            out.append((r, cond))
    return out


def row_rules(
    constraints: list[InequalityConstraint] | None, names: list[str]
) -> list[tuple[RowRule, str, Expr]]:
    """The row rules' conditions for the schema's constraints over the checked columns `names`:
    (rule, column blamed, condition); a condition naming another column is left out."""
    rows = sorted((r for r in RULES if isinstance(r, RowRule)), key=lambda r: r.order)
    return [
        (r, col, cond)
        for r in rows
        for col, cond in r.conditions(list(constraints or []))
        if referenced(cond) <= set(names)
    ]
