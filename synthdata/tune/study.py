"""Where a study lives, and opening or resuming one.

Storage: optuna's RDB storage in the registry's database server, apart from the registry's tables.
Optuna manages its tables with its own Alembic history, in a table named `alembic_version` like the
registry's, so the two can never share a namespace:

* SQLite registry ``…/synthdata.db`` → studies in the sibling file ``…/synthdata.optuna.db``;
* PostgreSQL registry → the same database, schema ``optuna`` (or ``<schema>_optuna`` when the URL pins
  the registry to a schema through ``options=-csearch_path=<schema>``), created when missing;
* any other database, or a registry in memory: pass ``--storage URL`` (used as given).

The registry's migrations only ever *upgrade* their own revisions (migrate.py; Alembic autogenerate is
never used at run time), and optuna's tables are outside their file or schema anyway.

Resume: a study is identified by its name and remembers what it was made for (model, objective, and
a fingerprint of the config outside the searched settings); reopening it with something else is a
ConfigError instead of a study mixing two problems. Trials a killed worker left `RUNNING` are failed
after optuna's heartbeat grace period by the next worker, and retried once with the same parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from synthdata.db import create_engine, parse_url, sqlite_file, validate_identifier
from synthdata.errors import ConfigError, SynthdataError
from synthdata.masking import mask_text, mask_url
from synthdata.registry import RegistryError

if TYPE_CHECKING:
    import optuna

    from synthdata.pipeline.config import PipelineConfig

OPTUNA_SCHEMA = "optuna"
HEARTBEAT_S = 30  # a worker's running trial proves it is alive this often
GRACE_S = 120  # a RUNNING trial silent for this long was killed: failed, and retried once
_SEARCH_PATH = re.compile(r"-c\s*search_path=(\S+)")
_USER_ATTR = "synthdata"
# config keys that change where things go or what is checked afterwards, never what a trial computes
_NOT_THE_PROBLEM = {"name", "registry", "runs_dir", "run_date", "tracking", "gates", "export"}


@dataclass(frozen=True)
class Storage:
    """Where optuna's tables live: the URL (with its password: never print it) and a schema to create."""

    url: URL
    schema: str | None = None

    @property
    def masked(self) -> str:
        return mask_url(self.url)


def _pinned_schema(u: URL) -> str | None:
    """The first schema of a ``-csearch_path=`` connect option in a PostgreSQL URL, if any."""
    m = _SEARCH_PATH.search(str(u.query.get("options", "")))
    return m.group(1).split(",")[0].strip('"') if m else None


def _with_search_path(u: URL, schema: str) -> URL:
    opts = _SEARCH_PATH.sub("", str(u.query.get("options", ""))).strip()
    return u.update_query_dict({"options": f"{opts} -csearch_path={schema}".strip()})


def storage_for(registry_url: str, override: str | None = None) -> Storage:
    """The study storage that goes with a registry (module docstring), or `override` as given."""
    if override is not None:
        return Storage(parse_url(override, what="--storage URL"))
    u = parse_url(registry_url, what="registry URL")
    backend = u.get_backend_name()
    if backend == "sqlite":
        path = sqlite_file(u)
        if path is None:
            raise ConfigError(
                f"registry {mask_url(u)} is not a file: a study must outlive the process; "
                "give a file registry or --storage URL"
            )
        sibling = path.with_name(f"{path.stem}.optuna{path.suffix or '.db'}")
        return Storage(u.set(database=str(sibling)))
    if backend == "postgresql":
        pinned = _pinned_schema(u)
        schema = f"{pinned}_optuna" if pinned else OPTUNA_SCHEMA
        validate_identifier(schema, what="study schema", dialect="postgresql")
        return Storage(_with_search_path(u, schema), schema)
    raise ConfigError(
        f"studies are kept beside SQLite and PostgreSQL registries; for {backend} give --storage URL"
    )


