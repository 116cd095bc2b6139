"""The push-down executor's output: the clean rows (or, for events, their per-(user, item)
aggregate) computed in the database and streamed into the clean Parquet file."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.executors.pushdown.dialects import PushdownDialect
from synthdata.ingest.layouts.events import count_column, value_column
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
    schema, names = plan.schema, plan.names
    g = good.c
    if plan.layout == "events":
        d = sa.select(*[g[n] for n in names]).distinct().subquery("d")
        u, i = d.c[schema.user_col], d.c[schema.item_col]
        parts = [u.label("user_id"), i.label("item_id")]
        parts += [
            sa.func.count().filter(d.c[schema.event_col] == e).label(count_column(e))
            for e in schema.event_types or []
        ]
        if schema.time_col in names:
            parts += [
                epoch_us(sa.func.min(d.c[schema.time_col])).label("first_ts"),
                epoch_us(sa.func.max(d.c[schema.time_col])).label("last_ts"),
            ]
        vcol = value_column(schema)
        if vcol in names:
            total = sa.func.sum(sa.func.coalesce(d.c[vcol], 0.0))
            parts.append(
                sa.cast(sa.func.round(sa.cast(total, sa.Numeric), 6), sa.Float(53)).label("value_sum")
            )
        parts.append(sa.func.count().label("_n"))
        collate = f" COLLATE {profile.byte_order}"
        order = [
            sa.text(c + (collate if out_schema.column(c).dtype != DType.INT else ""))
            for c in ("user_id", "item_id")
        ]
        q = sa.select(*parts).group_by(u, i).order_by(*order)
        ucol, icol = "user_id", "item_id"
    else:
        when = {s.name for s in plan.specs if s.dtype == DType.DATETIME}
        shown = [epoch_us(g[n]).label(n) if n in when else g[n] for n in names]
        q = sa.select(*shown, sa.func.min(g[LINE]).label(LINE)).group_by(*[g[n] for n in names])
        q = q.order_by(sa.text(LINE))
        ucol, icol = schema.user_col, schema.item_col
    res = x.execution_options(stream_results=True).exec_driver_sql(sql(q))
    keys = list(res.keys())
    times = [c.name for c in out_schema.columns if c.dtype == DType.DATETIME]
    w = ParquetOut(plan.out, out_schema.columns)
    users, items, n_distinct, rows_out = set(), set(), 0, 0
    lo = hi = None
    tcol = ("first_ts", "last_ts") if plan.layout == "events" else (schema.time_col, schema.time_col)
    try:
        for rows in res.partitions(plan.chunk_size):
            df = pd.DataFrame.from_records(rows, columns=keys, coerce_float=True)
            for col in df.columns.intersection(times):
                df[col] = pd.to_datetime(df[col], unit="us", utc=True)
            n_distinct += int(df.pop("_n").sum()) if "_n" in df else len(df)
            df = join_attributes(df, tables, ucol, icol)
            df = canonical(df, out_schema.columns)
            users.update(df[ucol].tolist() if plan.layout != "events" else df["user_id"].tolist())
            items.update(df[icol].tolist() if plan.layout != "events" else df["item_id"].tolist())
            if tcol[0] in df and len(df):
                a, b = df[tcol[0]].min(), df[tcol[1]].max()
                lo = a if lo is None or a < lo else lo
                hi = b if hi is None or b > hi else hi
            w.write(df)
            rows_out += len(df)
    except sa.exc.SQLAlchemyError as e:
        from synthdata.errors import InputError

        raise InputError(f"cannot read from database: {db_message(e, '')}", path=plan.label) from None
    finally:
        w.close()
    span = time_span(pd.Series([lo, hi])) if lo is not None else None
    return Outcome(rows_out=rows_out, n_users=len(users), n_items=len(items), span=span), n_distinct, rows_out
