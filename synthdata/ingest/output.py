"""Writing the clean table: stable dtypes per declared dtype, one Arrow schema per output, and the
left join of attribute tables. Shared by the streaming and the DuckDB executors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.schema import ColumnSpec, DType


def arrow_type(dt: DType) -> pa.DataType:
    return {
        DType.INT: pa.int64(),
        DType.FLOAT: pa.float64(),
        DType.BOOL: pa.bool_(),
        DType.DATETIME: pa.timestamp("ns", tz="UTC"),
    }.get(dt, pa.string())


def arrow_schema(specs: list[ColumnSpec], extra: dict[str, pa.DataType] | None = None) -> pa.Schema:
    return pa.schema([(s.name, arrow_type(s.dtype)) for s in specs] + list((extra or {}).items()))


def canonical(df: pd.DataFrame, specs: list[ColumnSpec]) -> pd.DataFrame:
    """Stable pandas dtypes per declared dtype so every written batch has the same Arrow schema:
    int -> int64 (Int64 if nullable), bool -> bool (boolean if nullable), text -> object."""
    out = {}
    for s in specs:
        c = df[s.name]
        if s.dtype == DType.INT:
            c = c.astype("Int64" if s.nullable or c.isna().any() else "int64", copy=False)
        elif s.dtype == DType.FLOAT:
            c = c.astype("float64", copy=False)
        elif s.dtype == DType.BOOL:
            c = c.astype("boolean" if s.nullable or c.isna().any() else bool, copy=False)
        elif s.dtype == DType.DATETIME:
            if str(c.dtype) != "datetime64[ns, UTC]":
                c = pd.to_datetime(c, utc=True).astype("datetime64[ns, UTC]")
        elif c.dtype != object or c.isna().any():
            c = c.astype(object).where(c.notna(), None)
        out[s.name] = c
    return pd.DataFrame(out).reset_index(drop=True)  # all columns share df's index: no realignment


class ParquetOut:
    """Streams canonical batches to one Parquet file with a schema fixed from the specs."""

    def __init__(self, path: Path, specs: list[ColumnSpec], extra: dict[str, pa.DataType] | None = None):
        self.path, self.specs = path, specs
        self.schema = arrow_schema(specs, extra)
        self.w = pq.ParquetWriter(path, self.schema)

    def write(self, df: pd.DataFrame) -> None:
        t = pa.Table.from_pandas(df, schema=self.schema, preserve_index=False).replace_schema_metadata(None)
        self.w.write_table(t)

    def write_arrow(self, t: pa.Table | pa.RecordBatch) -> None:
        t = pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t
        self.w.write_table(t.select(self.schema.names).cast(self.schema))

    def close(self) -> None:
        if self.w.is_open:
            self.w.close()


def join_attributes(df: pd.DataFrame, tables: dict[str, pd.DataFrame], ucol: str, icol: str) -> pd.DataFrame:
    """Left-join attribute tables on the id columns (ids missing there get empty attributes)."""
    for kind, col in (("users", ucol), ("items", icol)):
        if kind not in tables:
            continue
        t = tables[kind]
        key = df[col]
        idx = t.index
        if pd.api.types.is_integer_dtype(key.dtype) and not pd.api.types.is_integer_dtype(idx.dtype):
            idx = pd.Index(pd.to_numeric(idx, errors="coerce"))
        elif not pd.api.types.is_integer_dtype(key.dtype):
            idx = idx.astype(str)
            key = key.astype(str)
        pos = idx.get_indexer(key)
        found = pos >= 0
        for a in t.columns:
            vals = (
                t[a].iloc[np.where(found, pos, 0)].reset_index(drop=True)
                if len(t)
                else pd.Series([None] * len(df))
            )
            df[a] = vals.where(pd.Series(found), None) if not found.all() else vals
    return df
