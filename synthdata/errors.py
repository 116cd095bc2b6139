"""Errors users see. Each carries an exit code so unattended jobs can branch on it.

Exit codes (the CLI contract): 0 success, 1 other failure, 2 bad config or input, 3 gate failed,
4 nothing to do (`run --skip-unchanged`: not an error, see `EXIT_SKIPPED`), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

# `run --skip-unchanged` found this run date already processed from the same source and config. A
# code of its own so a scheduler can mark the task skipped (Airflow: BashOperator skip_on_exit_code=4).
EXIT_SKIPPED = 4


class SynthdataError(Exception):
    """Base class: an expected failure with a one-line, human-readable message (no traceback)."""

    exit_code: int = 1


class InputError(SynthdataError):
    """Structural problem with an input: missing file, missing column, empty input, bad bytes.

    The message names the file, and where known the column and row, so a user can fix the input.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.path, self.column, self.row = path, column, row
        where = []
        if path is not None:
            where.append(f"file {path}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class ConfigError(SynthdataError):
    """A config or schema file is invalid; the message names the bad key."""

    exit_code = 2


class Terminated(SynthdataError):
    """SIGTERM (scheduler timeout, container stop): the run is recorded as failed, resumable."""

    exit_code = 143


class GateFailed(SynthdataError):
    """A quality gate failed: the pipeline stops before export."""

    exit_code = 3


# Errors about a path the user gave (exit 2, bad input); other OS errors (disk full...) exit 1.
USER_PATH_ERRORS = (
    PermissionError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    FileExistsError,
)


def os_error_line(e: OSError) -> str:
    """One line naming the file(s), e.g. ``Read-only file system: /mnt/ro/out.html``."""
    from synthdata.masking import mask_text

    what = e.strerror or type(e).__name__
    files = [str(f) for f in (e.filename, e.filename2) if f is not None]
    return mask_text(f"{what}: {' -> '.join(files)}" if files else f"{what} ({e})")
