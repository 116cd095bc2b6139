"""The push-down executor's checks, as SQLAlchemy Core over the source query: per column a typed
value and a condition that the value is certainly what the pandas validator would keep and breaks
none of the rules (`rules.RULES`, rendered by `render.SqlCertainty`). Rows that fail it are sent
back and decided by `executors/pandas/checks.py`."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.executors.pushdown.dialects import PushdownDialect
from synthdata.ingest.executors.pushdown.render import SqlCertainty, compared
from synthdata.ingest.plan import Plan
from synthdata.ingest.rules import Context, column_rules, row_rules
from synthdata.ingest.rules.expr import render_rule
from synthdata.schema import ColumnSpec, DType

NATIVE = {
    DType.INT: {"int"},
    DType.FLOAT: {"int", "float"},
    DType.BOOL: {"bool"},
    DType.DATETIME: {"ts"},
    DType.STRING: {"text", "int"},
    DType.CATEGORY: {"text", "int"},
}
_WS = "".join(c for c in map(chr, range(0x3100)) if c.isspace())
TS_LO, TS_HI = pd.Timestamp("1678-01-01", tz="UTC"), pd.Timestamp("2261-12-31", tz="UTC")


class Fallback(Exception):
    """Push-down cannot give the streaming executor's exact result for this source."""


def column_sure(spec: ColumnSpec, c: Any, kind: str, plan: Plan, profile: PushdownDialect) -> Any:
    """SQL condition: this column's value is certainly what the validator would keep (`faithful`) and
    breaks none of its rules (`rules.column_rules`, rendered by `render.SqlCertainty`)."""
    ok = [c.is_not(None), *faithful(spec, c, kind, profile)]
    required = []
    r = SqlCertainty(spec, c, kind)
    for rule, cond in column_rules(spec, Context(plan.now, tuple(plan.schema.event_types or ()))):
        r.present = not rule.on_empty
        clear = render_rule(rule.code, r.clear, cond)
        if clear is False:
            raise Fallback(f"the {rule.code} rule on column {spec.name!r} has no SQL form here")
        if clear is not True:
            (required if rule.on_empty else ok).append(clear)
    cond = sa.and_(*ok)
    return sa.and_(*required, cond) if required else sa.or_(c.is_(None), cond)


def faithful(spec: ColumnSpec, c: Any, kind: str, profile: PushdownDialect) -> list[Any]:
    """Conditions under which the typed value is the validator's: text unchanged by Python's strip,
    whole numbers where integers are wanted, finite numbers, times pandas can hold."""
    ok = []
    if spec.dtype in (DType.STRING, DType.CATEGORY) and kind == "text":
        trimmed = getattr(sa.func, profile.trim)(c, _WS)
        ok += [sa.func.length(c) > 0, trimmed == c]  # database text holds no NUL
    if spec.dtype == DType.INT and kind == "float":
        ok += [c == sa.func.floor(c), sa.func.abs(c) < 1e15]
    if spec.dtype in (DType.INT, DType.FLOAT) and kind == "float":
        ok.append(c != sa.cast(sa.literal("NaN"), sa.Float(53)))
    if spec.dtype == DType.DATETIME:  # also excludes +-infinity
        ok.append(
            sa.cast(c, sa.DateTime(timezone=True)).between(TS_LO.to_pydatetime(), TS_HI.to_pydatetime())
        )
    return ok


def typed_value(spec: ColumnSpec, c: Any, kind: str) -> Any:
    if spec.dtype == DType.INT:
        return sa.cast(c, sa.BigInteger)
    if spec.dtype == DType.FLOAT:
        return sa.cast(c, sa.Float(53))
    if spec.dtype == DType.DATETIME:
        return sa.cast(c, sa.DateTime(timezone=True))
    if spec.dtype in (DType.STRING, DType.CATEGORY) and kind != "text":
        return sa.cast(c, sa.Text)
    return c


def row_checks(
    plan: Plan, kinds: dict[str, str], sub: Any, profile: PushdownDialect
) -> tuple[Any, dict[str, Any]]:
    """(row-is-certainly-clean condition, typed values by column) over subquery `sub`."""
    c = {s.name: sub.c[str(s.input_name)] for s in plan.specs}
    conds = [column_sure(s, c[s.name], kinds[str(s.input_name)], plan, profile) for s in plan.specs]
    vals = {s.name: typed_value(s, c[s.name], kinds[str(s.input_name)]) for s in plan.specs}
    r = SqlCertainty(
        None, values={s.name: compared(s, c[s.name], kinds[str(s.input_name)]) for s in plan.specs}
    )
    for rule, _, cond in row_rules(plan.schema.constraints, plan.names):
        clear = render_rule(rule.code, r.clear, cond)
        if clear is False:
            raise Fallback(f"the {rule.code} rule has no SQL form here")
        conds += [] if clear is True else [clear]
    return sa.and_(*conds), vals
