"""Datetime columns, detected and turned into numbers the same way everywhere.

Used by the models (epoch seconds, model/rows/columns.py and model/histories/columns.py), column-shape
fidelity (shapes.py) and the row-level privacy checks (evaluate/rowcode.py). Clean tables hold
timezone-aware UTC timestamps (see schema.py); naive ones are read as UTC.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_EPOCH = pd.Timestamp(0, tz="UTC")


def is_datetime(s: pd.Series | Any) -> bool:
    """A datetime column (or dtype), timezone-aware or naive."""
    return pd.api.types.is_datetime64_any_dtype(s)


def epoch_values(s: pd.Series) -> np.ndarray:
    """float64 of each timestamp's integer value since the epoch (nanoseconds for the usual
    datetime64[ns] columns); NaN for missing."""
    out = np.full(len(s), np.nan)
    ok = s.notna().to_numpy()
    out[ok] = s[ok].astype("int64").to_numpy().astype(np.float64)
    return out


def sort_key(s: pd.Series) -> np.ndarray:
    """Numbers that order like the column: int64 instants for datetimes, the values otherwise.

    Why: `to_numpy()` of a timezone-aware column is an object array of Timestamps, which sorts ~100×
    slower (a 10M-row split spent a minute there). Missing values are the caller's to reject."""
    if is_datetime(s):
        return s.astype("int64").to_numpy()
    return s.to_numpy()


def epoch_seconds(s: pd.Series) -> np.ndarray:
    """float64 seconds since the epoch of a datetime column (naive values read as UTC); NaN for missing."""
    if s.dt.tz is None:
        s = s.dt.tz_localize("UTC")
    return ((s - _EPOCH) / pd.Timedelta(1, "s")).to_numpy(dtype=np.float64, na_value=np.nan)


def from_epoch_seconds(values: Any) -> pd.Series:
    """Seconds since the epoch (numbers or numeric text) → timezone-aware UTC timestamps."""
    return pd.to_datetime(pd.to_numeric(values), unit="s", utc=True)
