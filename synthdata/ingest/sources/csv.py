"""CSV/TSV reading for the streaming (pandas) executor, and what both executors share about CSV:
sniffing the delimiter and header, locating undecodable bytes, finding NUL bytes and blank lines,
and turning malformed records (wrong number of fields) into quarantined rejects.

Line numbers count the header line and one record per line, as the rejects file reports them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import mmap
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.sources import LINE, NA_VALUES, NUL_MARK, Source

MALFORMED = "_malformed"  # DataFrame.attrs key: [(line, raw text)] of records skipped in this chunk
ON_MALFORMED = ("quarantine", "error")


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


@dataclass(frozen=True)
class ByteScan:
    """What one fast pass over a CSV file's bytes tells: NUL bytes, and how many physical lines it
    has (`lines`; `lone_cr`: a CR not followed by LF, which a CSV reader may also take as a line
    break). Only single-byte searches: a two-byte search such as `\n\n` is slow where `\n` is
    frequent, so blank lines are looked for (`blank_lines`) only when the line count says so."""

    has_nul: bool
    lines: int
    lone_cr: bool


def scan_bytes(path: Path) -> ByteScan:
    """One pass over the file, memory-mapped: `find` for NUL and CR bytes, numpy counts of LF."""
    size = Path(path).stat().st_size
    if size == 0:
        return ByteScan(False, 0, False)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        has_nul = mm.find(b"\x00") >= 0
        has_cr = mm.find(b"\r") >= 0
        a = np.frombuffer(mm, np.uint8)
        newlines = cr = crlf = 0
        for at in range(0, size, 1 << 24):
            part = a[at : at + (1 << 24) + 1]  # one byte of overlap: a CR at a block's end
            newlines += int(np.count_nonzero(part[: 1 << 24] == 10))
            if has_cr:
                is_cr = part[: 1 << 24] == 13
                cr += int(np.count_nonzero(is_cr))
                crlf += int(np.count_nonzero(is_cr[: len(part) - 1] & (part[1:] == 10)))
        last = int(a[-1])
        del a, part  # the mapping closes only once no array views it
    return ByteScan(has_nul, newlines + (last != 10), cr != crlf)


def blank_lines(path: Path) -> list[int]:
    """1-based numbers of blank lines. One pass over the bytes, in blocks."""
    blanks, line, carry = [], 1, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            data = carry + block
            if b"\n\n" in data or b"\n\r\n" in data:
                base = line - 1 if carry == b"\n" else line
                blanks += [
                    base + data.count(b"\n", 0, m.start()) + 1 for m in re.finditer(rb"\n(?=\r?\n)", data)
                ]
            line += block.count(b"\n")
            carry = block[-1:]
    return blanks


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
            "on_malformed": on_malformed,
            "pad_short_records": pad_short_records,
        },
    )


def _raise_decode(path: Path, enc: str, explicit: str | None) -> None:
    off, line = _locate_decode_error(path, enc)
    hint = "" if explicit else "; pass --encoding (e.g. latin-1) or set csv.encoding in the schema"
    raise InputError(f"cannot decode bytes as {enc} at byte offset {off}{hint}", path=str(path), row=line)


def raw_lines(path: Path, encoding: str, lines: list[int]) -> dict[int, str]:
    """Text of the given 1-based physical lines (few: malformed records), without the newline."""
    want, out = set(lines), {}
    if not want:
        return out
    last = max(want)
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        for i, text in enumerate(f, start=1):
            if i in want:
                out[i] = text.rstrip("\r\n").replace("\x00", "\\0")
            if i >= last:
                break
    return out


def malformed_rejects(records: list[tuple[int, str]], n_fields: int) -> pd.DataFrame:
    """Reject rows for records with the wrong number of fields: raw text kept, file goes on."""
    return pd.DataFrame(
        {
            "line": pd.Series([r[0] for r in records], dtype="int64"),
            "column": [None] * len(records),
            "reason": ["malformed_record"] * len(records),
            "value": [f"expected {n_fields} fields"] * len(records),
            "raw": [json.dumps({"_record": r[1]}, ensure_ascii=False) for r in records],
        }
    )


def with_malformed(rejects: pd.DataFrame, records: list[tuple[int, str]] | None, n: int) -> pd.DataFrame:
    """`rejects` with the malformed `records` of the same chunk (`n` fields expected), in line order."""
    if not records:
        return rejects
    both = pd.concat([malformed_rejects(records, n), rejects], ignore_index=True)
    return both.sort_values("line", kind="stable")


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


def split_record(text: str, sep: str) -> list[str]:
    """Fields of one record's text (quotes as pandas reads them; a longer `sep` is a regex)."""
    if len(sep) != 1:
        return re.split(sep, text) if text else []
    return next(csv.reader([text], delimiter=sep), [])


def _same_field(field: str, value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return field in NA_VALUES
    return str(value) == field.replace("\x00", NUL_MARK) or str(value) == field


def _read_chunks(o: dict[str, Any], handle: Any, names: list | None, size: int, quarantine: bool) -> Any:
    """pandas' chunked reader of the CSV (it decodes and parses the first chunk when made)."""
    return pd.read_csv(
        handle,
        sep=o["sep"],
        header=0 if o["header"] else None,
        names=names,
        dtype=str,
        # never an index: with a first record one field longer than the header, pandas would
        # otherwise take the first column as the index and shift every column by one
        index_col=False,
        encoding=o["encoding"],
        keep_default_na=False,
        na_values=NA_VALUES,
        chunksize=size,
        skip_blank_lines=False,
        engine="c" if len(o["sep"]) == 1 else "python",
        on_bad_lines="warn" if quarantine else "error",
    )


def _malformed_stop(src: Source, line: int, text: str, n_fields: int) -> InputError:
    n = len(split_record(text, src._opts["sep"]))
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


def _csv_chunks(src: Source) -> Iterator[pd.DataFrame]:
    o = src._opts
    header = o["header"]
    names = o["names"] if o["names"] is not None else (None if header else src.columns)
    has_nul = scan_bytes(o["path"]).has_nul if o.get("has_nul") is None else o["has_nul"]
    quarantine = o.get("on_malformed", "quarantine") == "quarantine"
    pad = bool(o.get("pad_short_records"))
    handle: Any = _NulMarker(o["path"], o["encoding"]) if has_nul else o["path"]
    cursor = _LineCursor(o["path"], o["encoding"])
    start = 2 if header else 1
    try:
        it = iter(_read_chunks(o, handle, names, src.chunk_size, quarantine))
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
            text = raw_lines(o["path"], o["encoding"], bad) if bad else {}
            records = [(n, text.get(n, "")) for n in bad]
            short = [] if pad else _short_records(chunk, cursor, o["sep"])
            if short and not quarantine:
                raise _malformed_stop(src, short[0][0], short[0][1], len(chunk.columns) - 1)
            if short:
                chunk = chunk[~chunk[LINE].isin([r[0] for r in short])].reset_index(drop=True)
            if records or short:
                chunk.attrs[MALFORMED] = sorted([*records, *short])
            yield chunk
    except UnicodeDecodeError:
        _raise_decode(o["path"], o["encoding"], o["explicit_encoding"])
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
