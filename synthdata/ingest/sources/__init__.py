"""Sources: what can be ingested, opened as a `Source` that yields DataFrame chunks.

Every reader yields DataFrames with the input columns plus `_line`: the 1-based line number in a
CSV file (counting the header line, one record per line) or the 1-based row number in a Parquet
dataset (files in sorted path order) or SQL result, so each rejected row can be traced back to
where it came from. Structural problems (missing file, undecodable bytes, unknown table) raise
`InputError`. CSV reading lives in `sources.csv`, SQL reading in `sources.sql`.
"""

from __future__ import annotations

import glob as _glob
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.db import mask_url
from synthdata.errors import InputError

__all__ = ["LINE", "NA_VALUES", "Source", "is_sql_url", "mask_url", "open_source", "parquet_files"]

LINE = "_line"
NA_VALUES = ["", "null", "NULL", "NaN", "nan", "None", "N/A"]
NUL_MARK = "\ufffe"  # a NUL byte read through pandas' C parser (which would cut the field at NUL)
_SQL_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
PARQUET_SUFFIXES = {".parquet", ".pq"}


def is_sql_url(source: str | Path) -> bool:
    return isinstance(source, str) and bool(_SQL_URL.match(source)) and not source.startswith("file://")


def is_glob(source: str | Path) -> bool:
    return isinstance(source, str) and any(c in source for c in "*?[")


@dataclass
class Source:
    """A readable table. `label` names it in messages and rejects (passwords masked)."""

    label: str
    columns: list[str | int]
    chunk_size: int
    kind: str  # csv | parquet | sql
    _opts: dict[str, Any] = field(default_factory=dict, repr=False)

    def chunks(self) -> Iterator[pd.DataFrame]:
        if self.kind == "csv":
            from synthdata.ingest.sources.csv import _csv_chunks

            yield from _csv_chunks(self)
        elif self.kind == "parquet":
            yield from _parquet_chunks(self)
        else:
            from synthdata.ingest.sources.sql import sql_chunks

            yield from sql_chunks(self)

    @property
    def raw_text(self) -> bool:
        """CSV values arrive as text and need parsing; Parquet/SQL values are already typed."""
        return self.kind == "csv"


# --- Parquet -------------------------------------------------------------------------------------
def parquet_files(source: str | Path) -> list[Path]:
    """The files of a Parquet source: one file, a glob, or a folder (searched recursively, e.g. a
    hive-partitioned dataset `events/day=2024-01-01/part-0.parquet`), in sorted path order."""
    if is_glob(source):
        files = sorted(Path(p) for p in _glob.glob(str(source), recursive=True) if Path(p).is_file())
    elif Path(source).is_dir():
        files = sorted(p for p in Path(source).rglob("*") if p.suffix.lower() in PARQUET_SUFFIXES)
    else:
        files = [Path(source)]
    return files


def hive_keys(path: Path, root: Path | None) -> dict[str, str]:
    """`key=value` folders between the dataset root and the file (values as text)."""
    parts = path.parent.relative_to(root).parts if root is not None else ()
    return dict(p.split("=", 1) for p in parts if "=" in p)


def open_parquet(source: str | Path, chunk_size: int = 200_000) -> Source:
    import pyarrow.parquet as pq

    label = str(source)
    files = parquet_files(source)
    if not files:
        raise InputError("no Parquet files found", path=label)
    if is_glob(source):  # the folders before the first wildcard are the dataset's root
        parts = Path(str(source)).parts
        root: Path | None = Path(*parts[: next(i for i, p in enumerate(parts) if is_glob(p))] or ["."])
    else:
        root = Path(source) if Path(source).is_dir() else None
    rows, columns = [], None
    for f in files:
        try:
            pf = pq.ParquetFile(f)
        except Exception as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"not a readable Parquet file: {msg}", path=str(f)) from None
        names = list(pf.schema_arrow.names) + [
            k for k in hive_keys(f, root) if k not in pf.schema_arrow.names
        ]
        if columns is None:
            columns = names
        elif set(names) != set(columns):
            raise InputError(f"Parquet files disagree on columns ({files[0].name}: {columns})", path=str(f))
        rows.append(pf.metadata.num_rows)
    return Source(
        label=label,
        columns=list(columns or []),
        chunk_size=chunk_size,
        kind="parquet",
        _opts={
            "path": Path(source) if not is_glob(source) else None,
            "files": files,
            "rows": rows,
            "root": root,
        },
    )


def arrow_to_pandas(batch: Any) -> pd.DataFrame:
    """Arrow -> pandas; timestamps outside pandas' nanosecond range (year 1600, 3000) come through
    as Python datetimes, so those rows are rejected (`bad_timestamp`) instead of raising."""
    try:
        return batch.to_pandas(coerce_temporal_nanoseconds=True)
    except Exception:  # pyarrow.ArrowInvalid / pandas OutOfBoundsDatetime
        return batch.to_pandas(timestamp_as_object=True)


def _parquet_chunks(src: Source) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    start = 1
    for f in src._opts["files"]:
        keys = hive_keys(f, src._opts["root"])
        for batch in pq.ParquetFile(f).iter_batches(batch_size=src.chunk_size):
            df = arrow_to_pandas(batch)
            for k, v in keys.items():
                if k not in df.columns:
                    df[k] = v
            df = df[[c for c in src.columns]]
            df[LINE] = range(start, start + len(df))
            start += len(df)
            yield df


# --- dispatch ------------------------------------------------------------------------------------
def is_parquet_source(source: str | Path) -> bool:
    if is_sql_url(source):
        return False
    if is_glob(source):
        return Path(str(source)).suffix.lower() in PARQUET_SUFFIXES
    p = Path(source)
    if p.is_dir():
        return any(p.rglob("*.parquet")) and not (p / "events.csv").exists() and not (p / "u.data").exists()
    return p.suffix.lower() in PARQUET_SUFFIXES


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
        from synthdata.ingest.sources.sql import open_sql

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
    from synthdata.ingest.sources.csv import open_csv

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
