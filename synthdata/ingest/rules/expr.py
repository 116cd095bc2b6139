"""The small expression language a rule's condition is written in, and the SQL renderers' shared logic.

A condition says when a row *breaks* a rule, with pandas' semantics (the reference): a comparison or
membership test involving an empty value is false. The pandas executor evaluates it per chunk
(`executors/pandas/render.py`); the SQL executors render it (`executors/duckdb/render.py`,
`executors/pushdown/render.py`) as a condition that, where it holds, guarantees the rule is not
broken (`Certainty.clear`). A SQL rendering may be conservative: rows it cannot vouch for go to the
pandas validator, which decides. A node an executor has no rendering for raises `RuleNotRendered`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Expr:
    """A condition or value in a rule."""


@dataclass(frozen=True)
class Raw(Expr):
    """The checked column's input value (text stripped, blank as empty, where the column holds text)."""


@dataclass(frozen=True)
class Value(Expr):
    """A column's typed value: the checked column (`column=None`) or the named one (row rules)."""

    column: str | None = None


@dataclass(frozen=True)
class Lit(Expr):
    """A constant: a number, text or a `pd.Timestamp`."""

    value: Any


@dataclass(frozen=True)
class IsNull(Expr):
    arg: Expr


@dataclass(frozen=True)
class Cmp(Expr):
    """`left op right`, op one of < <= > >= = !=; false where either side is empty."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In(Expr):
    """`arg` is one of `values`; false where `arg` is empty."""

    arg: Expr
    values: tuple[Any, ...]


@dataclass(frozen=True)
class AsText(Expr):
    """A value as text, as pandas renders it (`astype(str)`)."""

    arg: Expr


@dataclass(frozen=True)
class Not(Expr):
    arg: Expr


@dataclass(frozen=True)
class And(Expr):
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Expr):
    args: tuple[Expr, ...]


# Conditions only the reference implementation computes exactly (executors/pandas/checks.py); the
# SQL executors render what they can be sure of.
@dataclass(frozen=True)
class HasNul(Expr):
    """The input text holds a NUL byte (`checks._has_nul`)."""


@dataclass(frozen=True)
class Unparsed(Expr):
    """The input value does not parse as the column's dtype (`checks.parse_column`)."""


@dataclass(frozen=True)
class TimeLike(Expr):
    """The input value is a date or time, representable or not (`checks.timelike`)."""


NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
OPS: dict[str, Callable[[Any, Any], Any]] = {  # a comparison as Python's operator (pandas, SQLAlchemy)
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}


class RuleNotRendered(Exception):
    """A rule uses a node an executor cannot render: the rule would be silently skipped there."""

    def __init__(self, executor: str, node: Expr, rule: str | None = None) -> None:
        self.executor, self.node = executor, node
        what = f"rule {rule!r}" if rule else "a rule"
        super().__init__(
            f"{what} uses {type(node).__name__}, which the {executor} executor cannot render: "
            f"add a rendering to synthdata/ingest/executors/{executor}/render.py"
        )


def render_rule(code: str, render: Callable[[Expr], Any], cond: Expr) -> Any:
    """`render(cond)`, with the rule's code in the message should a node have no rendering."""
    try:
        return render(cond)
    except RuleNotRendered as e:
        raise RuleNotRendered(e.executor, e.node, code) from None


class Unsure(Exception):
    """Raised by a renderer's `value`: this executor cannot give the reference's value exactly."""


