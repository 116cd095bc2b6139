"""The DuckDB executor's output: the aggregated (or kept) rows written in order to Parquet, by
DuckDB itself (`COPY`) or as Arrow batches where Python joins attribute tables, and the counts for
the report."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthdata.ingest.executors.duckdb.checks import SQL_TYPE
from synthdata.ingest.executors.duckdb.render import ident, lit
from synthdata.ingest.layouts.events import Aggregate, aggregates
from synthdata.ingest.output import ParquetOut, canonical, join_attributes
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import time_span
from synthdata.ingest.sources import LINE
from synthdata.schema import DType


def drop_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the checked rows (table or view) and the views over them, where they still exist."""
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for name in ("dedup", "checked_lines", "checked", "suspects"):
        if name in views:
            con.execute(f"DROP VIEW {name}")
        elif name in tables and name != "dedup":
            con.execute(f"DROP TABLE {name}")


def write_result(
    con: duckdb.DuckDBPyConnection, kept: str, plan: Plan, out_schema: Any, tables: dict
) -> tuple[Outcome, int]:
    """Write the clean table to `plan.out`; returns the outcome and the number of rows kept."""
    own = [
        c.name for c in out_schema.columns if c.name not in {a for t in tables.values() for a in t.columns}
    ]
    if plan.layout == "events":
        stats, n_kept = _write_events(con, kept, plan, out_schema, tables, own)
    else:
        stats, n_kept = _write_rows(con, kept, plan, out_schema, tables, own)
    span = (
        time_span(pd.Series([pd.Timestamp(stats[3]), pd.Timestamp(stats[4])]))
        if len(stats) > 3 and stats[3] is not None
        else None
    )
    out = Outcome(rows_out=int(stats[0]), n_users=int(stats[1]), n_items=int(stats[2]), span=span)
    return out, n_kept


_AGGREGATE_SQL = {  # `layouts.events.Aggregate` ops over a column expression
    "count": lambda a, x: f"count(*) FILTER (WHERE {x} = {lit(a.equals)})",
    "min": lambda a, x: f"min({x})",
    "max": lambda a, x: f"max({x})",
    "sum": lambda a, x: f"fsum({x})",
}


def aggregate_sql(a: Aggregate) -> str:
    """One aggregate of the events layout as DuckDB SQL."""
    if a.op not in _AGGREGATE_SQL:
        raise ValueError(f"aggregate {a.name!r}: the duckdb executor has no rendering for {a.op!r}")
    x = ident(a.column)
    x = x if a.fill is None else f"coalesce({x}, {lit(a.fill)})"
    sql = _AGGREGATE_SQL[a.op](a, x)
    return f"{sql if a.digits is None else f'round({sql}, {a.digits})'} AS {ident(a.name)}"


def _write_events(
    con: duckdb.DuckDBPyConnection, kept: str, plan: Plan, out_schema: Any, tables: dict, own: list[str]
) -> tuple[Any, int]:
    """Events: the aggregation goes in (user, item) order straight into the file, never stored
    (storing it and sorting the stored copy spilled twice under a memory limit). DuckDB writes it
    unless attribute tables are joined in Python or a nullable event type leaves rows_kept unknown
    from the counts; the report's counts come from the written file (and the batches)."""
    schema = plan.schema
    aggs = aggregates(schema, plan.names)
    parts = [f"{ident(schema.user_col)} AS user_id", f"{ident(schema.item_col)} AS item_id"]
    parts += [aggregate_sql(a) for a in aggs]
    parts += [
        f"any_value({ident(a)}) AS {ident(a)}"
        for a in [*plan.inline_user_attributes, *plan.inline_item_attributes]
    ]
    counts = [ident(a.name) for a in aggs if a.op == "count"]
    # DuckDB writes the file itself (parallel, no Arrow round trip) when the count columns
    # add up to the events kept, i.e. every kept event has one of the types
    direct = not tables and counts and not schema.column(schema.event_col).nullable
    if not direct:
        parts.append("count(*) AS _n")  # events kept (not written): rows_kept without a second scan
    agg = f"SELECT {', '.join(parts)} FROM ({kept}) GROUP BY ALL"
    ts = ", min(first_ts), max(last_ts)" if "last_ts" in out_schema.names else ""
    n_kept: int | None = None
    if direct:
        _copy(con, f"SELECT {_typed(own, out_schema)} FROM ({agg}) ORDER BY user_id, item_id", plan)
        ts += f", sum({' + '.join(counts)})"
    else:
        cols = ", ".join([*(ident(c) for c in own), "_n"])
        sql = f"SELECT {cols} FROM ({agg}) ORDER BY user_id, item_id"
        n_kept = _stream(con, sql, plan, out_schema, tables, "user_id", "item_id")
    drop_inputs(con)
    stats = con.execute(
        f"SELECT count(*), count(DISTINCT user_id), count(DISTINCT item_id){ts} "
        f"FROM read_parquet({lit(str(plan.out))})"
    ).fetchall()[0]
    if n_kept is None:
        n_kept, stats = int(stats[-1] or 0), stats[:-1]
    return stats, n_kept


