"""Column-shape fidelity (sdmetrics' definitions), the one implementation used both for model
selection while training (`val_fidelity`) and for the reported fidelity (evaluate/fidelity.py), so a
model is selected on the score that is reported.

Per column: numbers and datetimes score 1 − Kolmogorov–Smirnov statistic (KSComplement), everything
else 1 − total variation distance of the category frequencies (TVComplement). Missing values are
dropped before scoring (as sdmetrics does); a column with no values on either side scores NaN and is
left out of means. Higher is better; scores are in [0, 1].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthdata.datetimes import epoch_values, is_datetime


def numeric_values(s: pd.Series) -> np.ndarray:
    """Float view of a numeric, bool or datetime column (datetimes as ns since epoch); NaN for missing."""
    if is_datetime(s):
        return epoch_values(s)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def is_numeric_column(s: pd.Series) -> bool:
    """Scored by KS (numbers, datetimes) rather than TV (categories, bools, text)."""
    return is_datetime(s) or (
        pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    )


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    r, s = numeric_values(real), numeric_values(synthetic)
    r, s = r[~np.isnan(r)], s[~np.isnan(s)]
    if r.size == 0 or s.size == 0:
        return float("nan")
    return float(1.0 - ks_2samp(r, s).statistic)


def joint_codes(real: pd.Series, synthetic: pd.Series, dropna: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes over the union of both columns' values; NaN gets its own code unless dropped."""
    r = real.dropna() if dropna else real
    s = synthetic.dropna() if dropna else synthetic
    both = pd.concat([r.astype(object), s.astype(object)], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    n = len(uniques)
    codes = np.where(codes < 0, n, codes)  # NaN → extra code
    return codes[: len(r)], codes[len(r) :], n + 1


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    r, s, n = joint_codes(real, synthetic, dropna=True)
    if r.size == 0 or s.size == 0:
        return float("nan")
    fr = np.bincount(r, minlength=n) / r.size
    fs = np.bincount(s, minlength=n) / s.size
    return float(1.0 - 0.5 * np.abs(fr - fs).sum())


def column_shapes(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str] | None = None,
    categorical: frozenset[str] | set[str] = frozenset(),
) -> dict[str, float]:
    """Score per column; `columns` defaults to those both frames share; `categorical` forces TV (ids)."""
    cols = columns or [c for c in real.columns if c in synth.columns]
    return {
        c: ks_complement(real[c], synth[c])
        if c not in categorical and is_numeric_column(real[c]) and is_numeric_column(synth[c])
        else tv_complement(real[c], synth[c])
        for c in cols
    }


def shape_score(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str] | None = None,
    categorical: frozenset[str] | set[str] = frozenset(),
) -> float:
    """Mean column-shape score over columns that have values on both sides (0 when none has)."""
    scores = [v for v in column_shapes(real, synth, columns, categorical).values() if not np.isnan(v)]
    return float(np.mean(scores)) if scores else 0.0
