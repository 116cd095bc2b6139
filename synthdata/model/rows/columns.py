"""What the transformer knows about each column: encoded spans, fitted parameters, id catalogues,
and the small value conversions encoding and decoding share."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthdata.datetimes import epoch_seconds, from_epoch_seconds, is_datetime
from synthdata.errors import InputError
from synthdata.log import get_logger, kv
from synthdata.schema import Role

log = get_logger(__name__)

Activation = Literal["tanh", "softmax", "embed"]
NULL_TOKEN = "__null__"


@dataclass(frozen=True)
class SpanInfo:
    """A contiguous block of the encoded row and how the generator activates it."""

    dim: int
    activation: Activation


@dataclass
class ColumnInfo:
    """Everything needed to encode/decode one modelled column; `spans` are its blocks in order."""

    name: str
    kind: Literal["id", "discrete", "continuous", "constant"]
    spans: list[SpanInfo]
    start: int = 0  # offset of the first span in the encoded row
    # discrete
    categories: np.ndarray | None = None  # code -> original value
    frequencies: np.ndarray | None = None  # empirical frequency per code
    # continuous (values standardised by loc/scale before the mixture)
    loc: float = 0.0
    scale: float = 1.0
    means: np.ndarray | None = None
    stds: np.ndarray | None = None
    log_weights: np.ndarray | None = None
    valid: np.ndarray | None = None  # mixture components with non-negligible weight
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    datetime: bool = False
    has_null: bool = False
    constant: Any = None
    # id
    role: Role | None = None
    # inequality constraint: this (low) column is encoded as log1p(high - low) and rebuilt from high
    gap_high: str | None = None
    gap_datetime: bool = False  # gap in seconds between datetimes
    gap_integer: bool = False  # integer low: whole-number gaps
    gap_min: float | None = None  # observed minimum of the low column itself (original units)

    @property
    def dim(self) -> int:
        return sum(s.dim for s in self.spans)

    def offset(self, i: int) -> int:
        """Start of the column's `i`-th span in the encoded row (negative `i` counts from the end)."""
        i = i % len(self.spans)
        return self.start + sum(s.dim for s in self.spans[:i])

    def block(self, data: np.ndarray, i: int) -> np.ndarray:
        """The columns of `data` that hold span `i` of this column."""
        a = self.offset(i)
        return data[:, a : a + self.spans[i].dim]

    @property
    def conditionable(self) -> bool:
        return self.kind in ("id", "discrete")


@dataclass
class IdCatalogue:
    """Catalogue of one id column: values, frequencies, embeddings and per-id attribute tables."""

    column: str
    values: np.ndarray  # code -> id value
    counts: np.ndarray  # interactions per code (training data)
    embeddings: np.ndarray  # (n_ids, d) float32, unit rows
    attributes: pd.DataFrame = field(default_factory=pd.DataFrame)  # index = code
    cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # code -> decoder cluster
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @property
    def n(self) -> int:
        return len(self.values)


def to_seconds(s: pd.Series) -> np.ndarray:
    """Epoch seconds of a column the schema says is datetime; other dtypes are an input error."""
    if not is_datetime(s):  # e.g. raw epoch integers in a table that never went through ingest
        raise InputError(
            f"column {s.name!r} holds {s.dtype} values but the schema says datetime: "
            "clean the table with `synthdata ingest` (or fix the schema)"
        )
    return epoch_seconds(s)


def numbers(s: pd.Series, datetime: bool) -> np.ndarray:
    """float64 view of a numeric column, or epoch seconds of a datetime one; NaN for missing."""
    if datetime:
        return to_seconds(s)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def log_gap(df: pd.DataFrame, low: str, high: str, datetime: bool) -> np.ndarray:
    """log1p(high - low) per row (NaN where either is missing); a row with low > high is an input error
    because the reparametrisation cannot represent it (and ingestion rejects such rows)."""
    gap = numbers(df[high], datetime) - numbers(df[low], datetime)
    bad = gap < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"row breaks the constraint {low} <= {high} ({low} > {high})", column=low, row=row)
    return np.log1p(gap)


def codes_of(values: pd.Series, categories: np.ndarray, column: str) -> np.ndarray:
    """Map values to category codes; unknown values are an input error naming an example."""
    codes = pd.Categorical(values, categories=categories).codes.astype(np.int64)
    bad = codes < 0
    if bad.any():
        example = values[bad].iloc[0] if isinstance(values, pd.Series) else np.asarray(values)[bad][0]
        raise InputError(f"value {example!r} was not seen when the model was fitted", column=column)
    return codes


def restore_dtypes(out: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """Cast decoded columns back to the clean table's dtypes (keep values when a cast is impossible)."""
    for name, dtype in dtypes.items():
        s = out[name]
        try:
            if is_datetime(dtype):
                if not is_datetime(s):
                    s = from_epoch_seconds(s)
                if getattr(dtype, "tz", None) is None:
                    s = s.dt.tz_localize(None)
                out[name] = s.astype(dtype)
            elif pd.api.types.is_integer_dtype(dtype) and not isinstance(
                dtype, pd.api.extensions.ExtensionDtype
            ):
                num = pd.to_numeric(s)
                out[name] = num.astype(dtype) if not num.isna().any() else num.astype("Int64")
            else:
                out[name] = s.astype(dtype)
        except (TypeError, ValueError) as e:  # keep the decoded values rather than fail a sample
            log.warning(kv(event="dtype_not_restored", column=name, dtype=dtype, error=type(e).__name__))
    return out


def fit_modes(
    name: str,
    obs: np.ndarray,
    rng: np.random.Generator,
    n_modes: int,
    bgm_rows: int,
    bgm_iter: int,
    has_null: bool,
) -> ColumnInfo:
    """CTGAN's mode-specific normalisation: a Dirichlet-process Gaussian mixture on a sample of
    the standardised values; modes under 0.5% weight are never used."""
    loc, scale = float(obs.mean()), float(obs.std()) or 1.0
    from sklearn.exceptions import ConvergenceWarning  # fitting only: keeps model loading fast
    from sklearn.mixture import BayesianGaussianMixture

    sub = obs if len(obs) <= bgm_rows else rng.choice(obs, bgm_rows, replace=False)
    bgm = BayesianGaussianMixture(
        n_components=n_modes,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.001,
        max_iter=bgm_iter,
        n_init=1,
        random_state=int(rng.integers(2**31 - 1)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm.fit(((sub - loc) / scale).reshape(-1, 1))
    valid = bgm.weights_ > 0.005
    if not valid.any():
        valid[np.argmax(bgm.weights_)] = True
    spans = [SpanInfo(1, "tanh"), SpanInfo(n_modes, "softmax")]
    if has_null:
        spans.append(SpanInfo(2, "softmax"))
    return ColumnInfo(
        name,
        "continuous",
        spans,
        loc=loc,
        scale=scale,
        means=bgm.means_.reshape(-1).astype(np.float64),
        stds=np.sqrt(bgm.covariances_.reshape(-1)).astype(np.float64),
        log_weights=np.log(np.maximum(bgm.weights_, 1e-12)),
        valid=valid,
        has_null=has_null,
    )
