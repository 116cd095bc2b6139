"""The console script's exit: a finished command keeps its exit code even when native teardown in
interpreter finalisation would abort the process (Arrow's and DuckDB's thread pools can), and what
finalisation does that matters still happens: exit hooks, executor threads, flushed output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import atexit, os, sys
from concurrent.futures import ThreadPoolExecutor
import synthdata.cli as cli

class NativePool:
    def __del__(self):  # stands in for a native pool whose teardown aborts in finalisation
        os.abort()

POOL = NativePool()

def command():
    ThreadPoolExecutor(1).submit(print, "executor ran")  # a worker thread left for exit to stop
    atexit.register(lambda: open(sys.argv[1], "w").write("hooks ran"))
    print("finished")  # block-buffered on a pipe: only a flush writes it
    mode = sys.argv[2]
    if mode == "code":
        raise SystemExit(3)
    if mode == "message":
        raise SystemExit("bad input")
    if mode == "error":
        raise RuntimeError("boom")

cli.main = command
if sys.argv[3] == "entry":
    cli.entry()
else:
    cli.main()
"""


def _run(tmp_path: Path, mode: str, how: str = "entry") -> subprocess.CompletedProcess[str]:
    hook = tmp_path / f"hook-{mode}-{how}.txt"
    args = [sys.executable, "-c", SCRIPT, str(hook), mode, how]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_the_simulated_teardown_aborts_a_plain_exit(tmp_path: Path) -> None:
    assert _run(tmp_path, "ok", how="plain").returncode == -6  # SIGABRT: the scenario is real


@pytest.mark.parametrize(("mode", "code"), [("ok", 0), ("code", 3), ("message", 1), ("error", 1)])
def test_the_command_exit_code_survives_native_teardown(tmp_path: Path, mode: str, code: int) -> None:
    out = _run(tmp_path, mode)
    assert out.returncode == code, out.stderr
    assert "finished" in out.stdout and "executor ran" in out.stdout
    assert (tmp_path / f"hook-{mode}-entry.txt").read_text() == "hooks ran"
    if mode == "message":
        assert out.stderr.strip().endswith("bad input")
    if mode == "error":
        assert "RuntimeError: boom" in out.stderr


def test_the_console_script_uses_the_clean_exit() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "synthdata"]
    assert ep.value == "synthdata.cli:entry"
