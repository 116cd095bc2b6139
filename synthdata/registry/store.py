"""`Registry`: the store the pipeline writes runs into and `synthdata runs ...` reads from.

Every write is one short transaction, so two pipelines writing at once interleave safely (SQLite
serialises writers via WAL + ``BEGIN IMMEDIATE`` + busy timeout, PostgreSQL via row-level
transactions). Reads return plain dataclasses, never live ORM objects, so callers cannot trigger
lazy loads on a closed session. URLs are only ever shown masked; the registry stores no password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from synthdata.db import DEFAULT_REGISTRY_URL, create_engine, parse_url, sqlite_file
from synthdata.masking import mask_text, mask_url
from synthdata.registry import migrate
from synthdata.registry.flatten import file_sha256, flatten_metrics, flatten_params
from synthdata.registry.liveness import HOST
from synthdata.registry.models import Artefact, Metric, Param, Run, Stage, utcnow
from synthdata.registry.records import (
    STALE,
    ArtefactInfo,
    RunInfo,
    aware,
    run_info,
)

ENV_VAR = "SYNTHDATA_DB_URL"

RUN_STATUSES = ("running", "succeeded", "failed", "gate_failed")
STAGE_STATUSES = ("running", "succeeded", "skipped", "failed")


def resolve_url(url: str | None = None) -> str:
    """Registry URL precedence: explicit (``--registry``) > ``$SYNTHDATA_DB_URL`` > ``./synthdata.db``."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_REGISTRY_URL


def _owned_by_me() -> dict[str, Any]:
    """Column values of a run (re)started by this process."""
    return {
        "status": "running",
        "exit_code": None,
        "error": None,
        "finished_at": None,
        "pid": os.getpid(),
        "host": HOST,
        "heartbeat_at": utcnow(),
    }


class RegistryNotFound(migrate.RegistryError):
    """A read-only command was pointed at a registry that does not exist (mistyped path or URL)."""

    exit_code = 2


class RunBusy(migrate.RegistryError):
    """``--resume`` of a run another live process is running."""

    exit_code = 2


