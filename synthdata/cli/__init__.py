"""`synthdata` console script.

Each command lives in its own module (ingest, train, evaluate, runs, export, run...) and registers
on the shared Typer `app`. `main` turns expected failures into one clear line and an exit code:
0 success, 1 other failure, 2 bad config/input, 3 gate failed, 4 nothing to do (`run --skip-unchanged`
found the run date already processed from the same source and config; `synthdata.errors.EXIT_SKIPPED`).
`entry`, the console script, runs `main` and keeps that code past the process's native teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
import traceback
from collections.abc import Callable

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


def _exit_code(run: Callable[[], None]) -> int:
    """`run()`'s exit status as Python would give it, with an uncaught error's traceback printed."""
    try:
        run()
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def entry() -> None:
    """The console script: `main`, then an exit that skips native teardown.

    A command that finished can still die after its last line of Python: native thread pools (Arrow's,
    DuckDB's, apache/arrow#34314) torn down in interpreter finalisation may abort (SIGABRT, "terminate
    called without an active exception"), and a nightly job that succeeded would exit 134. So, as
    finalisation would, non-daemon threads are joined (`threading._shutdown`, which also stops
    executors) and the exit hooks run (log handlers flushed, temporary directories removed, worker
    pools and the DDP group shut down); then the streams are flushed and `os._exit` ends the process
    with the command's code. Only the C-level teardown is skipped, which the OS does anyway.
    """
    code = _exit_code(main)
    shutdown = getattr(threading, "_shutdown", None)  # CPython's own step before the exit hooks
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be written
            stream.flush()
    os._exit(code)
