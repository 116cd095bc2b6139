"""The pandas executor's checks: the reference implementation of the rules (`rules.RULES`).

All checks are vectorised over a chunk: each rule's condition is evaluated by `render.Frame` (and
`ColumnFrame` here, for the nodes naming this module's functions: parsing, NUL bytes, time-like
text). A row is rejected for the FIRST rule it breaks, columns in schema order (ids first), rules
in precedence order, then the row rules (constraints). The SQL executors send every row they cannot
vouch for here, so reason codes and first-problem order are this module's on every path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from synthdata.ingest.executors.pandas.render import Frame
from synthdata.ingest.rules import NUL_BYTE, Context, column_rules, row_rules
from synthdata.ingest.rules.expr import Expr, HasNul, Raw, TimeLike, Unparsed, Value, render_rule
from synthdata.ingest.sources import LINE, NUL_MARK
from synthdata.schema import ColumnSpec, DType, InequalityConstraint

_TIMELIKE = re.compile(r"^\s*([+-]?inf(inity)?|[+-]?\d{1,6}-\d{1,2}-\d{1,2}([ T].*)?)\s*$", re.IGNORECASE)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def parse_column(s: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """Convert to the declared dtype. Returns (typed values, mask of non-null values that failed)."""
    present = s.notna().to_numpy()
    dt = spec.dtype
    if dt in (DType.INT, DType.FLOAT):
        num = pd.to_numeric(s, errors="coerce") if s.dtype == object else s.astype("float64", copy=False)
        num = pd.to_numeric(num, errors="coerce").astype("float64")
        bad = present & num.isna().to_numpy()
        if dt == DType.INT:
            frac = (num % 1 != 0).to_numpy() & ~num.isna().to_numpy()
            bad |= frac
            num = num.where(~frac)
            return num.round().astype("Int64"), bad
        return num, bad
    if dt == DType.BOOL:
        if s.dtype == bool:
            return s.astype("boolean"), np.zeros(len(s), bool)
        low = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False).to_numpy()] = True
        out[low.isin(_FALSE).fillna(False).to_numpy()] = False
        return out, present & out.isna().to_numpy()
    if dt == DType.DATETIME:
        return _parse_datetime(s, spec, present)
    # string / category: text as-is (stripped); typed inputs are rendered as text
    if s.dtype == object:
        out = s.where(s.isna(), s.astype(str))
    elif pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        out = s.astype("Int64").astype("string").astype(object)
    else:
        out = s.astype("string").astype(object)
    out = out.where(pd.notna(out), None)
    return out, np.zeros(len(s), bool)


def _parse_datetime(s: pd.Series, spec: ColumnSpec, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
        return out.astype("datetime64[ns, UTC]"), np.zeros(len(s), bool)
    if spec.datetime_unit is not None:
        num = pd.to_numeric(s, errors="coerce")
        ok = num.notna() & (num.abs() < 1e19 / {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1}[spec.datetime_unit])
        out = pd.to_datetime(num.where(ok), unit=spec.datetime_unit, utc=True)
        return out.astype("datetime64[ns, UTC]"), present & out.isna().to_numpy()
    text = s.astype("string").str.strip()
    out = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    retry = present & out.isna().to_numpy()
    if retry.any():  # non-ISO text (e.g. 01-Jan-1995): slower per-value parser, only where needed
        out[retry] = pd.to_datetime(text[retry], errors="coerce", utc=True, format="mixed")
    return out.astype("datetime64[ns, UTC]"), present & out.isna().to_numpy()


@dataclass
class Checked:
    """A validated chunk: typed good rows and one reject record per bad row."""

    good: pd.DataFrame  # clean column names, typed, plus LINE
    rejects: pd.DataFrame  # columns: line, column, reason, value, raw


def validate_chunk(
    raw: pd.DataFrame,
    specs: list[ColumnSpec],
    event_types: list[str] | None,
    now: pd.Timestamp,
    constraints: list[InequalityConstraint] | None = None,
) -> Checked:
    """Type and check every spec'd column of `raw` (input names) and split good from bad rows.

    The checks are `rules.RULES`: per column (schema order) the column rules in precedence order,
    then the row rules (constraints) on the typed values of rows that passed; a row is rejected for
    the first rule it breaks."""
    flags = _Flags(len(raw))
    ctx = Context(now, tuple(event_types or ()))
    nul = raw.attrs.get("nul", True)
    typed = {spec.name: _check_column(raw[spec.input_name], spec, ctx, nul, flags) for spec in specs}
    by_name = {spec.name: spec for spec in specs}
    frame = Frame(typed, len(raw))
    for rule, col, cond in row_rules(constraints, list(typed)):
        m = render_rule(rule.code, frame.mask, cond)
        flags.flag(m, rule.code, col, raw[by_name[col].input_name])
    return _split(raw, typed, flags, nul)


class _Flags:
    """Each row's first problem: reason, column and the value shown."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self.value = np.full(n, None, dtype=object)

    def flag(self, mask: np.ndarray, code: str, col: str, vals: pd.Series) -> None:
        m = mask & (self.reason == None)  # noqa: E711 - elementwise on an object array
        if m.any():
            self.reason[m] = code
            self.column[m] = col
            txt = np.where(vals.isna().to_numpy(), None, vals.astype(str).to_numpy())
            self.value[m] = txt[m]


