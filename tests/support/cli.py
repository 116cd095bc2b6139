"""The one in-process CLI runner every package's tests use."""

from __future__ import annotations

import pytest

from synthdata.cli import main


def run_cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `synthdata ARGS` in this process; returns (exit code, stdout, stderr)."""
    code = run_cli_code(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_cli_code(args: list) -> int:
    """Run `synthdata ARGS` in this process; returns the exit code only. For fixtures wider than one
    test, where `capsys` is not available: the output is left to pytest's capture."""
    with pytest.raises(SystemExit) as ex:
        main([str(a) for a in args])
    return int(ex.value.code or 0)
