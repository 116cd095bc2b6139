"""CSV below the parser, shared by the pandas reader (`sources/csv.py`) and DuckDB's
(`executors/duckdb/read.py`): sniffing the delimiter and header, one fast scan of the bytes (NUL
bytes, physical lines), blank lines, the place of undecodable bytes, the text of given lines and
malformed records (wrong number of fields) turned into quarantined rejects.

Line numbers count the header line and one record per line, as the rejects file reports them.
"""

from __future__ import annotations

import codecs
import csv
import json
import mmap
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from synthdata.errors import InputError

MALFORMED = "_malformed"  # DataFrame.attrs key: [(line, raw text)] of records skipped in this chunk


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


def locate_decode_error(path: Path, encoding: str) -> tuple[int, int]:
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


def raise_decode(path: Path, enc: str, explicit: str | None) -> NoReturn:
    off, line = locate_decode_error(path, enc)
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


def split_record(text: str, sep: str) -> list[str]:
    """Fields of one record's text (quotes as pandas reads them; a longer `sep` is a regex)."""
    if len(sep) != 1:
        return re.split(sep, text) if text else []
    return next(csv.reader([text], delimiter=sep), [])
