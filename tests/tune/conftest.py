"""A registry URL on each backend whose study storage is removed afterwards (the PostgreSQL fixture drops
only the registry's own schema; the studies live in `<schema>_optuna` beside it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from synthdata.tune.study import storage_for


@pytest.fixture
def tune_db(db_url: str) -> Iterator[str]:
    yield db_url
    storage = storage_for(db_url)
    if storage.schema is not None:
        eng = sa.create_engine(db_url)
        with eng.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{storage.schema}" CASCADE'))
        eng.dispose()
