"""DuckDB's view of the input: CSV read by DuckDB's reader with pandas' conventions, Parquet
files/folders/globs with row numbers, or chunks from the pandas reader for what DuckDB cannot read
(other encodings, long delimiters). Also where DuckDB's CSV reader and pandas' differ (blank lines,
short and long records) is made equal, see docs/ingest.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.errors import InputError
from synthdata.ingest.executors.duckdb.render import ident, lit
from synthdata.ingest.report import Tally
from synthdata.ingest.sources import LINE, NA_VALUES, CsvSource, ParquetSource, Source
from synthdata.ingest.sources.csvtext import (
    MALFORMED,
    ByteScan,
    blank_lines,
    malformed_rejects,
    raise_decode,
    scan_bytes,
    split_record,
)

_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "utf-16": "utf-16",
}


def raw_name(src: Source, c: object) -> str:
    """DuckDB column name of an input column (positions of header-less files become c0, c1, ...)."""
    return f"c{c}" if isinstance(c, int) else str(c)


@dataclass
class CsvRead:
    """A CSV file read by DuckDB's own reader: the `read_csv` options giving pandas' conventions,
    and one scan of the file's bytes (NUL bytes, physical lines)."""

    src: CsvSource
    options: str
    scan: ByteScan

    def sql(self, errors: str) -> str:
        """DuckDB's CSV scan of the source; `errors`: what to do with malformed records (store
        them in `reject_errors`, or only skip them)."""
        return f"read_csv({lit(str(self.src.path))}, {self.options}, {errors})"


@dataclass
class DuckInput:
    """The input as DuckDB reads it: `sql` (rows, with `_line` where they carry it), `line_sql` (the
    line number over `checked`'s rowid for a CSV read by DuckDB, else None) and `csv` (that read)."""

    sql: str
    line_sql: str | None = None
    csv: CsvRead | None = None


# --- reading -------------------------------------------------------------------------------------
def source_sql(con: duckdb.DuckDBPyConnection, src: Source, main: Tally, rejects: Any) -> DuckInput:
    """The input as DuckDB reads it (see `DuckInput`). Also creates `extra_raw`: rows DuckDB's CSV
    reader skips that pandas reads (blank lines; records with too few fields under
    `pad_short_records`, padded), and `skips` (lines not in the reader's output). Malformed records
    are rejected here."""
    names = [raw_name(src, c) for c in src.columns]
    con.execute("CREATE TABLE skips (a BIGINT, j BIGINT)")
    con.execute(
        "CREATE TABLE extra_raw ("
        + ", ".join(f"{ident(n)} VARCHAR" for n in names)
        + f", {ident(LINE)} BIGINT)"
    )
    if isinstance(src, ParquetSource):
        return DuckInput(_parquet_view(con, src))
    enc = _ENCODINGS.get(src.encoding.lower()) if isinstance(src, CsvSource) else None
    if not isinstance(src, CsvSource) or enc is None or len(src.sep.encode()) > 4:
        _chunks_table(con, src, main, rejects)
        return DuckInput("raw")
    columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names) + "}"
    na = "[" + ", ".join(lit(v) for v in NA_VALUES) + "]"
    opts = (
        f"columns = {columns}, auto_detect = false, header = {lit(src.header)}, "
        f"delim = {lit(src.sep)}, quote = '\"', escape = '\"', nullstr = {na}, allow_quoted_nulls = true, "
        f"null_padding = false, strict_mode = true, encoding = {lit(enc)}, max_line_size = 16777216"
    )
    read = CsvRead(src, opts, scan_bytes(src.path))
    line_sql = f"{src.first_row} + checked.rowid + coalesce(s.j, 0)"
    return DuckInput(read.sql("store_rejects = true"), line_sql, read)


def reread_suspects(con: duckdb.DuckDBPyConnection, read: CsvRead) -> None:
    """Table `suspects`: the raw text of the CSV rows the checks could not vouch for, with their `rid`
    (rowid in `checked`). `checked` keeps typed values only (raw columns beside them took a third of its
    memory, which the de-duplication needs), so the file is read again, aligned with `checked` by
    position: the same reader, skipping the same malformed records without storing them twice."""
    src, again = read.src, read.sql("ignore_errors = true")
    raw = ", ".join(
        f"r.{ident(raw_name(src, c))} AS {ident('_raw_' + raw_name(src, c))}" for c in src.columns
    )
    con.execute(
        f"CREATE TABLE suspects AS SELECT {raw}, f.rid FROM {again} r "
        "POSITIONAL JOIN (SELECT rowid AS rid, _ok FROM checked) f WHERE NOT f._ok"
    )


