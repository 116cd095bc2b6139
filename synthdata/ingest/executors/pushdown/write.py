"""The push-down executor's output: the clean rows (or, for events, their per-(user, item)
aggregate) computed in the database and streamed into the clean Parquet file."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.executors.pushdown.dialects import PushdownDialect
from synthdata.ingest.layouts.events import Aggregate, aggregates
from synthdata.ingest.output import ParquetOut, canonical, join_attributes
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import time_span
from synthdata.ingest.sources import LINE
from synthdata.ingest.sources.sql import db_message
from synthdata.schema import DType


def epoch_us(t: Any) -> Any:
    """A time as microseconds since the epoch: drivers build a Python datetime per value, which
    was most of the transfer's cost; an integer is cheap and converted per batch by pandas."""
    return sa.cast(sa.func.floor(sa.extract("epoch", t) * 1_000_000), sa.BigInteger)


def write_output(
    x: sa.Connection, sql: Any, good: Any, plan: Plan, out_schema: Any, tables: dict, profile: PushdownDialect
) -> tuple[Outcome, int, int]:
    """Stream the clean table (events: aggregated in the database) into `plan.out`; returns the
    outcome, the number of distinct rows kept and the number of rows transferred."""
    if plan.layout == "events":
        q, ucol, icol = _events_query(good, plan, out_schema, profile), "user_id", "item_id"
        tcol = ("first_ts", "last_ts")
    else:
        q, ucol, icol = _rows_query(good, plan), plan.schema.user_col, plan.schema.item_col
        tcol = (plan.schema.time_col, plan.schema.time_col)
    res = x.execution_options(stream_results=True).exec_driver_sql(sql(q))
    try:
        return _stream(res, plan, out_schema, tables, ucol, icol, tcol)
    except sa.exc.SQLAlchemyError as e:
        from synthdata.errors import InputError

        raise InputError(f"cannot read from database: {db_message(e, '')}", path=plan.label) from None


_AGGREGATE_SQL = {  # `layouts.events.Aggregate` ops over a column
    "count": lambda a, c: sa.func.count().filter(c == a.equals),
    "min": lambda a, c: sa.func.min(c),
    "max": lambda a, c: sa.func.max(c),
    "sum": lambda a, c: sa.func.sum(c),
}


def aggregate_sql(a: Aggregate, d: Any, times: set[str]) -> Any:
    """One aggregate of the events layout over subquery `d`; times travel as epoch microseconds."""
    if a.op not in _AGGREGATE_SQL:
        raise ValueError(f"aggregate {a.name!r}: the pushdown executor has no rendering for {a.op!r}")
    c = d.c[a.column] if a.fill is None else sa.func.coalesce(d.c[a.column], a.fill)
    v = _AGGREGATE_SQL[a.op](a, c)
    if a.digits is not None:
        v = sa.cast(sa.func.round(sa.cast(v, sa.Numeric), a.digits), sa.Float(53))
    if a.op in ("min", "max") and a.column in times:
        v = epoch_us(v)
    return v.label(a.name)


def _events_query(good: Any, plan: Plan, out_schema: Any, profile: PushdownDialect) -> Any:
    """The distinct kept rows aggregated per (user, item), in the streaming executor's order."""
    schema, names = plan.schema, plan.names
    d = sa.select(*[good.c[n] for n in names]).distinct().subquery("d")
    u, i = d.c[schema.user_col], d.c[schema.item_col]
    times = {s.name for s in plan.specs if s.dtype == DType.DATETIME}
    parts = [u.label("user_id"), i.label("item_id")]
    parts += [aggregate_sql(a, d, times) for a in aggregates(schema, names)]
    parts.append(sa.func.count().label("_n"))
    collate = f" COLLATE {profile.byte_order}"
    order = [
        sa.text(c + (collate if out_schema.column(c).dtype != DType.INT else ""))
        for c in ("user_id", "item_id")
    ]
    return sa.select(*parts).group_by(u, i).order_by(*order)


def _rows_query(good: Any, plan: Plan) -> Any:
    """Interactions: each distinct kept row once, at its first line."""
    g, names = good.c, plan.names
    when = {s.name for s in plan.specs if s.dtype == DType.DATETIME}
    shown = [epoch_us(g[n]).label(n) if n in when else g[n] for n in names]
    q = sa.select(*shown, sa.func.min(g[LINE]).label(LINE)).group_by(*[g[n] for n in names])
    return q.order_by(sa.text(LINE))


def _stream(
    res: Any, plan: Plan, out_schema: Any, tables: dict, ucol: str, icol: str, tcol: tuple[Any, Any]
) -> tuple[Outcome, int, int]:
    keys = list(res.keys())
    times = [c.name for c in out_schema.columns if c.dtype == DType.DATETIME]
    w = ParquetOut(plan.out, out_schema.columns)
    users, items, n_distinct, rows_out = set(), set(), 0, 0
    lo = hi = None
    try:
        for rows in res.partitions(plan.chunk_size):
            df = pd.DataFrame.from_records(rows, columns=keys, coerce_float=True)
            for col in df.columns.intersection(times):
                df[col] = pd.to_datetime(df[col], unit="us", utc=True)
            n_distinct += int(df.pop("_n").sum()) if "_n" in df else len(df)
            df = canonical(join_attributes(df, tables, ucol, icol), out_schema.columns)
            users.update(df[ucol].tolist())
            items.update(df[icol].tolist())
            if tcol[0] in df and len(df):
                a, b = df[tcol[0]].min(), df[tcol[1]].max()
                lo = a if lo is None or a < lo else lo
                hi = b if hi is None or b > hi else hi
            w.write(df)
            rows_out += len(df)
    finally:
        w.close()
    span = time_span(pd.Series([lo, hi])) if lo is not None else None
    return Outcome(rows_out=rows_out, n_users=len(users), n_items=len(items), span=span), n_distinct, rows_out
