"""One 64-bit hash per table row: ingestion's duplicate detection (ingest/clean.py's `Deduper`), the
exact-copy check of evaluation (evaluate/rowcode.py) and the training-data fingerprint (model/fit.py).

Equal rows (same values, same dtypes) hash equally, whatever the index; callers that compare tables
with different dtypes normalise them first (evaluate/rowcode.py's `normalised`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """uint64 hash of each row of `df` (the index is not hashed)."""
    return pd.util.hash_pandas_object(df, index=False).to_numpy(np.uint64)
