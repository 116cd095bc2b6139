"""The plan's checks as DuckDB SQL: for each column a typed value and a `sure` condition (the rules
of `rules.RULES`, rendered by `render.DuckCertainty`, under the condition that the typed value is
the validator's).

A row whose every condition holds is certainly clean and gets the same typed values the pandas
validator would give it; every other row (missing, bad, out of range, or merely unusual text such
as padded strings, non-ISO dates, `1e3`) goes to `executors/pandas/checks.validate_chunk`, which
decides its reason code or accepts it. So rejects, reason codes and first-problem order are the validator's by
construction, and the SQL only has to be conservative. Identifiers and literals are rendered by
sqlglot (quoted, escaped), never pasted.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from synthdata.ingest.executors.duckdb.render import DuckCertainty, ident, lit
from synthdata.ingest.executors.pandas.checks import raw_json
from synthdata.ingest.plan import Plan
from synthdata.ingest.report import Tally
from synthdata.ingest.rules import ATTRIBUTE_CONFLICT, Context, column_rules, row_rules
from synthdata.ingest.rules.expr import render_rule
from synthdata.ingest.sources import LINE
from synthdata.schema import ColumnSpec, DType, Role

INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
TS_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "DATE"}
NS_TYPES = {"TIMESTAMP_NS", "TIMESTAMPTZ_NS", "TIMESTAMP WITH TIME ZONE_NS"}
SQL_TYPE = {DType.INT: "BIGINT", DType.FLOAT: "DOUBLE", DType.BOOL: "BOOLEAN", DType.DATETIME: "TIMESTAMPTZ"}
TS_LO, TS_HI = "1678-01-01 00:00:00+00", "2261-12-31 00:00:00+00"  # inside pandas' nanosecond range


_WS = "".join(c for c in map(chr, range(0x3100)) if c.isspace())  # what Python's str.strip() strips


def _stripped(x: str) -> str:
    """Non-empty and unchanged by Python's str.strip() (pandas strips text before checking it)."""
    return f"(length({x}) > 0 AND trim({x}, {lit(_WS)}) = {x})"


def _number(x: str) -> str:
    """Text DuckDB and pandas read as the same finite number (DuckDB also takes `1_000`)."""
    return f"(isfinite(TRY_CAST({x} AS DOUBLE)) AND NOT contains({x}, '_'))"


# ISO 8601 text both DuckDB's cast and pandas (format ISO8601) read as the same instant: date,
# optional time (hours 00-23, at most 6 fractional digits), optional Z or +hh:mm / +hhmm offset.
# One RE2 match: the separate prefix/suffix/hour-24/fraction checks it replaces were a third of
# the check pass on timestamp text. Other forms are not wrong, only not certain: the validator
# decides them.
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def _iso_text(x: str, v: str) -> str:
    return f"({v} BETWEEN '{TS_LO}' AND '{TS_HI}' AND regexp_full_match({x}, {lit(_ISO)}))"