def _prepare(storage: Storage) -> None:
    """Create the PostgreSQL schema, or put a SQLite file in WAL mode (workers read while one writes)."""
    if storage.schema is not None:
        eng = create_engine(storage.url)
        try:
            with eng.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{storage.schema}"'))
        finally:
            eng.dispose()
    elif storage.url.get_backend_name() == "sqlite" and (path := sqlite_file(storage.url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()


@contextmanager
def _one_creator(storage: Storage) -> Iterator[None]:
    """Workers opening a fresh storage at once would race optuna's CREATE TABLEs (and fail), so they
    take turns: PostgreSQL through a session advisory lock, SQLite through `flock` on the database's
    folder (not on the file: its POSIX locks are SQLite's own)."""
    backend = storage.url.get_backend_name()
    if backend == "postgresql":
        key = int.from_bytes(
            hashlib.sha256(f"synthdata-optuna:{storage.masked}".encode()).digest()[:8], "big"
        )
        key -= 1 << 63  # a signed bigint
        eng = create_engine(storage.url)  # the schema may not exist yet: fine for a lock
        try:
            with eng.connect() as c:
                c.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                try:
                    yield
                finally:
                    c.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        finally:
            eng.dispose()
    elif backend == "sqlite" and (path := sqlite_file(storage.url)) is not None:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock
    else:
        yield


def open_storage(storage: Storage) -> optuna.storages.RDBStorage:
    """optuna's RDB storage with heartbeats; database errors become one masked line (exit 1)."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if storage.url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 60}
    try:
        with _one_creator(storage), warnings.catch_warnings():
            _prepare(storage)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                storage.url.render_as_string(hide_password=False),
                engine_kwargs=kwargs,
                heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except (sa.exc.SQLAlchemyError, OSError, RuntimeError, ValueError) as e:
        first = mask_text(str(getattr(e, "orig", None) or e)).splitlines()
        raise RegistryError(
            f"cannot open study storage {storage.masked}: {type(e).__name__}: {first[0] if first else ''}"
        ) from None


@dataclass(frozen=True)
class StudyKey:
    """What a study was made for; a study reopened with another key is refused."""

    model: str
    objective: str
    fingerprint: str

    @classmethod
    def of(cls, cfg: PipelineConfig, objective: str, searched: set[str]) -> StudyKey:
        """The config minus what cannot change the problem (name, where runs, the registry and MLflow
        go, gates, export) and minus the searched settings (the study varies those)."""
        d = cfg.model_dump(mode="json", by_alias=True, exclude=_NOT_THE_PROBLEM)
        d["train"]["hp"] = {k: v for k, v in d["train"]["hp"].items() if k not in searched}
        d["source"].pop("url", None)  # may carry credentials; the table or query names the data
        digest = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return cls(cfg.train.model, objective, digest)


def default_study_name(cfg: PipelineConfig, objective: str) -> str:
    return f"{cfg.name}-{cfg.train.model}-{objective}"


def open_study(
    storage: optuna.storages.RDBStorage,
    name: str,
    key: StudyKey,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create the study, or load it when it exists and was made for the same `key` (the caller sets
    its sampler: a seed that depends on the trials it holds)."""
    import optuna

    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            direction="maximize",
            pruner=pruner,
            load_if_exists=True,
        )
    except ValueError as e:  # e.g. the stored study minimises
        raise ConfigError(f"study {name!r} cannot be reused: {e}") from None
    mine = asdict(key)
    theirs = study.user_attrs.get(_USER_ATTR)
    if theirs is None:
        study.set_user_attr(_USER_ATTR, mine)
    elif theirs != mine:
        diff = ", ".join(k for k in mine if theirs.get(k) != mine[k])
        raise ConfigError(
            f"study {name!r} was made for another {diff} ({theirs}); give --study NEW_NAME to start another"
        )
    return study


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards --trials: completed and pruned (failed ones are retried instead)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


class NoTrialCompleted(SynthdataError):
    """Every trial failed or was pruned: there is no best configuration to write."""
