"""Rows as comparable values, shared by the row-level privacy checks (privacy.py) and membership
inference (mia.py): dtype-neutral normalised values, row hashes, sparse vectors and their nearest
neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from synthdata.datetimes import epoch_values, is_datetime
from synthdata.rowhash import row_hashes
from synthdata.schema import DType, Role, Schema


def compared_columns(schema: Schema, *frames: pd.DataFrame) -> list[str]:
    return [c.name for c in schema.columns if c.role != Role.IGNORE and all(c.name in f for f in frames)]


def normalised(
    df: pd.DataFrame, cols: list[str], schema: Schema, integer_ids: set[str] | None = None
) -> pd.DataFrame:
    """Dtype-neutral copy so equal values hash equally whatever pandas dtype each table uses.

    `integer_ids`: the id columns compared as integers (default: those of `df` holding whole numbers
    only); a caller normalising a table in parts decides once for the whole table."""
    if integer_ids is None:
        integer_ids = integer_id_columns(df, cols, schema)
    out = {}
    for c in cols:
        s = df[c]
        spec = schema.column(c)
        if is_datetime(s):
            out[c] = epoch_values(s)
        elif spec.role not in (Role.USER_ID, Role.ITEM_ID) and (
            spec.dtype in (DType.INT, DType.FLOAT, DType.BOOL) or pd.api.types.is_numeric_dtype(s)
        ):
            out[c] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        elif c in integer_ids:  # a category to the encoder, like text ids
            out[c] = s.to_numpy(dtype=np.int64)
        else:  # ids and labels compare as text: an id's numeric distance means nothing
            out[c] = s.astype(str).where(s.notna().to_numpy(), None).to_numpy(dtype=object)
    return pd.DataFrame(out)


def integer_id_columns(df: pd.DataFrame, cols: list[str], schema: Schema) -> set[str]:
    """The id columns of `cols` that compare as integers (see `_whole_numbers`)."""
    ids = (Role.USER_ID, Role.ITEM_ID)
    return {c for c in cols if schema.column(c).role in ids and _whole_numbers(df[c])}


def _whole_numbers(s: pd.Series) -> bool:
    """A numeric, non-boolean column of whole numbers only (5 and 5.0 alike), no missing values.

    Why: such ids compare as int64, not as text: rendering millions of numeric ids as text cost most
    of the privacy stage at 10M rows, and int64 hashes equal wherever the numbers are equal."""
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or s.isna().any():
        return False
    if s.dtype.kind != "f":
        return True
    v = s.to_numpy(dtype=np.float64)
    return bool((np.isfinite(v) & (np.abs(v) < 2**53) & (v == np.round(v))).all())


HASH_CHUNK_ROWS = 1_000_000  # rows normalised at a time: bounds the copy, not the result


def normalised_row_hashes(df: pd.DataFrame, cols: list[str], schema: Schema) -> np.ndarray:
    """Row hashes of `cols` that do not depend on the dtypes each table happens to use, computed per
    chunk of rows (a row's hash depends on that row only) so a 10M-row table is never copied whole."""
    integer_ids = integer_id_columns(df, cols, schema)
    parts = [
        row_hashes(normalised(df.iloc[s : s + HASH_CHUNK_ROWS], cols, schema, integer_ids))
        for s in range(0, len(df), HASH_CHUNK_ROWS)
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


# scikit-learn's pairwise-distance chunks (MiB). Its default, 1024, made the privacy checks the peak of a
# whole evaluation (+1.3 GiB for 2,000 queries against 20,000 rows); 128 is as fast here.
KNN_WORKING_MEMORY_MB = 128


def knn_distances(ref: sp.csr_matrix, query: sp.csr_matrix, k: int) -> np.ndarray:
    """Euclidean distances to the k nearest rows of `ref` (n_query × k, ascending), exact."""
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k, ref.shape[0]))
    with sklearn.config_context(working_memory=KNN_WORKING_MEMORY_MB):
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(ref)
        return nn.kneighbors(query, return_distance=True)[0]


class RowEncoder:
    """Mixed-type rows → sparse vectors: numeric scaled to [0, 1] on train, categories one-hot / √2."""

    def __init__(self, train: pd.DataFrame, cols: list[str], schema: Schema) -> None:
        from sklearn.preprocessing import OneHotEncoder

        norm = normalised(train, cols, schema)
        self.cols = cols
        self.schema = schema
        self.num = [c for c in cols if norm[c].dtype.kind == "f"]
        self.cat = [c for c in cols if c not in self.num]
        x = norm[self.num].to_numpy(dtype=np.float64)
        self.lo = np.nanmin(x, axis=0) if x.size else np.zeros(0)
        span = (np.nanmax(x, axis=0) - self.lo) if x.size else np.zeros(0)
        self.span = np.where(span > 0, span, 1.0)
        self.ohe = None
        if self.cat:
            self.ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=True, dtype=np.float64)
            self.ohe.fit(norm[self.cat].astype(str))

    def transform(self, df: pd.DataFrame) -> sp.csr_matrix:
        norm = normalised(df, self.cols, self.schema)
        parts = []
        if self.num:
            x = (norm[self.num].to_numpy(dtype=np.float64) - self.lo) / self.span
            parts.append(sp.csr_matrix(np.nan_to_num(x, nan=-1.0)))  # missing sits apart from every value
        if self.ohe is not None:
            parts.append(self.ohe.transform(norm[self.cat].astype(str)) / np.sqrt(2.0))
        return sp.hstack(parts, format="csr")
