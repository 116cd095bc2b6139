"""`synthdata` console script.

Each command lives in its own module (ingest, train, evaluate, runs, export, run...) and registers
on the shared Typer `app`. `main` turns expected failures into one clear line and an exit code:
0 success, 1 other failure, 2 bad config/input, 3 gate failed.
"""

from __future__ import annotations

import importlib
import os
import sys

from synthdata.cli.app import app
from synthdata.errors import SynthdataError

# Command modules, imported for their side effect of registering commands on `app`.
_COMMAND_MODULES: list[str] = [
    "synthdata.cli.ingest",
    "synthdata.cli.train",
    "synthdata.cli.demo",
    "synthdata.cli.split",
    "synthdata.cli.evaluate",
    "synthdata.cli.export",
    "synthdata.cli.runs",
    "synthdata.cli.run",
]


# Errors about a path the user gave (exit 2, bad input); other OS errors (disk full...) exit 1.
USER_PATH_ERRORS = (
    PermissionError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    FileExistsError,
)


def os_error_line(e: OSError) -> str:
    """One line naming the file: ``cannot write /x/y: Read-only file system``."""
    from synthdata.db import mask_text

    what = e.strerror or type(e).__name__
    files = [str(f) for f in (e.filename, e.filename2) if f is not None]
    return mask_text(f"{what}: {' -> '.join(files)}" if files else f"{what} ({e})")


def _register() -> None:
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if not sys.stdout.isatty():
        # Piped or logged output (nightly jobs): rich would assume 80 columns and wrap the tables.
        os.environ.setdefault("COLUMNS", "160")
    from synthdata.log import setup_logging

    setup_logging(os.environ.get("SYNTHDATA_LOG_LEVEL", "INFO"))
    _register()
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True)
    try:
        # Standalone mode: Typer/Click handle --help, usage errors (exit 2) and Ctrl-C themselves
        # and exit; our expected failures propagate here and become one line + their exit code.
        app(args=argv)
    except SynthdataError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except OSError as e:  # an unwritable or vanished path the command did not check itself
        err.print(f"[bold red]error:[/] {escape(os_error_line(e))}", highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(e, USER_PATH_ERRORS) else 1)
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        sys.exit(130)
