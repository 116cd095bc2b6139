"""`Registry`: the store the pipeline writes runs into and `synthdata runs ...` reads from.

Every write is one short transaction, so two pipelines writing at once interleave safely (SQLite
serialises writers via WAL + ``BEGIN IMMEDIATE`` + busy timeout, PostgreSQL via row-level
transactions). Reads return plain dataclasses, never live ORM objects, so callers cannot trigger
lazy loads on a closed session. URLs are only ever shown masked; the registry stores no password.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from synthdata.db import DEFAULT_REGISTRY_URL, create_engine, looks_like_url, mask_url, parse_url
from synthdata.registry import migrate
from synthdata.registry.models import Artefact, Metric, Param, Run, Stage, utcnow

ENV_VAR = "SYNTHDATA_DB_URL"

RUN_STATUSES = ("running", "succeeded", "failed", "gate_failed")
STAGE_STATUSES = ("running", "succeeded", "skipped", "failed")


def resolve_url(url: str | None = None) -> str:
    """Registry URL precedence: explicit (``--registry``) > ``$SYNTHDATA_DB_URL`` > ``./synthdata.db``."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_REGISTRY_URL


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def mask_value(value: Any) -> Any:
    """Mask passwords in any URL-looking string (recursively), so params never carry secrets."""
    if isinstance(value, str) and looks_like_url(value):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def flatten_params(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"epochs": 3}}`` -> ``{"train.epochs": "3"}`` (values JSON-encoded, URLs masked)."""
    out: dict[str, str] = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, f"{key}."))
        else:
            out[key] = json.dumps(mask_value(v), sort_keys=True, default=str)
    return out


_CI_PAIRS = (("ci_low", "ci_high"), ("lo", "hi"), ("low", "high"), ("lower", "upper"))
_POINT_KEYS = ("mean", "value", "estimate")


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, int | float):
        return float(x)
    return None


def _ci_of(d: Mapping[str, Any]) -> tuple[float | None, float | None, set[str]] | None:
    ci = d.get("ci")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(_num(c) is not None or c is None for c in ci):
        return (
            _num(ci[0]) if ci[0] is not None else None,
            _num(ci[1]) if ci[1] is not None else None,
            {"ci"},
        )
    for lo, hi in _CI_PAIRS:
        if lo in d and hi in d and _num(d[lo]) is not None and _num(d[hi]) is not None:
            return _num(d[lo]), _num(d[hi]), {lo, hi}
    return None


def flatten_metrics(
    metrics: Mapping[str, Any], prefix: str = ""
) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Flatten a metrics.json tree to ``key -> (value, ci_low, ci_high)``.

    Numeric leaves become keys by their dotted path. A dict holding a point estimate (``mean``/
    ``value``) next to an interval (``ci: [lo, hi]`` or ``ci_low``/``ci_high``) yields one row for the
    point key carrying the interval, rather than separate rows for the bounds. Lists of numbers are
    indexed (``key.0``); NaN/inf are stored as NULL (portable across databases).
    """
    out: dict[str, tuple[float | None, float | None, float | None]] = {}

    def clean(x: float | None) -> float | None:
        return x if x is not None and math.isfinite(x) else None

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            ci = _ci_of(node)
            consumed: set[str] = set()
            if ci is not None:
                lo, hi, consumed = ci
                point = next((p for p in _POINT_KEYS if _num(node.get(p)) is not None), None)
                if point is not None:
                    out[f"{key}.{point}" if key else point] = (clean(_num(node[point])), clean(lo), clean(hi))
                    consumed = consumed | {point}
                else:
                    consumed = set()
            for k, v in node.items():
                if k not in consumed:
                    walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list | tuple):
            for i, v in enumerate(node):
                walk(v, f"{key}.{i}")
        else:
            x = _num(node)
            if x is not None and key:
                out[key] = (clean(x), None, None)

    walk(metrics, prefix.rstrip("."))
    return out


@dataclass(frozen=True)
class StageInfo:
    name: str
    status: str
    input_hash: str | None
    reused_from: str | None
    message: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None


@dataclass(frozen=True)
class ArtefactInfo:
    name: str
    kind: str
    path: str
    sha256: str | None
    bytes: int | None


@dataclass(frozen=True)
class MetricInfo:
    key: str
    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class RunInfo:
    id: str
    name: str | None
    status: str
    config_path: str | None
    config_hash: str | None
    run_dir: str | None
    warm_start_from: str | None
    exit_code: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    stages: list[StageInfo] = field(default_factory=list)
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, ArtefactInfo] = field(default_factory=dict)

    def artefact(self, name: str) -> ArtefactInfo | None:
        return self.artefacts.get(name)


