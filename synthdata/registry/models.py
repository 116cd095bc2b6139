"""ORM models of the run registry: runs, their stages, metrics, parameters and artefacts.

The schema is owned by the Alembic migrations in ``migrations/versions``; these models must match
them (a test compares the migrated database with this metadata). Timestamps are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names keep migrations portable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    """One pipeline run: what config it ran, where its artefacts live, how it ended."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="running")
    config_path: Mapped[str | None] = mapped_column(Text)
    config_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    run_dir: Mapped[str | None] = mapped_column(Text)
    warm_start_from: Mapped[str | None] = mapped_column(String(64))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Liveness of a running run (migration 0002): who runs it and when it last said so.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What a scheduled run processed (migration 0003): its partition and its source files' content hash.
    run_date: Mapped[date | None] = mapped_column(Date, index=True)
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))

    stages: Mapped[list[Stage]] = relationship(back_populates="run", cascade="all, delete-orphan")
    metrics: Mapped[list[Metric]] = relationship(cascade="all, delete-orphan")
    params: Mapped[list[Param]] = relationship(cascade="all, delete-orphan")
    artefacts: Mapped[list[Artefact]] = relationship(cascade="all, delete-orphan")


class Stage(Base):
    """One execution record of a pipeline stage; `input_hash` lets later runs skip unchanged work."""

    __tablename__ = "stages"
    __table_args__ = (
        UniqueConstraint("run_id", "name"),
        Index("ix_stages_name_input_hash", "name", "input_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    input_hash: Mapped[str | None] = mapped_column(String(64))
    reused_from: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)

    run: Mapped[Run] = relationship(back_populates="stages")


class Metric(Base):
    """A flattened metric (``recsys.augmented.recall@10.mean``) with its confidence interval if any."""

    __tablename__ = "metrics"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)


class Param(Base):
    """A flattened config value (JSON-encoded), URLs stored with passwords masked."""

    __tablename__ = "params"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class Artefact(Base):
    """A file a run produced, with its content hash so later runs can trust (and reuse) it."""

    __tablename__ = "artefacts"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
