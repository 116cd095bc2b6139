"""The rules' conditions as DuckDB SQL text (`rules/expr.py`): where the rendered condition holds, the
rule is certainly not broken. Values are the column's typed expression (`checks.typed`), literals are
rendered by sqlglot (`checks.lit`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlglot import exp

from synthdata.ingest.rules.expr import AsText, Certainty, Expr, HasNul, Lit, Raw, Unsure, Value
from synthdata.schema import ColumnSpec, DType

_OP = {"!=": "<>"}


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


class DuckCertainty(Certainty):
    """`x`: the column's input expression, of DuckDB type `t`; `v`: its typed value; `typed`: every
    column's typed value (row rules); `nul`: the input may hold NUL bytes."""

    executor = "duckdb"

    def __init__(
        self,
        spec: ColumnSpec | None,
        x: str = "",
        t: str = "",
        v: str = "",
        nul: bool = True,
        typed: dict[str, str] | None = None,
    ) -> None:
        self.spec, self.x, self.t, self.v, self.nul, self.typed = spec, x, t.upper(), v, nul, typed or {}

    def sql(self, cond: Any) -> str:
        return "TRUE" if cond is True else "FALSE" if cond is False else str(cond)

    def value(self, e: Expr) -> Any:
        if isinstance(e, Lit):
            return ts_lit(e.value) if isinstance(e.value, pd.Timestamp) else lit(e.value)
        if isinstance(e, Raw):
            return self.x
        if isinstance(e, Value):
            return self.v if e.column is None else self.typed[e.column]
        if isinstance(e, AsText) and self._textual(e.arg):
            return f"CAST({self.value(e.arg)} AS VARCHAR)"
        raise Unsure

    def _textual(self, e: Expr) -> bool:
        """DuckDB's text of this value is pandas' `astype(str)` (text, integers)."""
        return (
            isinstance(e, Value)
            and e.column is None
            and self.spec is not None
            and self.spec.dtype in _AS_TEXT
        )

    def is_text(self, e: Expr) -> bool:
        if isinstance(e, AsText):
            return True
        if isinstance(e, Raw):
            return self.t == "VARCHAR"
        return (
            isinstance(e, Value) and e.column is None and self.spec is not None and self.spec.dtype in _TEXT
        )

    def sql_cmp(self, op: str, a: Any, b: Any) -> str:
        return f"{a} {_OP.get(op, op)} {b}"

    def sql_in(self, a: Any, values: tuple[Any, ...]) -> str:
        return f"{a} IN ({', '.join(lit(v) for v in values)})"

    def sql_is_null(self, a: Any) -> str:
        return f"{a} IS NULL"

    def sql_is_not_null(self, a: Any) -> str:
        return f"{a} IS NOT NULL"

    def sql_not(self, a: Any) -> str:
        return f"NOT ({a})"

    def sql_false_if_null(self, a: Any) -> str:
        return f"coalesce({a}, FALSE)"

    def sql_and(self, parts: list[Any]) -> str:
        return f"({' AND '.join(map(str, parts))})"

    def sql_or(self, parts: list[Any]) -> str:
        return f"({' OR '.join(map(str, parts))})"

    # nodes the reference computes with Python functions ---------------------------------------
    def leaf_HasNul(self, e: HasNul) -> tuple[Any, Any]:
        if self.t != "VARCHAR" or not self.nul:
            return False, True  # CSV files are scanned for NUL bytes first; typed values hold none
        x = self.x
        return f"(contains({x}, chr(0)) OR contains({x}, chr(65534)))", (
            f"NOT contains({x}, chr(0)) AND NOT contains({x}, chr(65534))"
        )

    def leaf_Unparsed(self, e: Expr) -> tuple[Any, Any]:
        return False, True  # rendered under `checks.typed`'s condition: the value parsed as pandas' does

    def leaf_TimeLike(self, e: Expr) -> tuple[Any, Any]:
        return False, False  # Python's reading of text: not rendered, the validator decides


_TEXT = (DType.STRING, DType.CATEGORY)
_AS_TEXT = (DType.STRING, DType.CATEGORY, DType.INT)
