"""Chunked readers for CSV, Parquet and SQL sources.

Every reader yields DataFrames with the input columns plus `_line`: the 1-based line number in a
CSV file (counting the header line, one record per line) or the 1-based row number in a Parquet
file or SQL result, so each rejected row can be traced back to where it came from.
Structural problems (missing file, undecodable bytes, unknown table) raise `InputError`.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.db import check_identifier_length, mask_url
from synthdata.errors import InputError

LINE = "_line"
NA_VALUES = ["", "null", "NULL", "NaN", "nan", "None", "N/A"]
_SQL_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def is_sql_url(source: str | Path) -> bool:
    return isinstance(source, str) and bool(_SQL_URL.match(source)) and not source.startswith("file://")


@dataclass
class Source:
    """A readable table. `label` names it in messages and rejects (passwords masked)."""

    label: str
    columns: list[str | int]
    chunk_size: int
    kind: str
    _opts: dict[str, Any] = field(default_factory=dict, repr=False)

    def chunks(self) -> Iterator[pd.DataFrame]:
        if self.kind == "csv":
            yield from _csv_chunks(self)
        elif self.kind == "parquet":
            yield from _parquet_chunks(self)
        else:
            yield from _sql_chunks(self)

    @property
    def raw_text(self) -> bool:
        """CSV values arrive as text and need parsing; Parquet/SQL values are already typed."""
        return self.kind == "csv"


# --- CSV -----------------------------------------------------------------------------------------
def sniff_csv(path: Path, encoding: str | None) -> tuple[str, bool]:
    """Guess (delimiter, has_header) from the first 64 KiB."""
    enc = encoding or "utf-8"
    with open(path, "rb") as f:
        head = f.read(65536)
    text = head.decode(enc, errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut mid-record
    if not lines:
        return ",", True
    sample = "\n".join(lines)
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        sep = max(counts, key=lambda d: counts[d]) if max(counts.values()) > 0 else ","
    rows = list(csv.reader(lines, delimiter=sep))
    return sep, _looks_like_header(rows)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Header if the first row has no numbers while some column below it is mostly numeric;
    for all-text tables fall back to: first-row values never recur below and look like names."""
    if not rows:
        return True
    first, rest = rows[0], rows[1:]
    if any(_is_number(v.strip()) for v in first if v.strip()):
        return False
    if not rest:
        return True
    ncol = len(first)
    for j in range(ncol):
        col = [r[j].strip() for r in rest if len(r) > j and r[j].strip()]
        if col and sum(_is_number(v) for v in col) >= 0.8 * len(col):
            return True
    below = {v.strip() for r in rest for v in r}
    if any(v.strip() in below for v in first):
        return False
    if any(
        re.search(r"(^|_)(id|user|item|time|timestamp|event|type|rating|date)($|_)", v.strip().lower())
        for v in first
    ):
        return True  # the usual column names of behaviour tables
    try:  # all-text table: the stdlib heuristic compares the first row's shape with the rest
        return csv.Sniffer().has_header("\n".join(",".join(f'"{v}"' for v in r) for r in rows))
    except csv.Error:
        return True


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, int]:
    """(byte offset, 1-based line) of the first byte that does not decode."""
    dec = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            pending = dec.getstate()[0]  # bytes of a character cut at the previous block's end
            try:
                dec.decode(block)
            except UnicodeDecodeError as e:
                data = pending + block
                line += data[len(pending) : e.start].count(b"\n") if e.start > len(pending) else 0
                return offset - len(pending) + e.start, line
            offset += len(block)
            line += block.count(b"\n")
    return offset, line


def open_csv(
    path: Path,
    *,
    sep: str | None = None,
    header: bool | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
    chunk_size: int = 200_000,
) -> Source:
    if sep is None or header is None:
        s_sep, s_header = sniff_csv(path, encoding)
        sep = s_sep if sep is None else sep
        header = s_header if header is None else header
    enc = encoding or "utf-8"
    try:
        first = pd.read_csv(
            path,
            sep=sep,
            header=0 if header else None,
            nrows=1,
            dtype=str,
            encoding=enc,
            keep_default_na=False,
            engine="c" if len(sep) == 1 else "python",
        )
    except pd.errors.EmptyDataError:
        raise InputError("empty input: no rows", path=str(path), row=1) from None
    except UnicodeDecodeError:
        _raise_decode(path, enc, encoding)
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(f"cannot parse CSV: {str(e).splitlines()[0]}", path=str(path)) from None
    if names is not None:
        if len(names) != len(first.columns) and not header:
            raise InputError(
                f"expected {len(names)} fields separated by {sep!r}, found {len(first.columns)}",
                path=str(path),
                row=1,
            )
        columns: list[str | int] = list(names)
    elif header:
        columns = [str(c) for c in first.columns]
    else:
        columns = list(range(len(first.columns)))
    return Source(
        label=str(path),
        columns=columns,
        chunk_size=chunk_size,
        kind="csv",
        _opts={
            "path": path,
            "sep": sep,
            "header": header,
            "names": names,
            "encoding": enc,
            "explicit_encoding": encoding,
        },
    )


def _raise_decode(path: Path, enc: str, explicit: str | None) -> None:
    off, line = _locate_decode_error(path, enc)
    hint = "" if explicit else "; pass --encoding (e.g. latin-1) or set csv.encoding in the schema"
    raise InputError(f"cannot decode bytes as {enc} at byte offset {off}{hint}", path=str(path), row=line)