def _write_rows(
    con: duckdb.DuckDBPyConnection, kept: str, plan: Plan, out_schema: Any, tables: dict, own: list[str]
) -> tuple[Any, int]:
    """Interactions: the kept rows in line order."""
    schema = plan.schema
    con.execute(f"CREATE TABLE result AS {kept}")
    tc = schema.time_col if schema.time_col in plan.names else None
    stats = con.execute(
        f"SELECT count(*), count(DISTINCT {ident(schema.user_col)}), count(DISTINCT {ident(schema.item_col)})"
        + (f", min({ident(tc)}), max({ident(tc)})" if tc else "")
        + " FROM result"
    ).fetchall()[0]
    drop_inputs(con)
    sql = f"SELECT {', '.join(ident(c) for c in own)} FROM result ORDER BY {ident(LINE)}"
    _stream(con, sql, plan, out_schema, tables, schema.user_col, schema.item_col)
    return stats, int(stats[0])


# the clean table's SQL types, with nanosecond timestamps as the streaming writer writes them
_DUCK_TYPE = {**SQL_TYPE, DType.DATETIME: "TIMESTAMPTZ_NS"}


def _typed(names: list[str], out_schema: Any) -> str:
    """The select list cast to the output's Arrow types (`output.arrow_type`): nanosecond UTC
    timestamps, int64, float64, bool, string."""
    dtype = {c.name: c.dtype for c in out_schema.columns}
    cast = {n: _DUCK_TYPE.get(dtype[n], "VARCHAR") for n in names}
    return ", ".join(f"CAST({ident(n)} AS {cast[n]}) AS {ident(n)}" for n in names)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, plan: Plan) -> None:
    """`COPY ... TO` the clean file: DuckDB sorts, encodes and compresses in parallel; the file
    keeps the query's ORDER BY whatever `preserve_insertion_order` says (DuckDB only reorders
    results without one)."""
    # DuckDB's own row-group size (122,880 rows): row groups are its unit of parallel encoding,
    # and larger groups made the write slower (benchmarks/ingest_scale.py; benchmarks/results/)
    con.execute(f"COPY ({sql}) TO {lit(str(plan.out))} (FORMAT parquet, COMPRESSION snappy)")


def _stream(
    con: duckdb.DuckDBPyConnection, sql: str, plan: Plan, out_schema: Any, tables: dict, ucol: str, icol: str
) -> int:
    """Write the rows of `sql` (joined with the attribute tables) to `plan.out`; returns the sum of
    its `_n` column where it has one."""
    w = ParquetOut(plan.out, out_schema.columns)
    n = 0
    try:
        for batch in con.cursor().sql(sql).to_arrow_reader(plan.chunk_size):
            if "_n" in batch.schema.names:
                n += int(pc.sum(batch.column("_n")).as_py() or 0)
            if tables:
                df = join_attributes(_result_pandas(batch), tables, ucol, icol)
                w.write(canonical(df, out_schema.columns))
            else:
                w.write_arrow(batch)
    finally:
        w.close()
    return n


def _result_pandas(batch: pa.RecordBatch) -> pd.DataFrame:
    df = batch.to_pandas()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[ns, UTC]")
    return df