class Certainty:
    """Renders a condition as a database boolean that, where true, guarantees the reference result.

    `clear(e)`: e is certainly false; `hit(e)`: certainly true. Python `True`/`False` stand for
    constant results (`False`: cannot be sure) and fold away. Subclasses give the primitives and a
    `leaf_<Node>(node) -> (hit, clear)` method per executor-specific node."""

    executor = "?"
    present = True  # rendering under the checked column's presence (its value is not empty)

    # primitives ---------------------------------------------------------------------------------
    def value(self, e: Expr) -> Any:  # Raw, Value, Lit, AsText as a database value
        raise NotImplementedError

    def sql_cmp(self, op: str, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def sql_in(self, a: Any, values: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def sql_is_null(self, a: Any) -> Any:
        raise NotImplementedError

    def sql_is_not_null(self, a: Any) -> Any:
        raise NotImplementedError

    def sql_not(self, a: Any) -> Any:
        raise NotImplementedError

    def sql_false_if_null(self, a: Any) -> Any:
        raise NotImplementedError

    def sql_and(self, parts: list[Any]) -> Any:
        raise NotImplementedError

    def sql_or(self, parts: list[Any]) -> Any:
        raise NotImplementedError

    def is_text(self, e: Expr) -> bool:
        """`e` is text in the database and in pandas alike (membership in a list of text is exact)."""
        raise NotImplementedError

    def not_null(self, e: Expr) -> bool:
        """`e` cannot be empty where it is compared (a literal; the checked column, once present)."""
        if isinstance(e, Lit):
            return True
        return self.present and (isinstance(e, Raw) or (isinstance(e, Value | AsText) and _column(e) is None))

    # polarity -----------------------------------------------------------------------------------
    def clear(self, e: Expr) -> Any:
        if isinstance(e, Not):
            return self.hit(e.arg)
        if isinstance(e, And):
            return self.any_([self.clear(a) for a in e.args])
        if isinstance(e, Or):
            return self.all_([self.clear(a) for a in e.args])
        return self.leaf(e)[1]

    def hit(self, e: Expr) -> Any:
        if isinstance(e, Not):
            return self.clear(e.arg)
        if isinstance(e, And):
            return self.all_([self.hit(a) for a in e.args])
        if isinstance(e, Or):
            return self.any_([self.hit(a) for a in e.args])
        return self.leaf(e)[0]

    def leaf(self, e: Expr) -> tuple[Any, Any]:
        own = getattr(self, f"leaf_{type(e).__name__}", None)
        if own is not None:
            return own(e)
        try:
            return self._generic(e)
        except Unsure:
            return False, False

    def _generic(self, e: Expr) -> tuple[Any, Any]:
        if isinstance(e, Cmp):
            return self._cmp(e)
        if isinstance(e, In):
            if not all(isinstance(v, str) for v in e.values) or not self.is_text(e.arg):
                return False, False  # text against non-text compares differently: not sure
            x = self.sql_in(self.value(e.arg), e.values)
            return (x, self.sql_not(x)) if self.not_null(e.arg) else self._nullable(x)
        if isinstance(e, IsNull):
            if self.not_null(e.arg):
                return False, True
            a = self.value(e.arg)
            return self.sql_is_null(a), self.sql_is_not_null(a)
        raise RuleNotRendered(self.executor, e)

    def _cmp(self, e: Cmp) -> tuple[Any, Any]:
        a, b = self.value(e.left), self.value(e.right)
        if self.not_null(e.left) and self.not_null(e.right):
            return self.sql_cmp(e.op, a, b), self.sql_cmp(NEGATED[e.op], a, b)
        return self._nullable(self.sql_cmp(e.op, a, b))

    def _nullable(self, x: Any) -> tuple[Any, Any]:
        x = self.sql_false_if_null(x)
        return x, self.sql_not(x)

    def all_(self, parts: list[Any]) -> Any:
        if any(p is False for p in parts):
            return False
        parts = [p for p in parts if p is not True]
        return True if not parts else parts[0] if len(parts) == 1 else self.sql_and(parts)

    def any_(self, parts: list[Any]) -> Any:
        if any(p is True for p in parts):
            return True
        parts = [p for p in parts if p is not False]
        return False if not parts else parts[0] if len(parts) == 1 else self.sql_or(parts)


def _column(e: Expr) -> str | None:
    while isinstance(e, AsText):
        e = e.arg
    return e.column if isinstance(e, Value) else None


def referenced(e: Expr) -> set[str]:
    """The columns a condition names (`Value(column)`)."""
    if isinstance(e, Value):
        return {e.column} if e.column is not None else set()
    kids = [getattr(e, f) for f in ("arg", "left", "right") if hasattr(e, f)] + list(getattr(e, "args", ()))
    return set().union(*(referenced(k) for k in kids)) if kids else set()
