"""The one in-process CLI runner every package's tests use."""

from __future__ import annotations

import pytest

from synthdata.cli import main


def run_cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `synthdata ARGS` in this process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as ex:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(ex.value.code or 0), out, err
