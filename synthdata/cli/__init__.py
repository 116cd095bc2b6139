"""`synthdata` console script.

Each command lives in its own module (ingest, train, evaluate, runs, export, run...) and registers
on the shared Typer `app`. `main` turns expected failures into one clear line and an exit code:
0 success, 1 other failure, 2 bad config/input, 3 gate failed, 4 nothing to do (`run --skip-unchanged`
found the run date already processed from the same source and config; `synthdata.errors.EXIT_SKIPPED`).
"""

from __future__ import annotations

import importlib
import os
import sys

from synthdata.cli.app import app
from synthdata.errors import USER_PATH_ERRORS, SynthdataError, os_error_line

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
    "synthdata.cli.tune",
]


# Commands whose start-up matters (sampling from a model): only their module is imported.
_FAST_COMMANDS: dict[str, str] = {"generate": "synthdata.cli.train"}


def _register(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in _FAST_COMMANDS:
        importlib.import_module(_FAST_COMMANDS[args[0]])
        return
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if not sys.stdout.isatty():
        # Piped or logged output (nightly jobs): rich would assume 80 columns and wrap the tables.
        os.environ.setdefault("COLUMNS", "160")
    from rich.console import Console
    from rich.markup import escape

    from synthdata.log import setup_logging

    err = Console(stderr=True)
    try:
        setup_logging()  # at $SYNTHDATA_LOG_LEVEL; a bad name is a one-line error, exit 2
    except SynthdataError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    _register(argv)
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
