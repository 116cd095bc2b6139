"""Fixtures of the ingest tests."""

from __future__ import annotations

import pytest

import synthdata.ingest.api as ingest_api


@pytest.fixture(params=["duckdb", "pandas"])
def both_engines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per executor: the parameter is the engine `ingest` uses when not given one
    (CLI calls, Python calls without `engine=`) while the test runs. The existing ingest tests are
    the contract both executors must meet."""
    monkeypatch.setattr(ingest_api, "DEFAULT_ENGINE", request.param)
    return str(request.param)
