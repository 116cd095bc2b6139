"""What every source shares: the `Source` base class, the `_line` column and how a source string is
recognised (database URL, glob). Each kind of source is its own class, in its own module:
`CsvSource` (`csv.py`), `ParquetSource` (`parquet.py`) and `SqlSource` (`sql.py`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

LINE = "_line"
NA_VALUES = ["", "null", "NULL", "NaN", "nan", "None", "N/A"]
NUL_MARK = "\ufffe"  # a NUL byte read through pandas' C parser (which would cut the field at NUL)
_SQL_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


def is_sql_url(source: str | Path) -> bool:
    return isinstance(source, str) and bool(_SQL_URL.match(source)) and not source.startswith("file://")


def is_glob(source: str | Path) -> bool:
    return isinstance(source, str) and any(c in source for c in "*?[")


@dataclass
class Source:
    """A readable table. `label` names it in messages and rejects (passwords masked); `columns` are
    its input columns (names, or positions for a header-less file)."""

    label: str
    columns: list[str | int]
    chunk_size: int

    raw_text: ClassVar[bool] = False  # values arrive as text and need parsing (CSV)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """DataFrames of the input columns plus `_line`, in input order."""
        raise NotImplementedError

    @property
    def header_line(self) -> int | None:
        """The line holding the column names, for messages about a missing column (CSV: 1)."""
        return None

    @property
    def first_row(self) -> int:
        """Line of the first data row, for "empty input" messages."""
        return 2

    def close(self) -> None:
        """Release what the source holds open (a database engine)."""