def typed(spec: ColumnSpec, x: str, t: str) -> tuple[str, str]:
    """(typed value expression, condition under which that value is certainly the validator's)
    for input expression `x` of DuckDB type `t`; the condition may assume `x IS NOT NULL`."""
    t = t.upper()
    text = t == "VARCHAR"
    no = ("NULL", "FALSE")
    if spec.dtype == DType.INT:
        if text:  # canonical integer text only ('05', '+5', '1.0', '1e3', '1_000' go to the validator)
            b = f"TRY_CAST({x} AS BIGINT)"
            return b, f"(CAST({b} AS VARCHAR) = {x} AND abs({b}) < 1000000000000000)"
        if t in INT_TYPES:
            return f"CAST({x} AS BIGINT)", f"abs({x}) < 1e15"
        if t in FLOAT_TYPES:
            return f"TRY_CAST({x} AS BIGINT)", f"(isfinite({x}) AND {x} = floor({x}) AND abs({x}) < 1e15)"
        return no
    if spec.dtype == DType.FLOAT:
        if text:
            return f"TRY_CAST({x} AS DOUBLE)", _number(x)
        if t in INT_TYPES:
            return f"CAST({x} AS DOUBLE)", f"abs({x}) < 1e15"
        if t in FLOAT_TYPES or t.startswith("DECIMAL"):
            return f"CAST({x} AS DOUBLE)", f"isfinite(CAST({x} AS DOUBLE))"
        return no
    if spec.dtype == DType.BOOL:
        if text:
            return (
                f"lower({x}) IN ('true', 't', 'yes', 'y', '1')",
                f"lower({x}) IN ('true', 't', 'yes', 'y', '1', 'false', 'f', 'no', 'n', '0')",
            )
        return (x, "TRUE") if t == "BOOLEAN" else no
    if spec.dtype == DType.DATETIME:
        if spec.datetime_unit is not None:
            scale = {"s": 1_000_000, "ms": 1_000, "us": 1}.get(spec.datetime_unit)
            if scale is None:
                return no
            d = f"TRY_CAST({x} AS DOUBLE)"
            n = f"CAST({d} AS BIGINT)"
            whole = f"({_number(x)} AND {d} = floor({d}))"
            sure = whole if text else ("TRUE" if t in INT_TYPES else "FALSE")
            v = f"CAST(make_timestamp({n} * {scale}) AS TIMESTAMPTZ)"
            return v, f"({sure} AND abs({n}) < {9_000_000_000_000_000 // scale // 1000})"
        if text:
            v = f"TRY_CAST({x} AS TIMESTAMPTZ)"
            return v, _iso_text(x, v)
        if t in TS_TYPES or t in NS_TYPES:
            v = f"CAST({x} AS TIMESTAMPTZ)"
            whole_us = f" AND epoch_ns({x}) % 1000 = 0" if t in NS_TYPES else ""  # DuckDB keeps microseconds
            return v, f"({v} BETWEEN '{TS_LO}' AND '{TS_HI}'{whole_us})"
        return no
    # string / category
    if text:
        return x, _stripped(x)
    if t in INT_TYPES:
        return f"CAST({x} AS VARCHAR)", "TRUE"
    return no


def column_checks(
    spec: ColumnSpec, x: str, t: str, now: pd.Timestamp, events: list[str] | None, nul: bool = True
) -> tuple[str, str, dict[str, str]]:
    """(typed value, row-is-certainly-clean condition, {alias: expression}) for one column, all
    checks included. Casts are computed once, as aliased columns of an inner projection (the
    third item), and referenced by alias. `nul`: the input may hold NUL bytes (CSV files are
    scanned for them first)."""
    v, cond = _column_checks(spec, x, t, now, events, nul)
    pre = {}
    for target in ("DOUBLE", "TIMESTAMPTZ", "BIGINT"):
        cast = f"TRY_CAST({x} AS {target})"
        if cast in v or cast in cond:
            alias = ident(f"_{target[0].lower()}_{spec.name}")
            pre[alias] = cast
            v, cond = v.replace(cast, alias), cond.replace(cast, alias)
    return v, cond, pre


def _column_checks(
    spec: ColumnSpec, x: str, t: str, now: pd.Timestamp, events: list[str] | None, nul: bool
) -> tuple[str, str]:
    """The column's typed value and its rules (`rules.column_rules`) rendered by `render.DuckCertainty`,
    under `typed`'s condition that the value is the validator's."""
    v, sure = typed(spec, x, t)
    text = spec.dtype in (DType.STRING, DType.CATEGORY) and t.upper() == "VARCHAR"
    clean_set = spec.allowed if spec.allowed is not None else events if spec.role == Role.EVENT_TYPE else None
    if text and clean_set and all(str(a) == str(a).strip() and str(a) for a in clean_set):
        sure = "TRUE"  # membership in a set of stripped values implies the value is stripped
    r = DuckCertainty(spec, x, t, v, nul)
    conds: list[Any] = [{"TRUE": True, "FALSE": False}.get(sure, sure)]
    required: list[Any] = []
    for rule, cond in column_rules(spec, Context(now, tuple(events or ()))):
        r.present = not rule.on_empty
        clear = render_rule(rule.code, r.clear, cond)
        (required if rule.on_empty else conds).append(clear)
    present = f"({x} IS NOT NULL AND {r.sql(r.all_(conds))})"
    need = r.all_(required)
    if need is True:
        cond = f"({x} IS NULL OR {present})"
    else:  # the rules about empty values: where they ask for a value, `present` says it already
        cond = present if need == f"{x} IS NOT NULL" else f"({r.sql(need)} AND {present})"
    return f"CAST({v} AS {SQL_TYPE.get(spec.dtype, 'VARCHAR')})", cond