class Registry:
    """Run registry backed by any SQLAlchemy URL; the schema is upgraded to head on open.

    ``create=False`` (read-only commands: ``runs list/show/compare``, ``export RUN``) never creates a
    file, folder or table: a missing registry is a `RegistryNotFound` error instead.
    """

    def __init__(self, url: str | None = None, *, upgrade: bool = True, create: bool = True) -> None:
        self.url = parse_url(resolve_url(url), what="registry URL")
        self.masked_url = mask_url(self.url)
        path = sqlite_file(self.url) if self.url.get_backend_name() == "sqlite" else None
        where = str(path) if path is not None else self.masked_url
        if not create and self.url.get_backend_name() == "sqlite" and (path is None or not path.is_file()):
            raise RegistryNotFound(
                f"no registry at {where} (check --registry / ${ENV_VAR}; only `synthdata run` creates one)"
            )
        self.engine = create_engine(self.url, create_dirs=create, wal=create)  # reads change nothing
        try:
            if not create and not self._exists():
                raise RegistryNotFound(
                    f"no registry at {where}: the database has no synthdata run tables "
                    f"(check --registry / ${ENV_VAR}; only `synthdata run` creates one)"
                )
            if upgrade:
                migrate.upgrade(self.engine)
        except migrate.RegistryError:
            self.engine.dispose()
            raise
        except sa.exc.SQLAlchemyError as e:
            self.engine.dispose()
            raise migrate.RegistryError(
                f"cannot open run registry {self.masked_url}: {type(e).__name__}: "
                f"{mask_text(str(e.orig) if getattr(e, 'orig', None) else str(e)).splitlines()[0]}"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _exists(self) -> bool:
        with self.engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
        return {"alembic_version", "runs"} <= names

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Registry({self.masked_url!r})"

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # ---- runs -------------------------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        config_path: str | None = None,
        config_hash: str | None = None,
        run_dir: str | None = None,
        warm_start_from: str | None = None,
        run_date: date | None = None,
        source_fingerprint: str | None = None,
    ) -> None:
        with self._tx() as s:
            s.add(
                Run(
                    id=run_id,
                    name=name,
                    status="running",
                    config_path=config_path,
                    config_hash=config_hash,
                    run_dir=run_dir,
                    warm_start_from=warm_start_from,
                    run_date=run_date,
                    source_fingerprint=source_fingerprint,
                    created_at=utcnow(),
                    pid=os.getpid(),
                    host=HOST,
                    heartbeat_at=utcnow(),
                )
            )
            if config:
                s.add_all(Param(run_id=run_id, key=k, value=v) for k, v in flatten_params(config).items())

    def set_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Replace the run's parameters (a resumed run may carry an edited config)."""
        with self._tx() as s:
            s.execute(sa.delete(Param).where(Param.run_id == run_id))
            s.add_all(Param(run_id=run_id, key=k, value=v) for k, v in flatten_params(config).items())

    def add_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add or replace only these parameters (e.g. the run's MLflow run id), keeping the rest."""
        flat = flatten_params(params)
        with self._tx() as s:
            s.execute(sa.delete(Param).where(Param.run_id == run_id, Param.key.in_(list(flat))))
            s.add_all(Param(run_id=run_id, key=k, value=v) for k, v in flat.items())

    def set_source(self, run_id: str, run_date: date | None, source_fingerprint: str | None) -> None:
        """Record what a resumed run now processes (its config may name another date or source)."""
        with self._tx() as s:
            s.execute(
                sa.update(Run)
                .where(Run.id == run_id)
                .values(run_date=run_date, source_fingerprint=source_fingerprint)
            )

    def finish_run(
        self, run_id: str, status: str, *, exit_code: int | None = None, error: str | None = None
    ) -> None:
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        with self._tx() as s:
            s.execute(
                sa.update(Run)
                .where(Run.id == run_id)
                .values(
                    status=status,
                    exit_code=exit_code,
                    error=mask_text(error) if error else None,
                    finished_at=utcnow(),
                )
            )

    def claim_run(self, run_id: str) -> RunInfo:
        """Take a run over for ``--resume``: allowed when it ended, or is `running` but stale.

        Compare-and-swap on (status, pid, host, heartbeat): of two processes resuming the same stale
        run at once, exactly one wins; the other gets a `RunBusy` error naming the winner.
        """
        info = self.get_run(run_id)
        if info is None:
            raise KeyError(run_id)
        live = info.liveness
        if info.status == "running" and not live.stale():
            raise RunBusy(f"run {run_id} is still running ({live.describe()}); not resuming it twice")
        with self._tx() as s:
            cond = [Run.id == run_id, Run.status == info.status]
            for col, val in ((Run.pid, info.pid), (Run.host, info.host)):
                cond.append(col.is_(None) if val is None else col == val)
            res = s.execute(sa.update(Run).where(*cond).values(**_owned_by_me()))
            won = res.rowcount == 1
        latest = self.get_run(run_id)
        assert latest is not None
        if not won:
            raise RunBusy(f"run {run_id} was taken over by another process ({latest.liveness.describe()})")
        return latest

    def heartbeat(self, run_id: str) -> bool:
        """Refresh the heartbeat of a run this process owns; False when it no longer owns it."""
        with self._tx() as s:
            res = s.execute(
                sa.update(Run)
                .where(Run.id == run_id, Run.pid == os.getpid(), Run.host == HOST, Run.status == "running")
                .values(heartbeat_at=utcnow())
            )
            return res.rowcount == 1

    # ---- stages -----------------------------------------------------------------------------------
    def start_stage(self, run_id: str, name: str, input_hash: str | None) -> None:
        with self._tx() as s:
            st = s.scalars(sa.select(Stage).where(Stage.run_id == run_id, Stage.name == name)).one_or_none()
            if st is None:
                st = Stage(run_id=run_id, name=name)
                s.add(st)
            st.status, st.input_hash, st.reused_from, st.message = "running", input_hash, None, None
            st.started_at, st.finished_at, st.duration_s = utcnow(), None, None

    def finish_stage(
        self,
        run_id: str,
        name: str,
        status: str,
        *,
        message: str | None = None,
        reused_from: str | None = None,
    ) -> None:
        if status not in STAGE_STATUSES:
            raise ValueError(f"unknown stage status {status!r}")
        with self._tx() as s:
            st = s.scalars(sa.select(Stage).where(Stage.run_id == run_id, Stage.name == name)).one()
            st.status, st.finished_at = status, utcnow()
            st.message = mask_text(message) if message else None
            st.reused_from = reused_from
            if st.started_at is not None:
                st.duration_s = (st.finished_at - aware(st.started_at)).total_seconds()

    def find_stage(
        self, name: str, input_hash: str, *, exclude_run: str | None = None
    ) -> list[tuple[str, str | None]]:
        """Runs (newest first) where stage `name` succeeded with `input_hash`: ``[(run_id, run_dir)]``."""
        q = (
            sa.select(Run.id, Run.run_dir)
            .join(Stage, Stage.run_id == Run.id)
            .where(
                Stage.name == name, Stage.input_hash == input_hash, Stage.status.in_(("succeeded", "skipped"))
            )
            .order_by(Stage.finished_at.desc())
        )
        if exclude_run is not None:
            q = q.where(Run.id != exclude_run)
        with self._sessions() as s:
            return [(r[0], r[1]) for r in s.execute(q)]

    # ---- metrics / artefacts ----------------------------------------------------------------------
    def log_metrics(self, run_id: str, metrics: Mapping[str, Any]) -> int:
        """Store a metrics.json tree flattened (replacing the run's previous metrics); returns rows."""
        flat = flatten_metrics(metrics)
        with self._tx() as s:
            s.execute(sa.delete(Metric).where(Metric.run_id == run_id))
            s.add_all(
                Metric(run_id=run_id, key=k, value=v, ci_low=lo, ci_high=hi)
                for k, (v, lo, hi) in flat.items()
            )
        return len(flat)

    def add_artefact(
        self, run_id: str, name: str, path: str | Path, kind: str, *, sha256: str | None = None
    ) -> ArtefactInfo:
        """Record (or update) a produced file with its size and content hash."""
        p = Path(path)
        if p.is_dir():
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            digest = sha256
        else:
            size = p.stat().st_size
            digest = sha256 or file_sha256(p)
        with self._tx() as s:
            a = s.scalars(
                sa.select(Artefact).where(Artefact.run_id == run_id, Artefact.name == name)
            ).one_or_none()
            if a is None:
                a = Artefact(run_id=run_id, name=name)
                s.add(a)
            a.kind, a.path, a.sha256, a.bytes, a.created_at = kind, str(p.resolve()), digest, size, utcnow()
        return ArtefactInfo(name, kind, str(p.resolve()), digest, size)

    # ---- reads ------------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> RunInfo | None:
        with self._sessions() as s:
            r = s.get(Run, run_id)
            return None if r is None else run_info(r, full=True)

    def resolve_run_id(self, prefix: str) -> str | None:
        """Exact id, or a unique prefix of one (ids are long; users type the start)."""
        with self._sessions() as s:
            if s.get(Run, prefix) is not None:
                return prefix
            ids = s.scalars(
                sa.select(Run.id).where(Run.id.startswith(prefix, autoescape=True)).limit(2)
            ).all()
            return ids[0] if len(ids) == 1 else None

    def last_succeeded(self, name: str | None, run_date: date | None) -> RunInfo | None:
        """The newest succeeded run of pipeline `name` for `run_date` (None: runs without a date).

        What ``run --skip-unchanged`` compares against: scoped by pipeline name, so pipelines that
        share a registry and a date never skip because of each other.
        """
        q = sa.select(Run.id).where(
            Run.status == "succeeded",
            Run.name.is_(None) if name is None else Run.name == name,
            Run.run_date.is_(None) if run_date is None else Run.run_date == run_date,
        )
        q = q.order_by(Run.finished_at.desc(), Run.created_at.desc(), Run.id.desc()).limit(1)
        with self._sessions() as s:
            rid = s.scalar(q)
        return None if rid is None else self.get_run(rid)

    def list_runs(
        self, limit: int | None = 50, status: str | None = None, run_date: date | None = None
    ) -> list[RunInfo]:
        """Newest first; ``status`` filters on the shown status (``stale`` and ``running`` differ)."""
        q = sa.select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if run_date is not None:
            q = q.where(Run.run_date == run_date)
        if status is not None:
            q = q.where(Run.status == ("running" if status == STALE else status))
        if status in (STALE, "running"):  # liveness is judged here, not in SQL: filter, then limit
            with self._sessions() as s:
                runs = [run_info(r, full=False) for r in s.scalars(q)]
            runs = [r for r in runs if r.shown_status == status]
            return runs[:limit] if limit is not None else runs
        if limit is not None:
            q = q.limit(limit)
        with self._sessions() as s:
            return [run_info(r, full=False) for r in s.scalars(q)]

    def counts(self) -> dict[str, int]:
        """Row counts per table (for diagnostics and tests)."""
        with self._sessions() as s:
            return {
                m.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(m)) or 0
                for m in (Run, Stage, Metric, Param, Artefact)
            }
