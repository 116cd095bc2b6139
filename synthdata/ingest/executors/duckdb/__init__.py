"""The DuckDB executor: run, read (the input as DuckDB sees it), checks, dedup, write."""
