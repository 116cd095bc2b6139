"""The rules every executor applies: reason codes (stable, in the order a row's problems are
looked for) and the fixed bounds the checks use.

Each executor implements the checks: `executors/pandas/checks.py` (the reference: every row an
SQL executor cannot vouch for is decided there), `executors/duckdb/checks.py` (DuckDB SQL) and
`executors/pushdown/checks.py` (SQLAlchemy Core, run in the source database).
"""

from __future__ import annotations

import pandas as pd

# Stable reason codes (documented in README "Ingest"); never rename, only add.
MISSING_ID = "missing_id"  # user or item id empty
MISSING_VALUE = "missing_value"  # a non-nullable column is empty
BAD_TYPE = "bad_type"  # value does not parse as the declared dtype
OUT_OF_RANGE = "out_of_range"  # outside [min, max]; negative counts; time before 1990 or in the future
NOT_ALLOWED = "not_allowed"  # not in the column's `allowed` list
UNKNOWN_EVENT_TYPE = "unknown_event_type"  # event type not in schema.event_types
ATTRIBUTE_CONFLICT = "attribute_conflict"  # contradicts the value kept for that user/item
CONSTRAINT_VIOLATION = "constraint_violation"  # breaks a schema constraint (low > high)
DUPLICATE = "duplicate"  # exact duplicate row: merged (counted in rows_merged), never in rejects
NUL_BYTE = "nul_byte"  # a field holds a NUL byte (never truncated at it)
BAD_TIMESTAMP = "bad_timestamp"  # a date/time outside what can be stored (year 1600, 3000, infinity)
MALFORMED_RECORD = "malformed_record"  # a CSV record with the wrong number of fields (raw text kept)
REASONS = (
    MALFORMED_RECORD,
    NUL_BYTE,
    MISSING_ID,
    MISSING_VALUE,
    BAD_TYPE,
    BAD_TIMESTAMP,
    OUT_OF_RANGE,
    NOT_ALLOWED,
    UNKNOWN_EVENT_TYPE,
    ATTRIBUTE_CONFLICT,
    CONSTRAINT_VIOLATION,
)

MIN_TIME = pd.Timestamp("1990-01-01", tz="UTC")
