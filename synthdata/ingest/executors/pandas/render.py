"""The rules' conditions evaluated over a pandas chunk (`rules/expr.py`): the reference semantics.

`Frame.mask(cond)` is the rows of a chunk where `cond` holds, over typed columns (row rules);
`checks.ColumnFrame` extends it to one column's input, where the nodes naming a reference function
(`HasNul`, `Unparsed`, `TimeLike`) call it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.ingest.rules.expr import (
    OPS,
    And,
    AsText,
    Cmp,
    Expr,
    In,
    IsNull,
    Lit,
    Not,
    Or,
    RuleNotRendered,
    Value,
)


class Frame:
    """Conditions over typed columns (`typed`: name -> Series on a 0..n-1 index): the row rules."""

    def __init__(self, typed: dict[str, pd.Series], n: int) -> None:
        self.typed, self.n = typed, n

    def mask(self, e: Expr) -> np.ndarray:
        if isinstance(e, Not):
            return ~self.mask(e.arg)
        if isinstance(e, And | Or):
            out = self.mask(e.args[0])
            for a in e.args[1:]:
                if isinstance(e, And) and not out.any():
                    break  # the rest need not be computed (e.g. `timelike`, per value)
                out = out & self.mask(a) if isinstance(e, And) else out | self.mask(a)
            return out
        if isinstance(e, Cmp):
            a, b = self.value(e.left), self.value(e.right)
            a, b = _numeric(a, b), _numeric(b, a)
            res = OPS[e.op](a, b)
            return res.fillna(False).to_numpy(bool) if isinstance(res, pd.Series) else np.asarray(res, bool)
        if isinstance(e, In):
            v = self.value(e.arg)
            return (v.isin(list(e.values)) & v.notna()).to_numpy(bool)
        if isinstance(e, IsNull):
            return self.value(e.arg).isna().to_numpy(bool)
        return self.leaf(e)

    def leaf(self, e: Expr) -> np.ndarray:
        raise RuleNotRendered("pandas", e)

    def value(self, e: Expr) -> Any:
        if isinstance(e, Lit):
            return e.value
        if isinstance(e, Value) and e.column is not None:
            return self.typed[e.column]
        if isinstance(e, AsText):
            v = self.value(e.arg)
            return v.astype(str)
        raise RuleNotRendered("pandas", e)


def _numeric(a: Any, other: Any) -> Any:
    """Numbers compared as float64 (as the range check always has); other values as they are."""
    number = isinstance(other, int | float) and not isinstance(other, bool)
    if number and isinstance(a, pd.Series) and pd.api.types.is_numeric_dtype(a):
        return a.astype("float64")
    return a
