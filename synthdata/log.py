"""Logging for unattended runs: one structured line per event, on stderr and optionally a file.

`key=value` pairs keep logs grep-able by nightly-job tooling; a terminal gets rich progress bars
(see `progress`) while a pipe or file gets plain periodic lines instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_FMT = "%(asctime)s %(levelname)s %(name)s %(message)s"


LEVEL_ENV = "SYNTHDATA_LOG_LEVEL"


def env_level() -> str:
    """`$SYNTHDATA_LOG_LEVEL` (default INFO, any case); an unknown name is a ConfigError (exit 2)."""
    level = os.environ.get(LEVEL_ENV, "").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        from synthdata.errors import ConfigError

        raise ConfigError(f"{LEVEL_ENV}={level!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return level


def setup_logging(level: str | int | None = None, file: str | Path | None = None) -> None:
    """Log to stderr (and `file`) at `level`, by default `$SYNTHDATA_LOG_LEVEL` (INFO)."""
    root = logging.getLogger("synthdata")
    level = env_level() if level is None else level
    root.setLevel(level)
    root.propagate = False
    for h in list(root.handlers):
        if getattr(h, "_synthdata", False):
            root.removeHandler(h)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    quiet_lightning()
    for h in handlers:
        h.setFormatter(_MaskingFormatter(_FMT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
        h._synthdata = True  # type: ignore[attr-defined]
        root.addHandler(h)


class _MaskingFormatter(logging.Formatter):
    """Last line of defence: no log line (message or traceback) ever shows a database password."""

    _HINTS = ("://", "pass", "pwd", "secret", "token", "key")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        low = text.lower()
        if any(h in low for h in self._HINTS):
            from synthdata.masking import mask_text  # lazy: sqlalchemy is not needed for most lines

            text = mask_text(text)
        return text


class _DropAdverts(logging.Filter):
    """Lightning prints a cloud-logging advert on every fit; it is noise in a nightly job's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def quiet_lightning() -> None:
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, _DropAdverts) for f in lg.filters):
            lg.addFilter(_DropAdverts())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("synthdata") else f"synthdata.{name}")


def kv(**fields: object) -> str:
    """Render fields as `k=v` pairs for structured log lines."""
    return " ".join(f"{k}={v}" for k, v in fields.items())


def is_interactive() -> bool:
    return sys.stderr.isatty()


def progress(it: Iterable[T], total: int | None, desc: str, log: logging.Logger | None = None) -> Iterator[T]:
    """Progress bar on a terminal; plain log lines (about every 10%) when not interactive."""
    if is_interactive():
        from rich.progress import track

        yield from track(it, total=total, description=desc, transient=True)
        return
    log = log or get_logger("progress")
    step = max(1, (total or 10) // 10)
    for i, x in enumerate(it, 1):
        yield x
        if i % step == 0 or (total is not None and i == total):
            log.info(kv(task=desc, done=i, total=total if total is not None else "?"))
