"""The plan's checks as DuckDB SQL: for each column a typed value and a `sure` condition.

A row whose every condition holds is certainly clean and gets the same typed values the pandas
validator would give it; every other row (missing, bad, out of range, or merely unusual text such
as padded strings, non-ISO dates, `1e3`) goes to `clean.validate_chunk`, which decides its reason
code or accepts it. So rejects, reason codes and first-problem order are the validator's by
construction, and the SQL only has to be conservative. Identifiers and literals are rendered by
sqlglot (quoted, escaped), never pasted.
"""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from synthdata.ingest.clean import MIN_TIME
from synthdata.schema import ColumnSpec, DType, InequalityConstraint, Role

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
TS_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", "DATE"}
SQL_TYPE = {DType.INT: "BIGINT", DType.FLOAT: "DOUBLE", DType.BOOL: "BOOLEAN", DType.DATETIME: "TIMESTAMPTZ"}
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_FLOAT = r"-?[0-9]{1,15}(\.[0-9]{1,15})?"
_SPACES = (
    "5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288"
)
TS_LO, TS_HI = "1678-01-01 00:00:00+00", "2261-12-31 00:00:00+00"  # inside pandas' nanosecond range


def ident(name: object) -> str:
    return exp.to_identifier(str(name), quoted=True).sql(dialect="duckdb")


def lit(v: object) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(int(v))
    return exp.Literal.string(str(v)).sql(dialect="duckdb")


def ts_lit(t: pd.Timestamp) -> str:
    return f"CAST({lit(t.tz_convert('UTC').strftime('%Y-%m-%d %H:%M:%S.%f+00'))} AS TIMESTAMPTZ)"


def _edge_ok(x: str) -> str:
    """First and last character are not whitespace as Python's str.strip() sees it."""

    def ok(c: str) -> str:
        return f"(ord({c}) BETWEEN 33 AND 126 OR (ord({c}) > 160 AND ord({c}) NOT IN ({_SPACES})))"

    return f"(length({x}) > 0 AND {ok(f'left({x}, 1)')} AND {ok(f'right({x}, 1)')})"


def _int_text(x: str) -> str:
    return f"(TRY_CAST({x} AS BIGINT) IS NOT NULL AND CAST(TRY_CAST({x} AS BIGINT) AS VARCHAR) = {x})"


def typed(spec: ColumnSpec, x: str, t: str) -> tuple[str, str]:
    """(typed value expression, condition under which that value is certainly the validator's)
    for input expression `x` of DuckDB type `t`; the condition may assume `x IS NOT NULL`."""
    t = t.upper()
    text = t == "VARCHAR"
    no = ("NULL", "FALSE")
    if spec.dtype == DType.INT:
        if text:
            return f"TRY_CAST({x} AS BIGINT)", f"({_int_text(x)} AND abs(TRY_CAST({x} AS BIGINT)) < 1e15)"
        if t in INT_TYPES:
            return f"CAST({x} AS BIGINT)", f"abs({x}) < 1e15"
        if t in FLOAT_TYPES:
            return f"TRY_CAST({x} AS BIGINT)", f"(isfinite({x}) AND {x} = floor({x}) AND abs({x}) < 1e15)"
        return no
    if spec.dtype == DType.FLOAT:
        if text:
            return f"TRY_CAST({x} AS DOUBLE)", f"regexp_full_match({x}, {lit(_FLOAT)})"
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
            n = f"TRY_CAST({x} AS BIGINT)"
            sure = _int_text(x) if text else ("TRUE" if t in INT_TYPES else "FALSE")
            v = f"CAST(make_timestamp({n} * {scale}) AS TIMESTAMPTZ)"
            return v, f"({sure} AND abs({n}) < {9_000_000_000_000_000 // scale // 1000})"
        if text:
            v = f"TRY_CAST({x} AS TIMESTAMPTZ)"
            return v, f"(regexp_full_match({x}, {lit(_ISO)}) AND {v} BETWEEN '{TS_LO}' AND '{TS_HI}')"
        if t in TS_TYPES:
            v = f"CAST({x} AS TIMESTAMPTZ)"
            return v, f"({v} BETWEEN '{TS_LO}' AND '{TS_HI}')"
        return no
    # string / category
    if text:
        return x, _edge_ok(x)
    if t in INT_TYPES:
        return f"CAST({x} AS VARCHAR)", "TRUE"
    return no


def column_checks(
    spec: ColumnSpec, x: str, t: str, now: pd.Timestamp, events: list[str] | None
) -> tuple[str, str]:
    """(typed value, row-is-certainly-clean condition) for one column, all checks included."""
    v, sure = typed(spec, x, t)
    nullable = spec.nullable and spec.role not in (Role.USER_ID, Role.ITEM_ID)
    conds = [sure]
    if t.upper() == "VARCHAR":
        conds.append(f"NOT contains({x}, chr(0)) AND NOT contains({x}, chr(65534))")
    if spec.dtype in (DType.INT, DType.FLOAT):
        if spec.min is not None:
            conds.append(f"{v} >= {lit(spec.min)}")
        if spec.max is not None:
            conds.append(f"{v} <= {lit(spec.max)}")
    if spec.dtype == DType.DATETIME:
        lo = pd.Timestamp(spec.min, unit="s", tz="UTC") if spec.min is not None else None
        hi = pd.Timestamp(spec.max, unit="s", tz="UTC") if spec.max is not None else None
        if spec.role == Role.TIMESTAMP:
            lo = MIN_TIME if lo is None else lo
            hi = now if hi is None else hi
        if lo is not None:
            conds.append(f"{v} >= {ts_lit(lo)}")
        if hi is not None:
            conds.append(f"{v} <= {ts_lit(hi)}")
    if spec.allowed is not None:
        if spec.dtype in (DType.STRING, DType.CATEGORY, DType.INT):
            conds.append(f"CAST({v} AS VARCHAR) IN ({', '.join(lit(str(a)) for a in spec.allowed)})")
        else:
            conds.append("FALSE")
    if spec.role == Role.EVENT_TYPE and events:
        ok_type = spec.dtype in (DType.STRING, DType.CATEGORY)
        conds.append(f"{v} IN ({', '.join(lit(e) for e in events)})" if ok_type else "FALSE")
    present = f"({x} IS NOT NULL AND {' AND '.join(conds)})"
    cond = f"({x} IS NULL OR {present})" if nullable else present
    return f"CAST({v} AS {SQL_TYPE.get(spec.dtype, 'VARCHAR')})", cond


def constraint_check(k: InequalityConstraint, typed_exprs: dict[str, str]) -> str | None:
    if k.low in typed_exprs and k.high in typed_exprs:
        return f"NOT coalesce({typed_exprs[k.low]} > {typed_exprs[k.high]}, FALSE)"
    return None