def _csv_chunks(src: Source) -> Iterator[pd.DataFrame]:
    o = src._opts
    header = o["header"]
    names = o["names"] if o["names"] is not None else (None if header else src.columns)
    reader = pd.read_csv(
        o["path"],
        sep=o["sep"],
        header=0 if header else None,
        names=names,
        dtype=str,
        encoding=o["encoding"],
        keep_default_na=False,
        na_values=NA_VALUES,
        chunksize=src.chunk_size,
        skip_blank_lines=False,
        engine="c" if len(o["sep"]) == 1 else "python",
        on_bad_lines="error",
    )
    start = 2 if header else 1
    try:
        for chunk in reader:
            chunk.insert(len(chunk.columns), LINE, range(start, start + len(chunk)))
            start += len(chunk)
            yield chunk
    except UnicodeDecodeError:
        _raise_decode(o["path"], o["encoding"], o["explicit_encoding"])
    except pd.errors.ParserError as e:
        m = re.search(r"line (\d+)", str(e))
        raise InputError(
            f"malformed CSV record: {str(e).splitlines()[0]}",
            path=src.label,
            row=int(m.group(1)) if m else None,
        ) from None


# --- Parquet -------------------------------------------------------------------------------------
def open_parquet(path: Path, chunk_size: int = 200_000) -> Source:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise InputError(f"not a readable Parquet file: {str(e).splitlines()[0]}", path=str(path)) from None
    return Source(
        label=str(path),
        columns=list(pf.schema_arrow.names),
        chunk_size=chunk_size,
        kind="parquet",
        _opts={"path": path, "rows": pf.metadata.num_rows},
    )


def _parquet_chunks(src: Source) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src._opts["path"])
    start = 1
    for batch in pf.iter_batches(batch_size=src.chunk_size):
        df = batch.to_pandas()
        df[LINE] = range(start, start + len(df))
        start += len(df)
        yield df


# --- SQL -----------------------------------------------------------------------------------------
def quote_table(engine: Any, table: str) -> str:
    """Validate `table` (optionally `schema.table`) as an identifier and quote it for the dialect."""
    if not _IDENT.match(table):
        raise InputError(f"invalid table name {table!r}: letters, digits, _ and one optional schema prefix")
    check_identifier_length(table, engine.dialect, what="table name")  # PostgreSQL would truncate it
    prep = engine.dialect.identifier_preparer
    return ".".join(prep.quote_identifier(p) for p in table.split("."))


def open_sql(url: str, *, table: str | None, query: str | None, chunk_size: int = 200_000) -> Source:
    import sqlalchemy as sa

    label = mask_url(url)
    if (table is None) == (query is None):
        raise InputError("a SQL source needs exactly one of --table or --query", path=label)
    try:
        engine = sa.create_engine(url)
    except Exception as e:
        raise InputError(f"bad database URL: {type(e).__name__}", path=label) from None
    if table is not None:
        sql = f"SELECT * FROM {quote_table(engine, table)}"
        label = f"{label} table {table}"
    else:
        sql = query or ""
        label = f"{label} query"
    try:
        with engine.connect() as conn:
            cols = list(conn.execute(sa.text(f"SELECT * FROM ({sql}) AS _q WHERE 1=0")).keys())
    except Exception as e:
        engine.dispose()
        msg = str(getattr(e, "orig", e)).splitlines()[0].replace(url, mask_url(url))
        raise InputError(f"cannot read from database: {msg}", path=label) from None
    return Source(
        label=label, columns=cols, chunk_size=chunk_size, kind="sql", _opts={"engine": engine, "sql": sql}
    )


def _sql_chunks(src: Source) -> Iterator[pd.DataFrame]:
    import sqlalchemy as sa

    engine = src._opts["engine"]
    start = 1
    with engine.connect().execution_options(stream_results=True) as conn:
        for df in pd.read_sql(sa.text(src._opts["sql"]), conn, chunksize=src.chunk_size):
            df[LINE] = range(start, start + len(df))
            start += len(df)
            yield df


# --- dispatch ------------------------------------------------------------------------------------
def open_source(
    source: str | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    csv_opts: dict[str, Any] | None = None,
    chunk_size: int = 200_000,
) -> Source:
    """Open a CSV/TSV/text file, a Parquet file or an SQLAlchemy URL (with a table or a query)."""
    if is_sql_url(source):
        return open_sql(str(source), table=table, query=query, chunk_size=chunk_size)
    if table is not None or query is not None:
        raise InputError("--table/--query only apply to a database URL source", path=str(source))
    path = Path(source)
    if not path.exists():
        raise InputError("input file not found", path=str(path))
    if path.is_dir():
        raise InputError(
            "expected a file, got a folder (use --layout movielens-100k for MovieLens)", path=str(path)
        )
    if path.stat().st_size == 0:
        raise InputError("empty input: the file has no bytes", path=str(path), row=1)
    if path.suffix.lower() in {".parquet", ".pq"}:
        return open_parquet(path, chunk_size)
    o = dict(csv_opts or {})
    return open_csv(
        path,
        sep=o.get("sep"),
        header=o.get("header"),
        names=o.get("names"),
        encoding=encoding or o.get("encoding"),
        chunk_size=chunk_size,
    )