def after_csv_read(con: duckdb.DuckDBPyConnection, read: CsvRead, main: Tally, rejects: Any) -> None:
    """Once `checked` is built from a CSV: reject malformed records, queue skipped rows for the validator."""
    src = read.src
    names = [raw_name(src, c) for c in src.columns]
    errs = con.execute(
        "SELECT line, any_value(error_type), any_value(csv_line) FROM reject_errors "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    if any(e[1] == "INVALID ENCODING" for e in errs):
        raise_decode(src.path, src.encoding, src.explicit_encoding)
    first = src.first_row
    blanks = _blank_lines(con, read, len(errs))
    blanks = [b for b in blanks if b >= first]
    pad = src.pad_short_records  # records with too few fields: padded, or malformed
    short = [(int(e[0]), (e[2] or "").strip("\r\n")) for e in errs if pad and e[1] == "MISSING COLUMNS"]
    bad = [(int(e[0]), (e[2] or "").strip("\r\n")) for e in errs if not (pad and e[1] == "MISSING COLUMNS")]
    if bad and src.on_malformed == "error":
        line, text = bad[0]
        n = len(split_record(text, src.sep))
        raise InputError(
            f"malformed CSV record: Expected {len(names)} fields in line {line}, saw {n} "
            "(--on-malformed error)",
            path=src.label,
            row=line,
        )
    if bad:
        main.rows_in += len(bad)
        rejects.held.append(malformed_rejects(bad, len(names)))
    skips = sorted(set(blanks) | {s[0] for s in short} | {b[0] for b in bad})
    # line of the k-th record DuckDB kept = first + k + (skipped lines before it)
    adj = [(r - first - i, i + 1) for i, r in enumerate(skips)]
    if adj:
        con.executemany("INSERT INTO skips VALUES (?, ?)", adj)
    extra = [(b, [None] * len(names)) for b in blanks]
    for line, text in short:
        vals = split_record(text, src.sep)
        vals = [None if v in NA_VALUES else v for v in vals]
        extra.append((line, vals + [None] * (len(names) - len(vals))))
    if extra:
        con.executemany(
            f"INSERT INTO extra_raw VALUES ({', '.join('?' * (len(names) + 1))})",
            [[*vals, line] for line, vals in extra],
        )


def _blank_lines(con: duckdb.DuckDBPyConnection, read: CsvRead, n_errors: int) -> list[int]:
    """Blank lines, which DuckDB's reader skips without a word. When every physical line is the
    header, a record DuckDB read or a line it rejected, there is none, and the slow search for
    them is skipped (a record spanning lines or a lone CR also makes the counts differ, and then
    the search runs)."""
    scan, src = read.scan, read.src
    n_read = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
    one_byte_lf = _ENCODINGS.get(src.encoding.lower()) in ("utf-8", "latin-1")
    if one_byte_lf and not scan.lone_cr and scan.lines == int(src.header) + n_read + n_errors:
        return []
    return blank_lines(src.path)


def _parquet_view(con: duckdb.DuckDBPyConnection, src: ParquetSource) -> str:
    files, rows = src.files, src.rows
    offs = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
    con.register("offsets_df", pd.DataFrame({"filename": [str(f) for f in files], "off": offs}))
    con.execute("CREATE TABLE file_offsets AS SELECT * FROM offsets_df")
    con.unregister("offsets_df")
    cols = ", ".join(ident(c) for c in src.columns)
    return (
        f"(SELECT {cols}, p.file_row_number + 1 + o.off AS {ident(LINE)} "
        f"FROM {_read_parquet(src, 'filename = true, file_row_number = true, ')} p "
        "JOIN file_offsets o USING (filename))"
    )


def unlined_sql(src: Source, lined: str) -> str:
    """The input without line numbers, for the clean rows' aggregation: a Parquet scan without the
    file-name join that numbering needs (that join was a tenth of the ingest's time)."""
    if not isinstance(src, ParquetSource) or lined == "raw":
        return lined
    return f"(SELECT {', '.join(ident(c) for c in src.columns)} FROM {_read_parquet(src, '')})"


def _read_parquet(src: ParquetSource, extra: str) -> str:
    flist = "[" + ", ".join(lit(str(f)) for f in src.files) + "]"
    hive = lit(src.root is not None)
    return (
        f"read_parquet({flist}, {extra}hive_partitioning = {hive}, "
        "hive_types_autocast = false, union_by_name = true)"
    )


def _chunks_table(con: duckdb.DuckDBPyConnection, src: Source, main: Tally, rejects: Any) -> None:
    """Encodings or delimiters DuckDB's reader does not take: pandas reads, DuckDB does the rest."""
    made = False
    for chunk in src.chunks():
        bad = chunk.attrs.get(MALFORMED)
        if bad:
            main.rows_in += len(bad)
            rejects.held.append(malformed_rejects(bad, len(src.columns)))
        df = chunk.astype({c: object for c in src.columns}).where(chunk.notna(), None)
        df.columns = [raw_name(src, c) for c in src.columns] + [LINE]
        tbl = pa.Table.from_pandas(
            df,
            preserve_index=False,
            schema=pa.schema([(c, pa.string()) for c in df.columns[:-1]] + [(LINE, pa.int64())]),
        )
        con.register("chunk", tbl)
        con.execute(
            "INSERT INTO raw SELECT * FROM chunk" if made else "CREATE TABLE raw AS SELECT * FROM chunk"
        )
        con.unregister("chunk")
        made = True
    if not made:
        cols = ", ".join(f"{ident(raw_name(src, c))} VARCHAR" for c in src.columns)
        con.execute(f"CREATE TABLE raw ({cols}, {ident(LINE)} BIGINT)")
