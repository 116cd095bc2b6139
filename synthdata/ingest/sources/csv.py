"""CSV/TSV sources: `CsvSource`, read in chunks by pandas (the streaming executor's reader, and the
DuckDB executor's for encodings and delimiters DuckDB's reader does not take).

Records with the wrong number of fields become malformed-record rejects (or stop the ingest with
`--on-malformed error`); a NUL byte is kept in its field, never cut at. What is learnt from the
bytes without parsing (sniffing, NUL bytes, blank lines, undecodable bytes) is in `csvtext.py`.
Line numbers count the header line and one record per line, as the rejects file reports them.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.sources.base import LINE, NA_VALUES, NUL_MARK, Source
from synthdata.ingest.sources.csvtext import (
    MALFORMED,
    raise_decode,
    raw_lines,
    scan_bytes,
    sniff_csv,
    split_record,
)


@dataclass
class CsvSource(Source):
    """A delimited text file: `sep` (one character, or a regex), whether line 1 is a `header`, the
    column `names` given by the layout (None: from the header, or positions), the `encoding` used and
    the one the user gave (`explicit_encoding`, None: guessed), and what to do with malformed records."""

    path: Path
    sep: str
    header: bool
    names: list[str] | None
    encoding: str
    explicit_encoding: str | None
    on_malformed: str = "quarantine"
    pad_short_records: bool = False

    raw_text: ClassVar[bool] = True

    @property
    def header_line(self) -> int | None:
        return 1 if self.header else None

    @property
    def first_row(self) -> int:
        return 2 if self.header else 1

    def chunks(self) -> Iterator[pd.DataFrame]:
        return _csv_chunks(self)


class _NulMarker(io.TextIOBase):
    """Text stream that replaces NUL with NUL_MARK so pandas keeps the whole field (it is
    then rejected as `nul_byte`, never truncated)."""

    def __init__(self, path: Path, encoding: str) -> None:
        self._f = open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed in close()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        return self._f.read(size).replace("\x00", NUL_MARK)

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return self._f.readline(size).replace("\x00", NUL_MARK)

    def close(self) -> None:
        self._f.close()
        super().close()


def open_csv(
    path: Path,
    *,
    sep: str | None = None,
    header: bool | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
    chunk_size: int = 200_000,
    on_malformed: str = "quarantine",
    pad_short_records: bool = False,
) -> CsvSource:
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
        raise_decode(path, enc, encoding)
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
    return CsvSource(
        label=str(path),
        columns=columns,
        chunk_size=chunk_size,
        path=path,
        sep=sep,
        header=bool(header),
        names=names,
        encoding=enc,
        explicit_encoding=encoding,
        on_malformed=on_malformed,
        pad_short_records=pad_short_records,
    )


_LONG_FIRST = "Length of header or names does not match length of data"


class _LineCursor:
    """Reads a file's physical lines forward only, opened at the first request: the text of the
    few records that need a second look, in one pass however many chunks ask."""

    def __init__(self, path: Path, encoding: str) -> None:
        self._path, self._encoding = path, encoding
        self._f: Any = None
        self._line = 0

    def texts(self, lines: list[int]) -> dict[int, str]:
        """Text of the given 1-based lines (ascending, past every line asked before)."""
        if self._f is None:
            self._f = open(self._path, encoding=self._encoding, errors="replace", newline="")  # noqa: SIM115
        out: dict[int, str] = {}
        for want in lines:
            text = ""
            while self._line < want:
                text = self._f.readline()
                self._line += 1
                if not text:
                    self._line = want
                    break
            out[want] = text.rstrip("\r\n")
        return out

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def _short_records(chunk: pd.DataFrame, cursor: _LineCursor, sep: str) -> list[tuple[int, str]]:
    """(line, text) of the rows in `chunk` that pandas padded: records with fewer fields than the
    header. Only rows whose last field is empty can be one; their line's text is parsed again and
    must agree with the row (a quoted line break shifts pandas' numbering: then nothing is found)."""
    data = chunk.drop(columns=[LINE])
    n = len(data.columns)
    if n < 2 or len(chunk) == 0:
        return []
    maybe = data.iloc[:, -1].isna().to_numpy()
    if not maybe.any():
        return []
    rows = chunk.loc[maybe]
    texts = cursor.texts([int(x) for x in rows[LINE]])
    found = []
    for values, line in zip(rows.drop(columns=[LINE]).itertuples(index=False), rows[LINE], strict=True):
        text = texts[int(line)]
        fields = split_record(text, sep)
        if 0 < len(fields) < n and all(_same_field(f, v) for f, v in zip(fields, values, strict=False)):
            found.append((int(line), text.replace("\x00", "\\0")))
    return found


def _same_field(field: str, value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return field in NA_VALUES
    return str(value) == field.replace("\x00", NUL_MARK) or str(value) == field


def _read_chunks(src: CsvSource, handle: Any, names: list | None, quarantine: bool) -> Any:
    """pandas' chunked reader of the CSV (it decodes and parses the first chunk when made)."""
    return pd.read_csv(
        handle,
        sep=src.sep,
        header=0 if src.header else None,
        names=names,
        dtype=str,
        # never an index: with a first record one field longer than the header, pandas would
        # otherwise take the first column as the index and shift every column by one
        index_col=False,
        encoding=src.encoding,
        keep_default_na=False,
        na_values=NA_VALUES,
        chunksize=src.chunk_size,
        skip_blank_lines=False,
        engine="c" if len(src.sep) == 1 else "python",
        on_bad_lines="warn" if quarantine else "error",
    )


def _malformed_stop(src: CsvSource, line: int, text: str, n_fields: int) -> InputError:
    n = len(split_record(text, src.sep))
    return InputError(
        f"malformed CSV record: Expected {n_fields} fields in line {line}, saw {n} (--on-malformed error)",
        path=src.label,
        row=line,
    )


def _next_chunk(it: Any) -> tuple[pd.DataFrame | None, list[int], bool]:
    """(chunk or None at the end, lines pandas skipped as too long, whether the first record was
    too long: pandas then keeps it cut short, with index_col=False)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            chunk = next(it)
        except StopIteration:
            return None, [], False
    bad = sorted(int(m.group(1)) for w in caught for m in re.finditer(r"Skipping line (\d+)", str(w.message)))
    long_first = any(str(w.message).startswith(_LONG_FIRST) for w in caught) and len(chunk) > 0
    return chunk, bad, long_first


def _csv_chunks(src: CsvSource) -> Iterator[pd.DataFrame]:
    names = src.names if src.names is not None else (None if src.header else src.columns)
    has_nul = scan_bytes(src.path).has_nul
    quarantine = src.on_malformed == "quarantine"
    handle: Any = _NulMarker(src.path, src.encoding) if has_nul else src.path
    cursor = _LineCursor(src.path, src.encoding)
    start = src.first_row
    try:
        it = iter(_read_chunks(src, handle, names, quarantine))
        while True:
            chunk, bad, long_first = _next_chunk(it)
            if chunk is None:
                break
            if long_first:
                if not quarantine:
                    raise _malformed_stop(src, start, cursor.texts([start])[start], len(chunk.columns))
                chunk = chunk.iloc[1:].reset_index(drop=True)
                bad = sorted([*bad, start])
            slots = range(start, start + len(chunk) + len(bad))
            lines = [n for n in slots if n not in set(bad)] if bad else slots
            chunk.insert(len(chunk.columns), LINE, lines)
            start += len(chunk) + len(bad)
            text = raw_lines(src.path, src.encoding, bad) if bad else {}
            records = [(n, text.get(n, "")) for n in bad]
            short = [] if src.pad_short_records else _short_records(chunk, cursor, src.sep)
            if short and not quarantine:
                raise _malformed_stop(src, short[0][0], short[0][1], len(chunk.columns) - 1)
            if short:
                chunk = chunk[~chunk[LINE].isin([r[0] for r in short])].reset_index(drop=True)
            if records or short:
                chunk.attrs[MALFORMED] = sorted([*records, *short])
            yield chunk
    except UnicodeDecodeError:
        raise_decode(src.path, src.encoding, src.explicit_encoding)
    except pd.errors.ParserError as e:
        m = re.search(r"line (\d+)", str(e))
        raise InputError(
            f"malformed CSV record: {str(e).splitlines()[0]} (--on-malformed error)",
            path=src.label,
            row=int(m.group(1)) if m else None,
        ) from None
    finally:
        cursor.close()
        if has_nul:
            handle.close()
