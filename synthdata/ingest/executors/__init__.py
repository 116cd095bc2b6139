"""The executors of a cleaning `Plan`: one plan, three executors.

- `pandas/`: streaming over chunks (the reference: its checks decide every row the SQL executors
  cannot vouch for);
- `duckdb/`: the plan as DuckDB SQL over CSV/Parquet files, folders and globs (default for files);
- `pushdown/`: the plan as SQLAlchemy Core inside the source database (default for SQL sources).

Each holds `run.py` (the executor's entry point), `checks.py` (the plan's checks in its language)
and its output (`write.py`; pandas: `aggregate.py` and `run.py`). `api.ingest` picks one.
"""
