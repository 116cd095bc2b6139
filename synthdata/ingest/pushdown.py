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

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.clean import MIN_TIME, validate_chunk
from synthdata.ingest.dialects import PUSHDOWN, PushdownDialect
from synthdata.ingest.layouts import count_column, value_column
from synthdata.ingest.output import ParquetOut, canonical, join_attributes
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import Tally, time_span
from synthdata.ingest.sources import LINE, Source
from synthdata.ingest.sqlread import db_message, read_only
from synthdata.log import get_logger, kv
from synthdata.schema import ColumnSpec, DType, Role

log = get_logger("ingest")
_NATIVE = {
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


def run_pushdown(src: Source, plan: Plan, rejects: Any) -> tuple[Outcome, str]:
    from synthdata.ingest.streaming import run_streaming

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


def _sure(spec: ColumnSpec, c: Any, kind: str, plan: Plan, profile: PushdownDialect) -> Any:
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


def _value(spec: ColumnSpec, c: Any, kind: str) -> Any:
    if spec.dtype == DType.INT:
        return sa.cast(c, sa.BigInteger)
    if spec.dtype == DType.FLOAT:
        return sa.cast(c, sa.Float(53))
    if spec.dtype == DType.DATETIME:
        return sa.cast(c, sa.DateTime(timezone=True))
    if spec.dtype in (DType.STRING, DType.CATEGORY) and kind != "text":
        return sa.cast(c, sa.Text)
    return c


def _epoch_us(t: Any) -> Any:
    """A time as microseconds since the epoch: drivers build a Python datetime per value, which
    was most of the transfer's cost; an integer is cheap and converted per batch by pandas."""
    return sa.cast(sa.func.floor(sa.extract("epoch", t) * 1_000_000), sa.BigInteger)


def _checks(
    plan: Plan, kinds: dict[str, str], sub: Any, profile: PushdownDialect
) -> tuple[Any, dict[str, Any]]:
    """(row-is-certainly-clean condition, typed values by column) over subquery `sub`."""
    c = {s.name: sub.c[str(s.input_name)] for s in plan.specs}
    conds = [_sure(s, c[s.name], kinds[str(s.input_name)], plan, profile) for s in plan.specs]
    vals = {s.name: _value(s, c[s.name], kinds[str(s.input_name)]) for s in plan.specs}
    for k in plan.schema.constraints or []:
        if k.low in vals and k.high in vals:
            conds.append(sa.or_(vals[k.low].is_(None), vals[k.high].is_(None), vals[k.low] <= vals[k.high]))
    return sa.and_(*conds), vals


def _pushdown(src: Source, plan: Plan, rejects: Any) -> Outcome:
    engine, url, base = src._opts["engine"], src._opts["url"], src._opts["sql"]
    profile = PUSHDOWN.get(engine.dialect.name)
    if profile is None:
        raise Fallback(f"no push-down profile for {engine.dialect.name} (ingest/dialects.py)")
    if plan.inline_u or plan.inline_i:
        raise Fallback("inline attribute columns (attribute votes run in the streaming executor)")
    dialect = engine.dialect.__class__(paramstyle="named")

    def sql(stmt: Any) -> str:
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    main = Tally(source=src.label)
    with read_only(engine, src.label, url) as conn:
        for statement in profile.setup:
            conn.exec_driver_sql(statement)
        kinds = _kinds(conn, base, profile.kinds)
        for s in plan.specs:
            k = kinds.get(str(s.input_name), "other")
            if k not in _NATIVE[s.dtype] or (s.dtype == DType.DATETIME and s.datetime_unit is not None):
                raise Fallback(
                    f"column {s.input_name!r} is {k} in the database, {s.dtype.value} in the schema"
                )
        cols = [sa.column(str(c)) for c in src.columns]
        inner = sa.text(base.replace(":", "\\:")).columns(*cols).subquery("src")
        # rows are numbered only where a line is needed (suspects; first occurrences outside the
        # events layout): the window function serialises the scan and blocks parallel plans
        numbered = sa.select(
            *[inner.c[str(c)] for c in src.columns], sa.func.row_number().over().label(LINE)
        ).subquery("n")
        sure, vals = _checks(plan, kinds, numbered, profile)
        plain_sure, plain_vals = _checks(plan, kinds, inner, profile)
        x = conn.execution_options(no_parameters=True)
        n_in, n_ok = x.exec_driver_sql(
            sql(sa.select(sa.func.count(), sa.func.count().filter(plain_sure)).select_from(inner))
        ).one()
        main.rows_in = int(n_in)
        if main.rows_in == 0:
            from synthdata.errors import InputError

            raise InputError("empty input: no data rows", path=src.label, row=plan.first_row)
        held: list[pd.DataFrame] = []
        if n_ok < n_in:  # the rows the database cannot vouch for travel; the validator decides
            q = sa.select(numbered).where(sa.not_(sure)).order_by(numbered.c[LINE])
            res = x.execution_options(stream_results=True).exec_driver_sql(sql(q))
            keys = list(res.keys())
            for rows in res.partitions(plan.chunk_size):
                raw = pd.DataFrame.from_records(rows, columns=keys, coerce_float=True)
                raw.columns = [*src.columns, LINE]
                chk = validate_chunk(
                    raw, plan.specs, plan.schema.event_types, plan.now, plan.schema.constraints
                )
                if len(chk.good):
                    raise Fallback(
                        f"the validator accepts row {int(chk.good[LINE].iloc[0])}, which SQL could not"
                    )
                held.append(chk.rejects)
        tables, attr_tallies, out_schema = plan.attributes(rejects)
        for r in held:
            main.reject(r)
            rejects.write(plan.label, r)
        if plan.layout == "events":
            good = sa.select(*[plain_vals[n].label(n) for n in plan.names]).where(plain_sure).subquery("g")
        else:
            good = sa.select(*[vals[n].label(n) for n in plan.names], numbered.c[LINE]).where(sure)
            good = good.subquery("g")
        out, n_distinct, moved = _output(x, sql, good, plan, out_schema, tables, profile)
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


def _output(
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
                _epoch_us(sa.func.min(d.c[schema.time_col])).label("first_ts"),
                _epoch_us(sa.func.max(d.c[schema.time_col])).label("last_ts"),
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
        shown = [_epoch_us(g[n]).label(n) if n in when else g[n] for n in names]
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
