"""The pandas executor's checks: the reference implementation of the plan's rules.

All checks are vectorised over a chunk. A row is rejected for the FIRST problem found, checking
columns in schema order (ids first) and, per column: missing -> type -> range -> allowed values;
then the schema's row constraints (`low <= high`). The SQL executors send every row they cannot
vouch for here, so reason codes and first-problem order are this module's on every path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from synthdata.ingest.rules import (
    BAD_TIMESTAMP,
    BAD_TYPE,
    CONSTRAINT_VIOLATION,
    MIN_TIME,
    MISSING_ID,
    MISSING_VALUE,
    NOT_ALLOWED,
    NUL_BYTE,
    OUT_OF_RANGE,
    UNKNOWN_EVENT_TYPE,
)
from synthdata.ingest.sources import LINE, NUL_MARK
from synthdata.schema import ColumnSpec, DType, InequalityConstraint, Role

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

    Constraints are checked last, on the typed values of rows that passed the column checks; a row
    where either side is empty satisfies them (emptiness is the columns' `nullable` business)."""
    n = len(raw)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    typed: dict[str, pd.Series] = {}

    def flag(mask: np.ndarray, code: str, col: str, vals: pd.Series) -> None:
        m = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        if m.any():
            reason[m] = code
            column[m] = col
            txt = np.where(vals.isna().to_numpy(), None, vals.astype(str).to_numpy())
            value[m] = txt[m]

    events = set(event_types or [])
    check_nul = raw.attrs.get("nul", True)
    for spec in specs:
        src = raw[spec.input_name]
        if check_nul and src.dtype == object:
            flag(_has_nul(src), NUL_BYTE, spec.name, src)
        if spec.dtype in (DType.STRING, DType.CATEGORY) and src.dtype == object:
            # text is compared stripped and blank means missing; non-str objects (SQLite) are rendered
            src = src.where(src.isna(), src.astype(str).str.strip()).replace("", None)
        missing = src.isna().to_numpy()
        if spec.role in (Role.USER_ID, Role.ITEM_ID):
            flag(missing, MISSING_ID, spec.name, src)
        elif not spec.nullable:
            flag(missing, MISSING_VALUE, spec.name, src)
        vals, bad = parse_column(src, spec)
        if spec.dtype == DType.DATETIME and bad.any():
            flag(bad & timelike(src, spec), BAD_TIMESTAMP, spec.name, src)
        flag(bad, BAD_TYPE, spec.name, src)
        flag(out_of_range(vals, spec, now), OUT_OF_RANGE, spec.name, src)
        if spec.allowed is not None:
            allowed = {str(a) for a in spec.allowed}
            ok = vals.astype(str).isin(allowed).to_numpy() | vals.isna().to_numpy()
            flag(~ok, NOT_ALLOWED, spec.name, src)
        if spec.role == Role.EVENT_TYPE and events:
            ok = vals.isin(events).to_numpy() | vals.isna().to_numpy()
            flag(~ok, UNKNOWN_EVENT_TYPE, spec.name, src)
        typed[spec.name] = vals.reset_index(drop=True)
    by_name = {spec.name: spec for spec in specs}
    for k in constraints or []:
        if k.low in typed and k.high in typed:
            broken = (typed[k.low] > typed[k.high]).fillna(False).to_numpy(bool)
            flag(broken, CONSTRAINT_VIOLATION, k.low, raw[by_name[k.low].input_name])
    bad_rows = reason != None  # noqa: E711
    good = pd.DataFrame(typed)
    good[LINE] = raw[LINE].to_numpy()
    good = good.loc[~bad_rows].reset_index(drop=True)
    rejects = pd.DataFrame(
        {
            "line": raw[LINE].to_numpy()[bad_rows].astype("int64"),
            "column": column[bad_rows],
            "reason": reason[bad_rows],
            "value": value[bad_rows],
            "raw": raw_json(raw.loc[bad_rows].drop(columns=[LINE])),
        }
    )
    if check_nul and (rejects["reason"] == NUL_BYTE).any():  # show the byte itself, not the marker
        for c, nul in (("value", "\x00"), ("raw", "\\u0000")):  # raw is JSON: escaped there
            rejects[c] = [v.replace(NUL_MARK, nul) if isinstance(v, str) else v for v in rejects[c]]
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


def out_of_range(vals: pd.Series, spec: ColumnSpec, now: pd.Timestamp) -> np.ndarray:
    """Mask of values outside the declared range. Datetimes: min/max are unix seconds; an
    interaction timestamp (role timestamp) defaults to [1990-01-01, now] since behaviour logs
    cannot come from the future and pre-1990 times are epoch/zero-date artefacts."""
    if spec.dtype == DType.DATETIME:
        is_ts = spec.role == Role.TIMESTAMP
        lo = (
            pd.Timestamp(spec.min, unit="s", tz="UTC")
            if spec.min is not None
            else MIN_TIME
            if is_ts
            else None
        )
        hi = pd.Timestamp(spec.max, unit="s", tz="UTC") if spec.max is not None else now if is_ts else None
        m = np.zeros(len(vals), bool)
        if lo is not None:
            m |= (vals < lo).fillna(False).to_numpy(bool)
        if hi is not None:
            m |= (vals > hi).fillna(False).to_numpy(bool)
        return m
    if spec.dtype not in (DType.INT, DType.FLOAT):
        return np.zeros(len(vals), bool)
    m = np.zeros(len(vals), bool)
    f = vals.astype("float64")
    if spec.min is not None:
        m |= (f < spec.min).fillna(False).to_numpy(bool)
    if spec.max is not None:
        m |= (f > spec.max).fillna(False).to_numpy(bool)
    return m


def raw_json(df: pd.DataFrame) -> list[str]:
    """Each row's input values as a JSON object (rejects are few, so per-row dumping is fine)."""
    if df.empty:
        return []
    recs = df.astype(object).where(df.notna(), None).to_dict("records")
    return [json.dumps({str(k): v for k, v in r.items()}, default=str, ensure_ascii=False) for r in recs]
