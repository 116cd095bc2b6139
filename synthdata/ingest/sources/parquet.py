"""Parquet sources: one file, a folder (searched recursively; hive `key=value` folders become
columns) or a glob. Rows are numbered 1, 2, ... across the files in sorted path order."""

from __future__ import annotations

import glob as _glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.sources.base import LINE, Source, is_glob, is_sql_url

PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass
class ParquetSource(Source):
    """A Parquet dataset: its files in reading order, their row counts and the dataset's root
    (the folder hive partitions are below; None for a single file)."""

    files: list[Path]
    rows: list[int]
    root: Path | None

    def chunks(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        start = 1
        for f in self.files:
            keys = hive_keys(f, self.root)
            for batch in pq.ParquetFile(f).iter_batches(batch_size=self.chunk_size):
                df = arrow_to_pandas(batch)
                for k, v in keys.items():
                    if k not in df.columns:
                        df[k] = v
                df = df[[c for c in self.columns]]
                df[LINE] = range(start, start + len(df))
                start += len(df)
                yield df


def is_parquet_source(source: str | Path) -> bool:
    if is_sql_url(source):
        return False
    if is_glob(source):
        return Path(str(source)).suffix.lower() in PARQUET_SUFFIXES
    p = Path(source)
    if p.is_dir():
        return any(p.rglob("*.parquet")) and not (p / "events.csv").exists() and not (p / "u.data").exists()
    return p.suffix.lower() in PARQUET_SUFFIXES


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


def open_parquet(source: str | Path, chunk_size: int = 200_000) -> ParquetSource:
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
    return ParquetSource(
        label=label, columns=list(columns or []), chunk_size=chunk_size, files=files, rows=rows, root=root
    )


def arrow_to_pandas(batch: Any) -> pd.DataFrame:
    """Arrow -> pandas; timestamps outside pandas' nanosecond range (year 1600, 3000) come through
    as Python datetimes, so those rows are rejected (`bad_timestamp`) instead of raising."""
    try:
        return batch.to_pandas(coerce_temporal_nanoseconds=True)
    except Exception:  # pyarrow.ArrowInvalid / pandas OutOfBoundsDatetime
        return batch.to_pandas(timestamp_as_object=True)
