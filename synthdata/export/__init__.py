"""Export a table (synthetic Parquet or a DataFrame) into PostgreSQL or SQLite, all or nothing.

Why it is built this way:
- **Atomic.** Everything happens in ONE database transaction: create a staging table, stream the
  rows into it, verify the row count, then swap it in (``replace``: drop old + rename staging;
  ``fail``: rename; ``append``: ``INSERT ... SELECT``). Both PostgreSQL and SQLite have
  transactional DDL, so an error, or the process being killed at any point, rolls everything back:
  the target is exactly as it was and no staging table is left behind. Readers of the target are
  not blocked while rows stream in; they only wait for the brief swap at commit.
- **Fast.** PostgreSQL gets ``COPY ... FROM STDIN`` fed by pyarrow's C++ CSV writer, one Parquet
  row group batch at a time (``iter_batches``), so memory stays bounded by `chunk_size`. SQLite gets
  ``executemany`` in chunks inside the same single transaction.
- **Safe names.** Table and column names must match `IDENTIFIER_RE` (optionally ``schema.table``)
  and are then quoted by the dialect's identifier preparer; ``x; DROP TABLE y`` is refused.
- **Checked first.** Options, the driver, identifier lengths (per dialect) and, for ``replace``,
  objects that depend on the target (views, foreign keys: dropping the table would break them) are
  checked before a single row is streamed.
- **The target file is the user's.** A SQLite target keeps its journal mode (the registry's WAL
  setting is not applied to export targets).
- **No secrets.** Only masked URLs are logged or put in errors.
"""

from synthdata.export.base import (
    BACKENDS,
    DEFAULT_CHUNK_SIZE,
    IF_EXISTS,
    STALL_ENV,
    ExportError,
    ExportResult,
    IfExists,
)
from synthdata.export.rows import RowSource
from synthdata.export.table import check_options, dependents, export_table, read_table

__all__ = [
    "BACKENDS",
    "DEFAULT_CHUNK_SIZE",
    "IF_EXISTS",
    "STALL_ENV",
    "ExportError",
    "ExportResult",
    "IfExists",
    "RowSource",
    "check_options",
    "dependents",
    "export_table",
    "read_table",
]
