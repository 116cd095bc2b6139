"""Alembic migrations: fresh schema equals the ORM models, upgrades keep rows, round trips work."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from synthdata.db import create_engine
from synthdata.registry import Registry, RegistryError, migrate
from synthdata.registry.models import Base

TABLES = {"runs", "stages", "metrics", "params", "artefacts"}


def test_open_upgrades_to_head_and_schema_matches_models(db_url: str) -> None:
    with Registry(db_url) as reg:
        assert migrate.current_revision(reg.engine) == migrate.head_revision()
        with reg.engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
            tables = set(sa.inspect(conn).get_table_names())
    assert diffs == [], f"migrations and models disagree: {diffs}"
    assert TABLES | {"alembic_version"} <= tables


def test_reopen_keeps_history_and_downgrade_upgrade_roundtrip(db_url: str) -> None:
    with Registry(db_url) as reg:
        reg.create_run("keep-me", config={"x": 1})
    with Registry(db_url) as reg:  # second open: upgrade is a no-op, rows kept
        run = reg.get_run("keep-me")
        assert run is not None and run.params == {"x": 1}
        migrate.downgrade(reg.engine, "base")
        assert migrate.current_revision(reg.engine) is None
        assert not TABLES & set(sa.inspect(reg.engine).get_table_names())
        migrate.upgrade(reg.engine)
        assert migrate.current_revision(reg.engine) == migrate.head_revision()
        assert reg.list_runs() == []


def test_database_from_newer_version_gives_clear_error(db_url: str) -> None:
    eng = create_engine(db_url)
    migrate.upgrade(eng)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    eng.dispose()
    with pytest.raises(RegistryError, match="ffff_from_the_future"):
        Registry(db_url)
