"""The rows to export and the two writers: a batch source over Parquet or a DataFrame, PostgreSQL's
COPY fed by pyarrow's CSV writer, SQLite's executemany — each in chunks of `chunk_size`."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from synthdata.errors import InputError
from synthdata.export.base import STALL_ENV, ExportError, log
from synthdata.log import progress


# ---- source ---------------------------------------------------------------------------------------
class RowSource:
    """Arrow schema, row count and a batch iterator over a Parquet file or a DataFrame."""

    def __init__(self, src: pd.DataFrame | pa.Table | str | Path, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self._pf: pq.ParquetFile | None = None
        self._table: pa.Table | None = None
        if isinstance(src, pd.DataFrame):
            self._table = pa.Table.from_pandas(src, preserve_index=False)
        elif isinstance(src, pa.Table):
            self._table = src
        else:
            path = Path(src)
            if not path.is_file():
                raise InputError("export source Parquet file not found", path=str(path))
            try:
                self._pf = pq.ParquetFile(path)
            except Exception as e:
                raise InputError(f"cannot read export source as Parquet: {e}", path=str(path)) from None
        self.schema: pa.Schema = self._table.schema if self._table is not None else self._pf.schema_arrow  # type: ignore[union-attr]
        self.rows: int = self._table.num_rows if self._table is not None else self._pf.metadata.num_rows  # type: ignore[union-attr]

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._table is not None:
            yield from self._table.to_batches(max_chunksize=self.chunk_size)
        else:
            assert self._pf is not None
            yield from self._pf.iter_batches(batch_size=self.chunk_size)


def sa_type(field: pa.Field) -> sa.types.TypeEngine:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return sa.Boolean()
    if pa.types.is_integer(t):
        small = t.bit_width < 32 or (t.bit_width == 32 and pa.types.is_signed_integer(t))
        return sa.Integer() if small else sa.BigInteger()
    if pa.types.is_floating(t):
        return sa.Float(precision=53) if t.bit_width == 64 else sa.Float()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return sa.Text()  # null: an all-missing (or empty) object column
    if pa.types.is_timestamp(t):
        return sa.DateTime(timezone=t.tz is not None)
    if pa.types.is_date(t):
        return sa.Date()
    if pa.types.is_decimal(t):
        return sa.Numeric(t.precision, t.scale)
    raise InputError(
        f"column type {t} cannot be exported (supported: bool, int, float, string, "
        "category, timestamp, date, decimal)",
        column=field.name,
    )


def _normalise(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Decode dictionary (category) columns to plain values; both writers want flat arrays."""
    cols = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def _utc_naive(batch: pa.RecordBatch) -> pa.RecordBatch:
    """tz-aware timestamps -> naive UTC wall time in microseconds (PostgreSQL's precision).

    Arrow formats zoned timestamps far more slowly than naive ones (benchmarks/export_bench.py); the
    COPY runs with the session time zone set to UTC, so naive UTC text denotes exactly the same instants.
    """
    cols = []
    for c in batch.columns:
        t = c.type
        if pa.types.is_timestamp(t):
            c = c.cast(pa.timestamp("us", tz=t.tz), safe=False)
            if t.tz is not None:
                c = c.cast(pa.timestamp("us"))
        cols.append(c)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


# ---- writers --------------------------------------------------------------------------------------
def _after_chunk(done: int) -> None:
    stall = os.environ.get(STALL_ENV)
    if stall and done >= int(stall):
        print(f"export stalled after {done} chunks ({STALL_ENV})", file=sys.stderr, flush=True)
        time.sleep(3600)


def copy_postgres(conn: sa.Connection, qtable: str, qcols: list[str], src: RowSource) -> int:
    raw = conn.connection.driver_connection
    if raw is None or not hasattr(raw, "cursor"):  # pragma: no cover - psycopg is the supported driver
        raise ExportError("PostgreSQL export needs the psycopg (v3) driver: use postgresql+psycopg://")
    written = 0
    opts = pacsv.WriteOptions(include_header=False, batch_size=max(1024, min(src.chunk_size, 65536)))
    n_chunks = -(-src.rows // src.chunk_size) if src.rows else 0
    sql = f"COPY {qtable} ({', '.join(qcols)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")  # this transaction only; see _utc_naive
        with cur.copy(sql) as copy:
            for i, batch in enumerate(progress(src.batches(), n_chunks, "export", log), 1):
                buf = io.BytesIO()
                pacsv.write_csv(_utc_naive(_normalise(batch)), buf, opts)
                copy.write(buf.getbuffer())
                written += batch.num_rows
                _after_chunk(i)
    return written


def _sqlite_columns(batch: pa.RecordBatch) -> list[list[object]]:
    """Arrow columns as Python lists in the storage format SQLAlchemy's SQLite types read back.

    Timestamps become UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (Arrow's cast: much faster than strftime).
    """
    out: list[list[object]] = []
    for col in _utc_naive(_normalise(batch)).columns:
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            col = col.cast(pa.string())
        elif pa.types.is_decimal(t):
            col = col.cast(pa.float64())
        out.append(col.to_pylist())
    return out


def insert_sqlite(conn: sa.Connection, qtable: str, qcols: list[str], src: RowSource) -> int:
    sql = f"INSERT INTO {qtable} ({', '.join(qcols)}) VALUES ({', '.join('?' * len(qcols))})"
    written = 0
    n_chunks = -(-src.rows // src.chunk_size) if src.rows else 0
    for i, batch in enumerate(progress(src.batches(), n_chunks, "export", log), 1):
        if batch.num_rows:
            conn.exec_driver_sql(sql, list(zip(*_sqlite_columns(batch), strict=True)))
        written += batch.num_rows
        _after_chunk(i)
    return written
