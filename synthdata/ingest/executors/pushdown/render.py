"""The rules' conditions as SQLAlchemy Core (`rules/expr.py`), compiled by the source database's
dialect: where the rendered condition holds, the rule is certainly not broken."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.ingest.rules.expr import OPS, AsText, Certainty, Expr, Lit, Raw, Unsure, Value
from synthdata.schema import ColumnSpec, DType

_TEXT = (DType.STRING, DType.CATEGORY)
_AS_TEXT = (*_TEXT, DType.INT)


def compared(spec: ColumnSpec, c: Any, kind: str) -> Any:
    """The value the rules compare: the database's own number (equal to the typed value where the
    column is certain), the time as a timestamp, text as text."""
    if spec.dtype == DType.DATETIME:
        return sa.cast(c, sa.DateTime(timezone=True))
    if spec.dtype in _TEXT and kind != "text":
        return sa.cast(c, sa.Text)
    return c


class SqlCertainty(Certainty):
    """`c`: the column (kind `kind` in the database); `values`: every column's compared value (row
    rules)."""

    executor = "pushdown"

    def __init__(
        self, spec: ColumnSpec | None, c: Any = None, kind: str = "", values: dict[str, Any] | None = None
    ) -> None:
        self.spec, self.c, self.kind, self.values = spec, c, kind, values or {}

    def value(self, e: Expr) -> Any:
        if isinstance(e, Lit):
            return e.value.to_pydatetime() if isinstance(e.value, pd.Timestamp) else e.value
        if isinstance(e, Raw):
            return self.c
        if isinstance(e, Value):
            if e.column is not None:
                return self.values[e.column]
            assert self.spec is not None
            return compared(self.spec, self.c, self.kind)
        # the database's text of text and integers is pandas' astype(str)
        if (
            isinstance(e, AsText)
            and self._own(e.arg)
            and self.spec
            and self.spec.dtype in (*_TEXT, DType.INT)
        ):
            return sa.cast(self.value(e.arg), sa.Text)
        raise Unsure

    def _own(self, e: Expr) -> bool:
        return isinstance(e, Value) and e.column is None

    def is_text(self, e: Expr) -> bool:
        if isinstance(e, AsText):
            return True
        if isinstance(e, Raw):
            return self.kind == "text"
        return self._own(e) and self.spec is not None and self.spec.dtype in _TEXT

    def sql_cmp(self, op: str, a: Any, b: Any) -> Any:
        return OPS[op](a, b)

    def sql_in(self, a: Any, values: tuple[Any, ...]) -> Any:
        return a.in_(list(values))

    def sql_is_null(self, a: Any) -> Any:
        return a.is_(None)

    def sql_is_not_null(self, a: Any) -> Any:
        return a.is_not(None)

    def sql_not(self, a: Any) -> Any:
        return sa.not_(a)

    def sql_false_if_null(self, a: Any) -> Any:
        return sa.func.coalesce(a, sa.false())

    def sql_and(self, parts: list[Any]) -> Any:
        return sa.and_(*parts)

    def sql_or(self, parts: list[Any]) -> Any:
        return sa.or_(*parts)

    # nodes the reference computes with Python functions ---------------------------------------
    def leaf_HasNul(self, e: Expr) -> tuple[Any, Any]:
        return False, True  # database text holds no NUL (PostgreSQL refuses it)

    def leaf_Unparsed(self, e: Expr) -> tuple[Any, Any]:
        return False, True  # rendered under `checks.faithful`: the value is the validator's

    def leaf_TimeLike(self, e: Expr) -> tuple[Any, Any]:
        return False, False  # Python's reading of text: not rendered, the validator decides