class ColumnFrame(Frame):
    """One column's conditions (`render.Frame`): `read` as read, `raw` stripped where text, `vals`
    typed, `bad` the present values that did not parse."""

    def __init__(
        self, spec: ColumnSpec, read: pd.Series, raw: pd.Series, vals: pd.Series, bad: np.ndarray, nul: bool
    ) -> None:
        super().__init__({}, len(raw))
        self.spec, self.read, self.raw, self.vals, self.bad, self.nul = spec, read, raw, vals, bad, nul

    def leaf(self, e: Expr) -> np.ndarray:
        if isinstance(e, HasNul):
            return _has_nul(self.read) if self.nul and self.read.dtype == object else np.zeros(self.n, bool)
        if isinstance(e, Unparsed):
            return self.bad
        if isinstance(e, TimeLike):
            return timelike(self.raw, self.spec)
        return super().leaf(e)

    def value(self, e: Expr) -> Any:
        if isinstance(e, Raw):
            return self.raw
        if isinstance(e, Value) and e.column is None:
            return self.vals
        return super().value(e)


def _check_column(read: pd.Series, spec: ColumnSpec, ctx: Context, nul: bool, flags: _Flags) -> pd.Series:
    """Flag the rows breaking one of the column's rules; returns its typed values (index 0..n-1)."""
    src = read
    if spec.dtype in (DType.STRING, DType.CATEGORY) and src.dtype == object:
        # text is compared stripped and blank means missing; non-str objects (SQLite) are rendered
        src = src.where(src.isna(), src.astype(str).str.strip()).replace("", None)
    present = src.notna().to_numpy()
    vals, bad = parse_column(src, spec)
    frame = ColumnFrame(spec, read, src, vals, bad, nul)
    for rule, cond in column_rules(spec, ctx):
        m = render_rule(rule.code, frame.mask, cond)
        flags.flag(m if rule.on_empty else m & present, rule.code, spec.name, read if rule.as_read else src)
    return vals.reset_index(drop=True)


def _split(raw: pd.DataFrame, typed: dict[str, pd.Series], flags: _Flags, nul: bool) -> Checked:
    bad_rows = flags.reason != None  # noqa: E711
    good = pd.DataFrame(typed)
    good[LINE] = raw[LINE].to_numpy()
    good = good.loc[~bad_rows].reset_index(drop=True)
    rejects = pd.DataFrame(
        {
            "line": raw[LINE].to_numpy()[bad_rows].astype("int64"),
            "column": flags.column[bad_rows],
            "reason": flags.reason[bad_rows],
            "value": flags.value[bad_rows],
            "raw": raw_json(raw.loc[bad_rows].drop(columns=[LINE])),
        }
    )
    if nul and (rejects["reason"] == NUL_BYTE).any():  # show the byte itself, not the marker
        for c, mark in (("value", "\x00"), ("raw", "\\u0000")):  # raw is JSON: escaped there
            rejects[c] = [v.replace(NUL_MARK, mark) if isinstance(v, str) else v for v in rejects[c]]
    return Checked(good, rejects)


def _has_nul(s: pd.Series) -> np.ndarray:
    try:
        m = s.str.contains("\x00", regex=False, na=False) | s.str.contains(NUL_MARK, regex=False, na=False)
    except AttributeError:  # no strings in the column
        return np.zeros(len(s), bool)
    return m.to_numpy(bool)


def timelike(s: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Values that are dates/times but cannot be represented (pandas' range is 1677-2262): these
    are `bad_timestamp`, while text that is no time at all stays `bad_type`."""
    if spec.datetime_unit is not None:
        num = pd.to_numeric(s, errors="coerce")
        return num.notna().to_numpy()
    return s.map(
        lambda v: isinstance(v, date) or (isinstance(v, str) and _TIMELIKE.match(v) is not None)
    ).to_numpy(bool)


def raw_json(df: pd.DataFrame) -> list[str]:
    """Each row's input values as a JSON object (rejects are few, so per-row dumping is fine)."""
    if df.empty:
        return []
    recs = df.astype(object).where(df.notna(), None).to_dict("records")
    return [json.dumps({str(k): v for k, v in r.items()}, default=str, ensure_ascii=False) for r in recs]
