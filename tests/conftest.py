"""Shared fixtures: paths to real data, database URLs (SQLite and the PostgreSQL server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT.parent / "shared" / "data" / "movielens-100k"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_BASE = os.environ.get("SYNTHDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    """Real MovieLens-100K; skipped locally when absent, a failure in CI (CI has it)."""
    if not (MOVIELENS / "u.data").exists():
        if IN_CI:
            pytest.fail(f"MovieLens-100K missing at {MOVIELENS} in CI")
        pytest.skip("MovieLens-100K not available")
    return MOVIELENS


def _pg_available() -> str | None:
    try:
        import sqlalchemy as sa

        eng = sa.create_engine(PG_BASE)
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        eng.dispose()
        return None
    except Exception as e:  # pragma: no cover - depends on the machine
        return str(e).splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    why = _pg_available()
    if why is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_BASE} unreachable in CI: {why}")
        pytest.skip(f"PostgreSQL unreachable: {why}")
    return PG_BASE


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A PostgreSQL URL whose default search_path is a fresh schema, dropped afterwards.

    Tests running at once (and developers' parallel runs) never see each other's tables.
    """
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(pg_server)
    with eng.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{sep}options=-csearch_path%3D{schema}"
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over both backends the project supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


# Slow by nature (model fits, pipeline runs, subprocesses and DDP, kill tests, real-data studies): marked
# here so `make test-fast` (pytest -m "not slow") skips them in the edit loop; `make test` runs them all.
SLOW = ("model/", "pipeline/", "test_export_kill.py", "test_eval_movielens.py", "test_eval_calibration.py")
SLOW += ("test_registry_concurrency.py", "test_cli_contract.py", "hostile/", "docs/")
SLOW += ("tracking/",)  # a real `mlflow server` and pipeline runs
SLOW += ("tune/",)  # optuna studies: model fits, a killed subprocess


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(Path(__file__).resolve().parent).as_posix()
        if any(where.startswith(s) or where.endswith(s) for s in SLOW):
            item.add_marker(pytest.mark.slow)