def _stage_info(s: Stage) -> StageInfo:
    return StageInfo(
        s.name,
        s.status,
        s.input_hash,
        s.reused_from,
        s.message,
        _aware(s.started_at),
        _aware(s.finished_at),
        s.duration_s,
    )


def _art_info(a: Artefact) -> ArtefactInfo:
    return ArtefactInfo(a.name, a.kind, a.path, a.sha256, a.bytes)


def _run_info(r: Run, *, full: bool) -> RunInfo:
    info = RunInfo(
        r.id,
        r.name,
        r.status,
        r.config_path,
        r.config_hash,
        r.run_dir,
        r.warm_start_from,
        r.exit_code,
        r.error,
        _aware(r.created_at),
        _aware(r.finished_at),
    )
    if full:
        info.stages.extend(
            sorted(
                (_stage_info(s) for s in r.stages),
                key=lambda s: (s.started_at is None, s.started_at or info.created_at),
            )
        )
        info.metrics.update({m.key: MetricInfo(m.key, m.value, m.ci_low, m.ci_high) for m in r.metrics})
        info.params.update({p.key: json.loads(p.value) if p.value is not None else None for p in r.params})
        info.artefacts.update({a.name: _art_info(a) for a in r.artefacts})
    return info


class Registry:
    """Run registry backed by any SQLAlchemy URL; the schema is upgraded to head on open."""

    def __init__(self, url: str | None = None, *, upgrade: bool = True) -> None:
        self.url = parse_url(resolve_url(url), what="registry URL")
        self.masked_url = mask_url(self.url)
        self.engine = create_engine(self.url)
        try:
            if upgrade:
                migrate.upgrade(self.engine)
        except migrate.RegistryError:
            self.engine.dispose()
            raise
        except sa.exc.SQLAlchemyError as e:
            self.engine.dispose()
            raise migrate.RegistryError(
                f"cannot open run registry {self.masked_url}: {type(e).__name__}: "
                f"{mask_url(str(e.orig) if getattr(e, 'orig', None) else str(e)).splitlines()[0]}"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

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
                    created_at=utcnow(),
                )
            )
            if config:
                s.add_all(Param(run_id=run_id, key=k, value=v) for k, v in flatten_params(config).items())

    def has_run(self, run_id: str) -> bool:
        with self._sessions() as s:
            return s.get(Run, run_id) is not None

    def set_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Replace the run's parameters (a resumed run may carry an edited config)."""
        with self._tx() as s:
            s.execute(sa.delete(Param).where(Param.run_id == run_id))
            s.add_all(Param(run_id=run_id, key=k, value=v) for k, v in flatten_params(config).items())

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
                    error=mask_url(error) if error else None,
                    finished_at=utcnow(),
                )
            )

    def reopen_run(self, run_id: str) -> None:
        """Mark a run as running again (``--resume``)."""
        with self._tx() as s:
            s.execute(
                sa.update(Run)
                .where(Run.id == run_id)
                .values(status="running", exit_code=None, error=None, finished_at=None)
            )

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
            st.message = mask_url(message) if message else None
            st.reused_from = reused_from
            if st.started_at is not None:
                st.duration_s = (st.finished_at - _aware(st.started_at)).total_seconds()

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
            return None if r is None else _run_info(r, full=True)

    def resolve_run_id(self, prefix: str) -> str | None:
        """Exact id, or a unique prefix of one (ids are long; users type the start)."""
        with self._sessions() as s:
            if s.get(Run, prefix) is not None:
                return prefix
            ids = s.scalars(
                sa.select(Run.id).where(Run.id.startswith(prefix, autoescape=True)).limit(2)
            ).all()
            return ids[0] if len(ids) == 1 else None

    def list_runs(self, limit: int | None = 50, status: str | None = None) -> list[RunInfo]:
        q = sa.select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if status is not None:
            q = q.where(Run.status == status)
        if limit is not None:
            q = q.limit(limit)
        with self._sessions() as s:
            return [_run_info(r, full=False) for r in s.scalars(q)]

    def counts(self) -> dict[str, int]:
        """Row counts per table (for diagnostics and tests)."""
        with self._sessions() as s:
            return {
                m.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(m)) or 0
                for m in (Run, Stage, Metric, Param, Artefact)
            }


@overload
def _aware(dt: datetime) -> datetime: ...
@overload
def _aware(dt: None) -> None: ...
def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone=True columns; they were stored as UTC."""
    return dt if dt is None or dt.tzinfo is not None else dt.replace(tzinfo=UTC)
