"""The executors of a cleaning `Plan`: one plan, three executors.

- `pandas/`: streaming over chunks (the reference: its checks decide every row the SQL executors
  cannot vouch for);
- `duckdb/`: the plan as DuckDB SQL over CSV/Parquet files, folders and globs (default for files);
- `pushdown/`: the plan as SQLAlchemy Core inside the source database (default for SQL sources).

Each holds `run.py` (the executor's entry point), `checks.py` (the plan's checks in its language)
and its output (`write.py`; pandas: `aggregate.py` and `run.py`). `api.ingest` picks one.
"""

from __future__ import annotations

from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import RejectsWriter
from synthdata.ingest.sources import Source, SqlSource


def execute(src: Source, plan: Plan, engine: str, writer: RejectsWriter) -> tuple[Outcome, str]:
    """Pick the executor: DuckDB for files, push-down for databases, streaming when asked."""
    if engine == "pandas":
        from synthdata.ingest.executors.pandas.run import run_streaming

        return run_streaming(src, plan, plan.out.parent, writer), "pandas"
    if isinstance(src, SqlSource):
        from synthdata.ingest.executors.pushdown.run import run_pushdown

        return run_pushdown(src, plan, writer)
    from synthdata.ingest.executors.duckdb.run import run_duckdb

    return run_duckdb(src, plan, writer), "duckdb"
