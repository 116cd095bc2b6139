"""Bring a registry database to the latest schema with Alembic, safely under concurrency.

The Alembic `Config` is built in code (no alembic.ini to find), pointing at the migrations shipped
inside this package, so ``pip install synthdata`` is all a registry needs. Upgrades run revision
by revision, keeping existing rows ("upgrades keep history"). Concurrency guard: PostgreSQL takes
an advisory transaction lock in ``env.py``; SQLite serialises through ``BEGIN IMMEDIATE`` (see
`synthdata.db.create_engine`) and a short retry if the file is momentarily locked.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from synthdata.errors import SynthdataError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class RegistryError(SynthdataError):
    """The registry database cannot be used (unreachable, newer schema than this code, ...)."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: sa.Engine, fn: str, target: str) -> None:
    attempts = 5
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as conn:
                # One transaction for every step, opened before Alembic looks: it then leaves the
                # transaction to us instead of committing per revision (on SQLite that released the
                # lock between revisions, and a second process re-ran a revision it had seen pending).
                conn.begin()
                getattr(command, fn)(alembic_config(conn), target)
                conn.commit()
            return
        except CommandError as e:
            raise RegistryError(
                f"registry schema cannot be migrated to {target!r}: {e} "
                "(is the database from a newer synthdata version?)"
            ) from None
        except sa.exc.OperationalError as e:
            locked = "locked" in str(e).lower() or "busy" in str(e).lower()
            if engine.dialect.name != "sqlite" or not locked or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


def upgrade(engine: sa.Engine, target: str = "head") -> None:
    """Upgrade the schema to `target` (default: the newest revision shipped with this package)."""
    _run(engine, "upgrade", target)


def downgrade(engine: sa.Engine, target: str) -> None:
    """Downgrade to `target` (``"base"`` drops the registry tables); for maintenance and tests."""
    _run(engine, "downgrade", target)
