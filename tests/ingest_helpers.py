"""Helpers shared by the ingest tests: write small inputs, run the CLI in-process, read rejects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthdata.cli import main


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `synthdata ARGS` in this process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as ex:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(ex.value.code or 0), out, err


def rejects(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)
