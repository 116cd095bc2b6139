"""Sources: what can be ingested, opened as a typed `Source` that yields DataFrame chunks.

`CsvSource` (`csv.py`, below-the-parser helpers in `csvtext.py`), `ParquetSource` (`parquet.py`)
and `SqlSource` (`sql.py`) share the `Source` base (`base.py`). Every reader yields DataFrames with
the input columns plus `_line`: the 1-based line number in a CSV file (counting the header line,
one record per line) or the 1-based row number in a Parquet dataset (files in sorted path order)
or SQL result, so each rejected row can be traced back to where it came from. Structural problems
(missing file, undecodable bytes, unknown table) raise `InputError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthdata.errors import InputError
from synthdata.ingest.sources.base import LINE, NA_VALUES, NUL_MARK, Source, is_glob, is_sql_url
from synthdata.ingest.sources.csv import CsvSource, open_csv
from synthdata.ingest.sources.parquet import ParquetSource, is_parquet_source, open_parquet, parquet_files
from synthdata.ingest.sources.sql import SqlSource, open_sql

__all__ = [
    "LINE",
    "NA_VALUES",
    "NUL_MARK",
    "CsvSource",
    "ParquetSource",
    "Source",
    "SqlSource",
    "is_glob",
    "is_parquet_source",
    "is_sql_url",
    "open_parquet",
    "open_source",
    "parquet_files",
]


def open_source(
    source: str | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    csv_opts: dict[str, Any] | None = None,
    chunk_size: int = 200_000,
    on_malformed: str = "quarantine",
    pad_short_records: bool = False,
) -> Source:
    """Open a CSV/TSV/text file, Parquet file/folder/glob, or an SQLAlchemy URL (table or query)."""
    if is_sql_url(source):
        return open_sql(str(source), table=table, query=query, chunk_size=chunk_size)
    if table is not None or query is not None:
        raise InputError("--table/--query only apply to a database URL source", path=str(source))
    if is_parquet_source(source):
        return open_parquet(source, chunk_size)
    path = Path(source)
    if not path.exists():
        raise InputError("input file not found", path=str(path))
    if path.is_dir():
        raise InputError(
            "expected a file, got a folder (use --layout movielens-100k for MovieLens)", path=str(path)
        )
    if path.stat().st_size == 0:
        raise InputError("empty input: the file has no bytes", path=str(path), row=1)
    o = dict(csv_opts or {})
    return open_csv(
        path,
        sep=o.get("sep"),
        header=o.get("header"),
        names=o.get("names"),
        encoding=encoding or o.get("encoding"),
        chunk_size=chunk_size,
        on_malformed=on_malformed,
        pad_short_records=pad_short_records,
    )
