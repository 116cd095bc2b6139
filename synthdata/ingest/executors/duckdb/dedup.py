"""Exact-duplicate removal for the DuckDB executor, by fingerprint where memory allows.

Exact duplicates are rare in event logs, yet `SELECT DISTINCT` over every column builds a hash
table of every row, a large share of the ingest (benchmarks/ingest_scale.py; benchmarks/results/).
Instead DuckDB computes one 64-bit `hash()` per clean row (a streamed column), numpy sorts them (a
vectorised sort) and finds the values seen more than once. Rows with a unique fingerprint cannot
have an equal row (equal rows hash equally); only rows whose fingerprint repeats, true duplicates
and the rare collisions of distinct rows, go through DuckDB's exact `DISTINCT`. The result is the
`DISTINCT` result, row for row.

The fingerprints are held in memory (8 bytes a row), so this runs only while they fit in an eighth
of `--memory-limit` (without one, a sixteenth of physical memory); bigger inputs use `DISTINCT`,
which spills.
"""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pandas as pd

BATCH = 1 << 20


def fingerprint_budget(memory_limit_bytes: int | None) -> int:
    """The most rows whose fingerprints this ingest may hold."""
    if memory_limit_bytes:
        return memory_limit_bytes // 8 // 8
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        physical = 8 * 2**30
    return physical // 16 // 8


class Fingerprints:
    """Collects fingerprints (uint64) from queries returning one hash column, NULL for rows that
    are not clean (counted as `missing`)."""

    def __init__(self, expected: int) -> None:
        self.values = np.empty(max(expected, 0), np.uint64)
        self.n = 0
        self.missing = 0

    def add(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        for batch in con.cursor().sql(sql).to_arrow_reader(BATCH):
            col = batch.column(0)
            self.missing += col.null_count
            vals = col.drop_null().to_numpy(zero_copy_only=False).astype(np.uint64, copy=False)
            if self.n + len(vals) > len(self.values):
                self.values = np.resize(self.values, max(2 * len(self.values), self.n + len(vals)))
            self.values[self.n : self.n + len(vals)] = vals
            self.n += len(vals)

    def repeated(self) -> np.ndarray:
        """Fingerprints seen more than once (sorted, unique). Frees the collected values."""
        v = self.values[: self.n]
        v.sort()
        same = v[1:] == v[:-1]
        out = np.unique(v[1:][same]) if same.any() else v[:0].copy()
        self.values, self.n = np.empty(0, np.uint64), 0
        return out


def dedup_sql(con: duckdb.DuckDBPyConnection, rows: str, key: str, repeated: np.ndarray) -> str:
    """SQL of `SELECT DISTINCT {key} FROM ({rows})`, given the repeated fingerprints of `rows`."""
    if not len(repeated):
        return f"SELECT {key} FROM ({rows})"
    con.register("repeated_df", pd.DataFrame({"h": repeated}))
    con.execute("CREATE TABLE repeated_fp AS SELECT CAST(h AS UBIGINT) AS h FROM repeated_df")
    con.unregister("repeated_df")
    fp = f"hash({key})"
    return (
        f"SELECT {key} FROM ({rows}) WHERE {fp} NOT IN (SELECT h FROM repeated_fp) "
        f"UNION ALL SELECT DISTINCT {key} FROM ({rows}) WHERE {fp} IN (SELECT h FROM repeated_fp)"
    )
