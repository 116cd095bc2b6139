"""Helpers shared by the ingest tests: write small inputs, run the CLI in-process, read rejects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import synthdata.ingest.api as ingest_api
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


@pytest.fixture(params=["duckdb", "pandas"])
def both_engines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per executor: the parameter is the engine `ingest` uses when not given one
    (CLI calls, Python calls without `engine=`) while the test runs. The existing ingest tests are
    the contract both executors must meet."""
    monkeypatch.setattr(ingest_api, "DEFAULT_ENGINE", request.param)
    return str(request.param)
