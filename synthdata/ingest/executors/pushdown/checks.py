"""The push-down executor's checks, as SQLAlchemy Core over the source query: per column a typed
value and a condition that the value is certainly what the pandas validator would keep. Rows that
fail it are sent back and decided by `executors/pandas/checks.py`."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.executors.pushdown.dialects import PushdownDialect
from synthdata.ingest.plan import Plan
from synthdata.ingest.rules import MIN_TIME
from synthdata.schema import ColumnSpec, DType, Role

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
    """SQL condition: this column's value is certainly what the validator would keep."""
    ok = [c.is_not(None)]
    if spec.dtype in (DType.STRING, DType.CATEGORY) and kind == "text":
        trimmed = getattr(sa.func, profile.trim)(c, _WS)
        ok += [sa.func.length(c) > 0, trimmed == c]  # database text holds no NUL
    if spec.dtype == DType.INT and kind == "float":
        ok += [c == sa.func.floor(c), sa.func.abs(c) < 1e15]
    if spec.dtype in (DType.INT, DType.FLOAT):
        ok += [c >= spec.min] if spec.min is not None else []
        ok += [c <= spec.max] if spec.max is not None else []
        ok += [c != sa.cast(sa.literal("NaN"), sa.Float(53))] if kind == "float" else []
    if spec.dtype == DType.DATETIME:
        lo = pd.Timestamp(spec.min, unit="s", tz="UTC") if spec.min is not None else None
        hi = pd.Timestamp(spec.max, unit="s", tz="UTC") if spec.max is not None else None
        if spec.role == Role.TIMESTAMP:
            lo, hi = (MIN_TIME if lo is None else lo), (plan.now if hi is None else hi)
        lo, hi = max(lo or TS_LO, TS_LO), min(hi or TS_HI, TS_HI)  # also excludes +-infinity
        ok.append(sa.cast(c, sa.DateTime(timezone=True)).between(lo.to_pydatetime(), hi.to_pydatetime()))
    if spec.allowed is not None:
        if spec.dtype not in (DType.STRING, DType.CATEGORY, DType.INT):
            raise Fallback(f"allowed values on a {spec.dtype.value} column")
        ok.append(sa.cast(c, sa.Text).in_([str(a) for a in spec.allowed]))
    if spec.role == Role.EVENT_TYPE and plan.schema.event_types:
        ok.append(c.in_(plan.schema.event_types))
    cond = sa.and_(*ok)
    nullable = spec.nullable and spec.role not in (Role.USER_ID, Role.ITEM_ID)
    return sa.or_(c.is_(None), cond) if nullable else cond


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
    for k in plan.schema.constraints or []:
        if k.low in vals and k.high in vals:
            conds.append(sa.or_(vals[k.low].is_(None), vals[k.high].is_(None), vals[k.low] <= vals[k.high]))
    return sa.and_(*conds), vals
