"""The streaming executor's output: kept rows written as they come (interactions), or aggregated
per (user, item) (events, `aggregate.EventAggregator`), attribute tables joined, and the counts for
the report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.ingest.executors.pandas.aggregate import EventAggregator, IdCodec
from synthdata.ingest.layouts.events import aggregates
from synthdata.ingest.output import ParquetOut, canonical, join_attributes
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import time_span
from synthdata.schema import DType


def write_rows(
    batches: Iterable[pd.DataFrame], plan: Plan, out_schema: Any, tables: dict[str, pd.DataFrame]
) -> Outcome:
    """Interactions: each batch with its attribute tables joined, written in order."""
    schema = plan.schema
    uid, iid = schema.user_col, schema.item_col
    users_out, items_out = IdCodec(), IdCodec()
    time_col = schema.time_col if schema.time_col in plan.names else None
    tmin: Any = None
    tmax: Any = None
    rows_out = 0
    out_w = ParquetOut(plan.out, out_schema.columns)
    for batch in batches:
        df = join_attributes(batch, tables, uid, iid)
        users_out.encode(df[uid])
        items_out.encode(df[iid])
        if time_col is not None and len(df):
            lo, hi = df[time_col].min(), df[time_col].max()
            tmin = lo if tmin is None or lo < tmin else tmin
            tmax = hi if tmax is None or hi > tmax else tmax
        out_w.write(canonical(df, out_schema.columns))
        rows_out += len(df)
    out_w.close()
    span = time_span(pd.Series([tmin, tmax])) if tmin is not None else None
    return Outcome(rows_out=rows_out, n_users=len(users_out.index), n_items=len(items_out.index), span=span)


def write_events(
    batches: Iterable[pd.DataFrame],
    plan: Plan,
    out_schema: Any,
    winners: dict[str, dict[str, pd.Series]],
    tables: dict[str, pd.DataFrame],
) -> Outcome:
    """Events: the batches aggregated per (user, item), then attributes joined and written."""
    schema, names = plan.schema, plan.names
    uid, iid = schema.user_col, schema.item_col
    times = {s.name for s in plan.specs if s.dtype == DType.DATETIME}
    agg = EventAggregator(uid, iid, aggregates(schema, names), times)
    for batch in batches:
        agg.add(batch)
    res = agg.result(schema.column(uid).dtype, schema.column(iid).dtype)
    res = join_attributes(res, tables, "user_id", "item_id")
    if plan.inline_user_attributes or plan.inline_item_attributes:
        for key, tgt in (("u", "user_id"), ("i", "item_id")):
            for a, w in winners[key].items():
                res[a] = res[tgt].map(w)
    res = canonical(res, out_schema.columns)
    pq.write_table(pa.Table.from_pandas(res, preserve_index=False), plan.out)
    span = time_span(pd.concat([res["first_ts"], res["last_ts"]])) if "last_ts" in res else None
    return Outcome(
        rows_out=len(res),
        n_users=int(res["user_id"].nunique()),
        n_items=int(res["item_id"].nunique()),
        span=span,
    )
