"""Read-only commands (`runs list/show/compare`, `export RUN`) never create a registry: a mistyped
SQLite path or an empty database fails with "no registry at ..." and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from support.cli import run_cli

from synthdata.registry import Registry, RegistryNotFound

READ_ONLY = [
    ["runs", "list"],
    ["runs", "show", "some-run"],
    ["runs", "compare", "a", "b"],
    ["export", "some-run", "--to", "sqlite:///{tmp}/target.db", "--table", "t"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a[:2]))
def test_missing_sqlite_registry_is_an_error_and_nothing_is_created(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo" / "nested" / "synthdata.db"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli([*argv, "--registry", f"sqlite:///{typo}"], capsys)
    assert code == 2
    assert f"no registry at {typo}" in err and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == []  # no folder, no database file, no export target


def test_default_registry_is_not_created_by_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNTHDATA_DB_URL", raising=False)
    code, _, err = run_cli(["runs", "list"], capsys)
    assert code == 2 and "no registry at synthdata.db" in err
    assert list(tmp_path.iterdir()) == []


def test_empty_postgres_database_is_not_turned_into_a_registry(pg_url: str) -> None:
    with pytest.raises(RegistryNotFound, match="no registry at postgresql"):
        Registry(pg_url, create=False)
    eng = sa.create_engine(pg_url)
    with eng.connect() as c:
        assert sa.inspect(c).get_table_names() == []
    eng.dispose()
    with Registry(pg_url) as reg:  # `run` creates it
        reg.create_run("r")
    with Registry(pg_url, create=False) as reg:  # and then reads work
        assert [r.id for r in reg.list_runs()] == ["r"]


def test_existing_sqlite_registry_reads_fine(sqlite_url: str) -> None:
    with Registry(sqlite_url) as reg:
        reg.create_run("r")
    with Registry(sqlite_url, create=False) as reg:
        assert reg.get_run("r") is not None


def test_non_registry_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    eng = sa.create_engine(f"sqlite:///{other}")
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE users (id INTEGER)"))
    eng.dispose()
    before = other.read_bytes()
    with pytest.raises(RegistryNotFound, match="no synthdata run tables"):
        Registry(f"sqlite:///{other}", create=False)
    assert other.read_bytes() == before
