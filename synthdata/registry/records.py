"""Plain read models of the registry (never live ORM objects, so callers cannot lazy-load on a closed
session), built from the ORM rows with secrets masked once more on the way out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, overload

from synthdata.masking import mask_text
from synthdata.registry.flatten import mask_value
from synthdata.registry.liveness import Liveness
from synthdata.registry.models import Artefact, Run, Stage

# Shown (never stored): a `running` run whose process is gone or whose heartbeat stopped.
STALE = "stale"


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
    pid: int | None = None
    host: str | None = None
    heartbeat_at: datetime | None = None
    run_date: date | None = None
    source_fingerprint: str | None = None
    stages: list[StageInfo] = field(default_factory=list)
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, ArtefactInfo] = field(default_factory=dict)

    def artefact(self, name: str) -> ArtefactInfo | None:
        return self.artefacts.get(name)

    @property
    def liveness(self) -> Liveness:
        return Liveness(self.status, self.pid, self.host, self.heartbeat_at or self.created_at)

    @property
    def shown_status(self) -> str:
        """The stored status, except a `running` run whose process died reads `stale`."""
        return STALE if self.liveness.stale() else self.status


def _stage_info(s: Stage) -> StageInfo:
    return StageInfo(
        s.name,
        s.status,
        s.input_hash,
        s.reused_from,
        mask_text(s.message) if s.message else None,
        aware(s.started_at),
        aware(s.finished_at),
        s.duration_s,
    )


def _art_info(a: Artefact) -> ArtefactInfo:
    return ArtefactInfo(a.name, a.kind, a.path, a.sha256, a.bytes)


def run_info(r: Run, *, full: bool) -> RunInfo:
    info = RunInfo(
        r.id,
        r.name,
        r.status,
        r.config_path,
        r.config_hash,
        r.run_dir,
        r.warm_start_from,
        r.exit_code,
        mask_text(r.error) if r.error else None,  # also hides secrets in rows older versions wrote
        aware(r.created_at),
        aware(r.finished_at),
        r.pid,
        r.host,
        aware(r.heartbeat_at),
        run_date=r.run_date,
        source_fingerprint=r.source_fingerprint,
    )
    if full:
        info.stages.extend(
            sorted(
                (_stage_info(s) for s in r.stages),
                key=lambda s: (s.started_at is None, s.started_at or info.created_at),
            )
        )
        info.metrics.update({m.key: MetricInfo(m.key, m.value, m.ci_low, m.ci_high) for m in r.metrics})
        info.params.update(
            {p.key: mask_value(json.loads(p.value)) if p.value is not None else None for p in r.params}
        )
        info.artefacts.update({a.name: _art_info(a) for a in r.artefacts})
    return info


@overload
def aware(dt: datetime) -> datetime: ...


@overload
def aware(dt: None) -> None: ...
def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone=True columns; they were stored as UTC."""
    return dt if dt is None or dt.tzinfo is not None else dt.replace(tzinfo=UTC)
