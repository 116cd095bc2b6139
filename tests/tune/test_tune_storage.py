"""Study storage: beside the registry (sibling SQLite file, or a PostgreSQL schema of its own), never in
the registry's namespace, and a study reopened for another problem is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from synthdata.db import sqlite_file
from synthdata.errors import ConfigError
from synthdata.registry import Registry, RegistryError, migrate
from synthdata.registry.models import Base
from synthdata.tune.study import StudyKey, open_storage, open_study, storage_for

REGISTRY_TABLES = {"runs", "stages", "metrics", "params", "artefacts", "alembic_version"}


def test_sqlite_studies_go_to_a_sibling_file(tmp_path: Path) -> None:
    s = storage_for(f"sqlite:///{tmp_path / 'reg' / 'synthdata.db'}")
    assert sqlite_file(s.url) == tmp_path / "reg" / "synthdata.optuna.db"
    assert s.schema is None
    with pytest.raises(ConfigError, match="not a file"):
        storage_for("sqlite://")
    with pytest.raises(ConfigError, match="--storage"):
        storage_for("mysql+pymysql://u@h/db")
    assert storage_for("sqlite://", override="sqlite:////x/y.db").url.database == "/x/y.db"


def test_postgres_studies_go_to_a_schema_of_their_own_and_the_password_is_never_shown() -> None:
    pinned = storage_for("postgresql+psycopg://me:s3cret@db/app?options=-csearch_path%3Dreg_a")
    assert pinned.schema == "reg_a_optuna"
    assert pinned.url.query["options"] == "-csearch_path=reg_a_optuna"
    assert pinned.url.password == "s3cret" and "s3cret" not in pinned.masked
    plain = storage_for("postgresql+psycopg://me@db/app?options=-c%20statement_timeout%3D5000")
    assert plain.schema == "optuna"
    assert plain.url.query["options"] == "-c statement_timeout=5000 -csearch_path=optuna"


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as c:
        return set(sa.inspect(c).get_table_names())


def test_studies_live_apart_from_the_registry(tune_db: str) -> None:
    with Registry(tune_db) as reg:
        reg.create_run("r1", config={"x": 1})
    storage = open_storage(storage_for(tune_db))
    key = StudyKey("multvae", "synthetic-only", "abc")
    study = open_study(storage, "s1", key, optuna.pruners.NopPruner())
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert {"studies", "trials", "alembic_version"} <= _tables(storage.engine)
    with Registry(tune_db) as reg:  # reopening upgrades nothing and sees only its own tables
        assert _tables(reg.engine) == REGISTRY_TABLES
        assert migrate.current_revision(reg.engine) == migrate.head_revision()
        with reg.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert reg.get_run("r1") is not None
    reloaded = open_study(open_storage(storage_for(tune_db)), "s1", key, optuna.pruners.NopPruner())
    assert len(reloaded.trials) == 2


def test_a_study_reopened_for_another_problem_is_refused(tmp_path: Path) -> None:
    storage = open_storage(storage_for(f"sqlite:///{tmp_path / 'r.db'}"))
    open_study(storage, "s", StudyKey("multvae", "synthetic-only", "abc"), optuna.pruners.NopPruner())
    with pytest.raises(ConfigError, match="objective"):
        open_study(storage, "s", StudyKey("multvae", "fidelity", "abc"), optuna.pruners.NopPruner())
    with pytest.raises(ConfigError, match="fingerprint"):
        open_study(storage, "s", StudyKey("multvae", "synthetic-only", "other"), optuna.pruners.NopPruner())


def test_an_unreachable_storage_is_one_masked_line() -> None:
    storage = storage_for("postgresql+psycopg://me:s3cret@127.0.0.1:1/app")
    with pytest.raises(RegistryError) as e:
        open_storage(storage)
    assert "s3cret" not in str(e.value) and "cannot open study storage" in str(e.value)


def test_workers_opening_a_fresh_storage_at_once_take_turns(tune_db: str) -> None:
    """optuna creates its tables unguarded: three processes at once used to fail on 'already exists'."""
    code = "import sys\nfrom synthdata.tune.study import open_storage, storage_for\n"
    code += "open_storage(storage_for(sys.argv[1]))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, tune_db], stderr=subprocess.PIPE) for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1].decode()[-500:] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert {"studies", "trials", "version_info"} <= _tables(open_storage(storage_for(tune_db)).engine)
