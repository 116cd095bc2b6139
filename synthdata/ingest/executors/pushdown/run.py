"""The push-down executor: the plan runs inside the source database; only results travel.

The database evaluates, per row, whether it is certainly clean (typed columns whose values pass
every check), merges exact duplicates and aggregates events per (user, item); it sends back the
clean table and the rows it cannot vouch for. Those go through the pandas validator, as in every
executor, so reason codes and first-problem order are identical. Should the validator accept one
of them (text needing Python's parsing, e.g. a padded string), the ingest is re-run by streaming,
which is exact by construction; so are sources push-down does not cover (a column whose database
type is text where the schema wants a number or a time, inline attribute columns, databases without
a profile in `dialects.PUSHDOWN`: PostgreSQL today). The report's `engine` says which ran.

SQL is built with SQLAlchemy Core (identifiers quoted by the dialect, values as literals); the
user's query is the innermost subquery, sent verbatim. All statements run in one read-only,
repeatable-read transaction, so counts, rejects and the clean table see the same snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.errors import InputError
from synthdata.ingest.executors.pandas.checks import validate_chunk
from synthdata.ingest.executors.pushdown.checks import NATIVE, Fallback, row_checks
from synthdata.ingest.executors.pushdown.dialects import PUSHDOWN, PushdownDialect
from synthdata.ingest.executors.pushdown.write import write_output
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import Tally
from synthdata.ingest.sources import LINE, SqlSource
from synthdata.ingest.sources.sql import read_only
from synthdata.log import get_logger, kv
from synthdata.schema import DType

log = get_logger("ingest")


def run_pushdown(src: SqlSource, plan: Plan, rejects: Any) -> tuple[Outcome, str]:
    from synthdata.ingest.executors.pandas.run import run_streaming

    try:
        return _pushdown(src, plan, rejects), "pushdown"
    except Fallback as why:
        log.info(kv(event="pushdown_fallback", source=src.label, reason=str(why)))
        return run_streaming(src, plan, plan.out.parent, rejects), "pandas"


def _kinds(conn: sa.Connection, base: str, kinds: Any) -> dict[str, str]:
    res = conn.execution_options(no_parameters=True).exec_driver_sql(f"SELECT * FROM ({base}) AS q LIMIT 0")
    desc = res.cursor.description
    res.close()
    return {d[0]: kinds.get(d[1], "other") for d in desc}


def _native_kinds(conn: sa.Connection, base: str, profile: PushdownDialect, plan: Plan) -> dict[str, str]:
    """The database's kind of each column; Fallback where a column's kind is not the schema's dtype
    (e.g. text holding numbers: only Python's parsing gives the validator's result)."""
    kinds = _kinds(conn, base, profile.kinds)
    for s in plan.specs:
        k = kinds.get(str(s.input_name), "other")
        if k not in NATIVE[s.dtype] or (s.dtype == DType.DATETIME and s.datetime_unit is not None):
            raise Fallback(f"column {s.input_name!r} is {k} in the database, {s.dtype.value} in the schema")
    return kinds


def _suspect_rejects(res: Any, src: SqlSource, plan: Plan) -> list[pd.DataFrame]:
    """The validator's rejects of the rows the SQL doubted (streamed from `res`); Fallback when it
    accepts one of them."""
    held = []
    keys = list(res.keys())
    for rows in res.partitions(plan.chunk_size):
        raw = pd.DataFrame.from_records(rows, columns=keys, coerce_float=True)
        raw.columns = [*src.columns, LINE]
        checked = validate_chunk(raw, plan.specs, plan.schema.event_types, plan.now, plan.schema.constraints)
        if len(checked.good):
            raise Fallback(
                f"the validator accepts row {int(checked.good[LINE].iloc[0])}, which SQL could not"
            )
        held.append(checked.rejects)
    return held


@dataclass
class _Queries:
    """The source as SQL: `inner` (as given) and `numbered` (with line numbers), and per column the
    checks the database can vouch for (`*sure`) and the converted values (`*vals`) over each."""

    inner: Any
    numbered: Any
    sure: Any
    vals: dict[str, Any]
    plain_sure: Any
    plain_vals: dict[str, Any]


def _queries(src: SqlSource, plan: Plan, kinds: dict[str, str], profile: PushdownDialect) -> _Queries:
    cols = [sa.column(str(c)) for c in src.columns]
    inner = sa.text(src.sql.replace(":", "\\:")).columns(*cols).subquery("src")
    # rows are numbered only where a line is needed (suspects; first occurrences outside the
    # events layout): the window function serialises the scan and blocks parallel plans
    numbered = sa.select(
        *[inner.c[str(c)] for c in src.columns], sa.func.row_number().over().label(LINE)
    ).subquery("n")
    sure, vals = row_checks(plan, kinds, numbered, profile)
    plain_sure, plain_vals = row_checks(plan, kinds, inner, profile)
    return _Queries(inner, numbered, sure, vals, plain_sure, plain_vals)


def _good_rows(q: _Queries, plan: Plan) -> Any:
    """The rows the database certifies; the events layout aggregates them without line numbers."""
    if plan.layout == "events":
        good = sa.select(*[q.plain_vals[n].label(n) for n in plan.names]).where(q.plain_sure)
    else:
        good = sa.select(*[q.vals[n].label(n) for n in plan.names], q.numbered.c[LINE]).where(q.sure)
    return good.subquery("g")


def _pushdown(src: SqlSource, plan: Plan, rejects: Any) -> Outcome:
    engine = src.engine
    profile = PUSHDOWN.get(engine.dialect.name)
    if profile is None:
        raise Fallback(f"no push-down profile for {engine.dialect.name} (executors/pushdown/dialects.py)")
    if plan.inline_user_attributes or plan.inline_item_attributes:
        raise Fallback("inline attribute columns (attribute votes run in the streaming executor)")
    dialect = engine.dialect.__class__(paramstyle="named")

    def sql(stmt: Any) -> str:
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    main = Tally(source=src.label)
    with read_only(engine, src.label, src.url) as conn:
        for statement in profile.setup:
            conn.exec_driver_sql(statement)
        q = _queries(src, plan, _native_kinds(conn, src.sql, profile, plan), profile)
        x = conn.execution_options(no_parameters=True)
        n_in, n_ok = x.exec_driver_sql(
            sql(sa.select(sa.func.count(), sa.func.count().filter(q.plain_sure)).select_from(q.inner))
        ).one()
        main.rows_in = int(n_in)
        if main.rows_in == 0:
            raise InputError("empty input: no data rows", path=src.label, row=plan.first_row)
        held: list[pd.DataFrame] = []
        if n_ok < n_in:  # the rows the database cannot vouch for travel; the validator decides
            doubted = sa.select(q.numbered).where(sa.not_(q.sure)).order_by(q.numbered.c[LINE])
            held = _suspect_rejects(
                x.execution_options(stream_results=True).exec_driver_sql(sql(doubted)), src, plan
            )
        tables, attr_tallies, out_schema = plan.attributes(rejects)
        for r in held:
            main.reject(r)
            rejects.write(plan.label, r)
        out, n_distinct, moved = write_output(x, sql, _good_rows(q, plan), plan, out_schema, tables, profile)
    main.rows_merged = int(n_ok) - n_distinct
    main.rows_kept = n_distinct
    out.main, out.attributes, out.schema = main, attr_tallies, out_schema
    log.info(
        kv(
            event="pushdown_done",
            source=src.label,
            rows_in=main.rows_in,
            rows_transferred=moved + int(n_in - n_ok),
        )
    )
    return out
