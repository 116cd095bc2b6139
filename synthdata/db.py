"""Database plumbing shared by the run registry and the export stage.

Why a helper module: every engine this project opens must behave the same way under concurrency
(SQLite in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` write transactions, so two pipelines
never hit "database is locked" half-way through a transaction), and every URL that reaches a log,
a report or the registry must have its password masked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from synthdata.errors import ConfigError, InputError

DEFAULT_REGISTRY_URL = "sqlite:///./synthdata.db"
SQLITE_BUSY_TIMEOUT_MS = 60_000

# Unquoted SQL identifier: letter/underscore then up to 62 more (PostgreSQL's 63-byte limit).
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def parse_url(url: str | URL, *, what: str = "database URL") -> URL:
    """Parse a SQLAlchemy URL, turning parse errors into a `ConfigError` that never echoes a password."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except Exception as e:  # sqlalchemy raises ArgumentError with the raw string in it
        raise ConfigError(f"invalid {what}: {mask_url(url)!r} ({type(e).__name__})") from None


def mask_url(url: str | URL) -> str:
    """Render a URL with its password hidden (``***``); strings that are not URLs come back unchanged."""
    try:
        u = url if isinstance(url, URL) else make_url(url)
    except Exception:
        # Not parseable: still hide anything that looks like `user:password@`.
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", str(url))
    return u.render_as_string(hide_password=True)


def looks_like_url(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", value))


def _sqlite_file(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine configured for safe concurrent use by several processes.

    SQLite: WAL journal (readers never block the writer), a generous busy timeout, and every
    transaction opened with ``BEGIN IMMEDIATE`` so DDL is transactional and lock upgrades cannot
    deadlock. The parent directory of a SQLite file is created when missing.
    """
    u = parse_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True, **kwargs)
    path = _sqlite_file(u)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(u, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if path is not None:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def validate_identifier(
    name: str, *, what: str = "name", allow_schema: bool = False
) -> tuple[str | None, str]:
    """Check a table/column name against `IDENTIFIER_RE`; returns ``(schema, name)``.

    Names are validated *and* later quoted by the dialect's identifier preparer: validation gives a
    clear error for hostile or mistyped names (``x; DROP TABLE y``), quoting keeps reserved words safe.
    """
    if not isinstance(name, str):
        raise InputError(f"invalid {what} {name!r}: not a string")
    parts = name.split(".") if allow_schema else [name]
    if len(parts) > 2 or not all(IDENTIFIER_RE.match(p) for p in parts):
        form = "[schema.]name" if allow_schema else "name"
        raise InputError(
            f"invalid {what} {name!r}: expected {form} where each part matches {IDENTIFIER_RE.pattern} "
            "(letters, digits, underscore; no spaces, quotes or semicolons)"
        )
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
