"""What every part of the export shares: its options, errors, result and logger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthdata.errors import SynthdataError
from synthdata.log import get_logger

IfExists = Literal["fail", "replace", "append"]

BACKENDS = ("postgresql", "sqlite")
IF_EXISTS = ("fail", "replace", "append")
DEFAULT_CHUNK_SIZE = 100_000

# Test hook: after this many chunks are written, the export pauses (sleeps) so a test can kill the
# process mid-way and check the target is untouched. Never set it in production.
STALL_ENV = "SYNTHDATA_EXPORT_STALL_AFTER_CHUNKS"

log = get_logger("export")


class ExportError(SynthdataError):
    """The export could not complete; the target table was left unchanged."""


@dataclass(frozen=True)
class ExportResult:
    table: str
    url: str  # masked
    rows: int
    seconds: float
    if_exists: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")