def row_checks(plan: Plan, typed_exprs: dict[str, str]) -> list[str]:
    """The row rules (`rules.row_rules`) over the columns' typed values, as DuckDB SQL."""
    r = DuckCertainty(None, typed=typed_exprs)
    rows = row_rules(plan.schema.constraints, list(typed_exprs))
    return [r.sql(render_rule(rule.code, r.clear, cond)) for rule, _, cond in rows]


# --- the attribute-vote rule (attribute_conflict) -------------------------------------------------
def resolve_conflicts(con: duckdb.DuckDBPyConnection, plan: Plan, main: Tally, rejects: Any) -> str:
    """Inline attributes: the most frequent value per id wins (ties: lowest line); rows giving an
    id another value are `attribute_conflict` rejects. Returns the SQL of the kept rows."""
    schema, names = plan.schema, plan.names
    attrs = [(a, schema.user_col) for a in plan.inline_user_attributes] + [
        (a, schema.item_col) for a in plan.inline_item_attributes
    ]
    if not attrs:
        return "SELECT * FROM dedup"
    L = ident(LINE)
    joins, conflict, sel = [], [], []
    for j, (a, idc) in enumerate(attrs):
        A, ID, W = ident(a), ident(idc), f"w{j}"
        con.execute(
            f"CREATE TABLE {W} AS SELECT {ID} AS id, {A} AS v FROM (SELECT {ID}, {A}, count(*) AS n, "
            f"min({L}) AS m FROM dedup WHERE {A} IS NOT NULL GROUP BY ALL) "
            f"QUALIFY row_number() OVER (PARTITION BY {ID} ORDER BY n DESC, m) = 1"
        )
        joins.append(f"LEFT JOIN {W} ON d.{ID} = {W}.id")
        conflict.append((f"d.{A} IS NOT NULL AND {W}.v IS NOT NULL AND d.{A} <> {W}.v", a))
    case = "CASE " + " ".join(f"WHEN {c} THEN {lit(a)}" for c, a in conflict) + " END"
    for n in names:
        hit = [j for j, (a, _) in enumerate(attrs) if a == n]
        sel.append(f"{f'w{hit[0]}.v' if hit else f'd.{ident(n)}'} AS {ident('_new_' + n)}")
    con.execute(
        f"CREATE TABLE flagged AS SELECT d.*, {case} AS _conflict, "
        f"{', '.join(sel)} FROM dedup d {' '.join(joins)}"
    )
    n_bad = con.execute("SELECT count(*) FROM flagged WHERE _conflict IS NOT NULL").fetchall()[0][0]
    if n_bad:
        rel = con.cursor().sql(
            f"SELECT {', '.join(ident(n) for n in names)}, {L}, _conflict FROM flagged "
            f"WHERE _conflict IS NOT NULL ORDER BY {L}"
        )
        for batch in rel.to_arrow_reader(plan.chunk_size):
            df = batch.to_pandas()
            rej = pd.DataFrame(
                {
                    "line": df[LINE].to_numpy(),
                    "column": df["_conflict"].to_numpy(),
                    "reason": ATTRIBUTE_CONFLICT,
                    "value": [str(df.at[i, c]) for i, c in zip(df.index, df["_conflict"], strict=True)],
                    "raw": raw_json(df[names]),
                }
            )
            main.reject(rej)
            rejects.write(plan.label, rej)
    new = ", ".join(f"{ident('_new_' + n)} AS {ident(n)}" for n in names)
    return f"SELECT {new}, {L} FROM flagged WHERE _conflict IS NULL"
