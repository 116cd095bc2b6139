"""A cheap column-shape fidelity score (sdmetrics' definitions) for model selection during training.

Per column: numbers and datetimes score 1 − Kolmogorov–Smirnov statistic (KSComplement), everything
else 1 − total variation distance of the category frequencies (TVComplement). The mean over columns
is in [0, 1]; higher is better. Used instead of the GAN losses, which do not track sample quality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _numeric(s: pd.Series) -> np.ndarray | None:
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.dropna().astype("datetime64[ns]").to_numpy().astype(np.int64).astype(np.float64)
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        return None
    return pd.to_numeric(s, errors="coerce").dropna().to_numpy(np.float64)


def ks_complement(real: np.ndarray, synth: np.ndarray) -> float:
    if len(real) == 0 or len(synth) == 0:
        return float(len(real) == len(synth))
    a, b = np.sort(real), np.sort(synth)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(1 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(real: pd.Series, synth: pd.Series) -> float:
    p = real.astype(object).where(real.notna(), "__null__").value_counts(normalize=True)
    q = synth.astype(object).where(synth.notna(), "__null__").value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1 - 0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def column_shapes(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str] | None = None,
    categorical: frozenset[str] | set[str] = frozenset(),
) -> dict[str, float]:
    """Score per column; `columns` defaults to those both frames share; `categorical` forces TV (ids)."""
    cols = columns or [c for c in real.columns if c in synth.columns]
    out: dict[str, float] = {}
    for c in cols:
        if c in categorical:
            out[c] = tv_complement(real[c], synth[c])
            continue
        r, s = _numeric(real[c]), _numeric(synth[c])
        out[c] = ks_complement(r, s) if r is not None and s is not None else tv_complement(real[c], synth[c])
    return out


def shape_score(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str] | None = None,
    categorical: frozenset[str] | set[str] = frozenset(),
) -> float:
    scores = column_shapes(real, synth, columns, categorical)
    return float(np.mean(list(scores.values()))) if scores else 0.0
