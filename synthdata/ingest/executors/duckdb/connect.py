"""A DuckDB connection for one ingest: UTC, no progress bar, spilling to a temp folder beside the
output, `--threads`, and the part of `--memory-limit` left to DuckDB."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from synthdata.ingest.executors.duckdb.render import lit
from synthdata.ingest.plan import Plan


def connect(plan: Plan, tmp: Path, ordered: bool = True) -> duckdb.DuckDBPyConnection:
    """`ordered`: keep the reader's row order (CSV line numbers come from it); Parquet rows carry
    their own numbers, and unordered scans need less memory."""
    con = duckdb.connect(config={"preserve_insertion_order": ordered})
    con.execute("SET TimeZone = 'UTC'")
    # A batch job's log, not a terminal. Under Jupyter the bar starts off and DuckDB refuses to touch
    # the setting at all without ipywidgets (the quickstart notebook's test caught it), so set it only
    # when it is on.
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (True,):
        con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = {lit(str(tmp))}")
    if plan.settings.get("threads"):
        con.execute(f"SET threads = {int(plan.settings['threads'])}")
    if plan.settings.get("memory_limit"):
        con.execute(f"SET memory_limit = {lit(duckdb_budget(plan.settings['memory_limit']))}")
    return con


_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
RESERVE = 192 * 2**20  # Arrow batches on their way to the Parquet writer, pandas for suspects


def limit_bytes(limit: str | None) -> int:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$", limit or "")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else 0


def duckdb_budget(limit: str) -> str:
    """`--memory-limit` bounds the whole ingest process: DuckDB gets what is left after the Python
    process (interpreter, pandas, pyarrow: ~250 MB) and a reserve for batches in flight."""
    total = limit_bytes(limit)
    try:
        rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        rss = 300 * 2**20
    return f"{max(total - rss - RESERVE, total // 4) // 2**20}MiB"
