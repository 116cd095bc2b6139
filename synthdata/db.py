"""Database plumbing shared by the run registry and the export stage.

Why a helper module: every engine this project opens must behave the same way under concurrency
(SQLite in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` write transactions, so two pipelines
never hit "database is locked" half-way through a transaction), and every URL that reaches a log,
a report or the registry must have its password masked. Masking lives in `synthdata.masking`;
import it from there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from synthdata.errors import ConfigError, InputError
from synthdata.masking import encode_raw_userinfo, mask_url  # for this module's own use, not a re-export

DEFAULT_REGISTRY_URL = "sqlite:///./synthdata.db"
SQLITE_BUSY_TIMEOUT_MS = 60_000

# Unquoted SQL identifier: an ASCII letter or underscore, then ASCII letters, digits, underscores.
# Always matched whole (`fullmatch`; `\Z`, not `$`, which also matches before a final newline, so
# "victim\n" passed and addressed `victim`). The length limit depends on the database
# (`max_identifier_bytes`): PostgreSQL silently truncates longer names.
IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Bytes an identifier may have, per backend; others use SQLAlchemy's dialect value. Without a known
# backend the strictest supported limit (PostgreSQL's) applies, so a name is portable.
MAX_IDENTIFIER_BYTES = {"postgresql": 63, "mysql": 64, "mariadb": 64, "mssql": 128, "oracle": 128}
PORTABLE_IDENTIFIER_BYTES = 63


def parse_url(url: str | URL, *, what: str = "database URL") -> URL:
    """Parse a SQLAlchemy URL, turning parse errors into a `ConfigError` that never echoes a password."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(encode_raw_userinfo(url))
    except Exception as e:  # sqlalchemy raises ArgumentError with the raw string in it
        raise ConfigError(f"invalid {what}: {mask_url(url)!r} ({type(e).__name__})") from None


def looks_like_url(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", value))


def check_driver(url: str | URL, *, what: str = "database URL", backends: tuple[str, ...] = ()) -> URL:
    """Parse `url` and load its dialect and driver now, so a typo fails before any output is written.

    Raises `InputError` (exit 2) naming the masked URL for an unknown backend/driver, a driver that is
    not installed, or a backend outside `backends` (when given).
    """
    u = parse_url(url, what=what)
    masked = mask_url(u)
    if backends and u.get_backend_name() not in backends:
        raise InputError(
            f"{what} {masked}: backend {u.get_backend_name()!r} is not supported "
            f"(supported: {' and '.join(backends)})"
        )
    try:
        dialect_cls = u.get_dialect()
        dialect_cls.import_dbapi()
    except Exception as e:
        raise InputError(
            f"{what} {masked}: driver {u.drivername!r} is unknown or not installed "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    return u


def _backend_of(dialect: str | URL | Any) -> str:
    if isinstance(dialect, URL):
        return dialect.get_backend_name()
    if isinstance(dialect, str):
        return parse_url(dialect).get_backend_name() if "://" in dialect else dialect
    return str(getattr(dialect, "name", dialect))


def max_identifier_bytes(dialect: str | URL | Any | None) -> int:
    """Longest identifier (in UTF-8 bytes) the database keeps without truncating it."""
    if dialect is None:
        return PORTABLE_IDENTIFIER_BYTES
    name = _backend_of(dialect)
    default = None if isinstance(dialect, str | URL) else getattr(dialect, "max_identifier_length", None)
    if name in MAX_IDENTIFIER_BYTES:
        return MAX_IDENTIFIER_BYTES[name]
    if name == "sqlite":
        return 1024  # SQLite has no limit; this one only stops absurd names
    if default is None:
        try:
            default = make_url(f"{name}://").get_dialect().max_identifier_length
        except Exception:
            default = PORTABLE_IDENTIFIER_BYTES
    return int(default)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory and ``file:`` URIs)."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def create_engine(url: str | URL, *, create_dirs: bool = True, wal: bool = True, **kwargs: Any) -> Engine:
    """Create an engine configured for safe concurrent use by several processes.

    SQLite: WAL journal (readers never block the writer), a generous busy timeout, and every
    transaction opened with ``BEGIN IMMEDIATE`` so DDL is transactional and lock upgrades cannot
    deadlock. The parent directory of a SQLite file is created when missing (unless `create_dirs`
    is False: read-only commands create nothing). ``wal=False`` leaves the file's journal mode as it
    is (export targets belong to the user: turning them into WAL would outlive the export).
    """
    u = parse_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True, **kwargs)
    path = sqlite_file(u)
    if path is not None and create_dirs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create the folder of SQLite database {path}: {e.strerror}") from None
    engine = sa.create_engine(u, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if path is not None and wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_identifier_length(name: str, dialect: str | URL | Any | None, *, what: str = "name") -> None:
    """Refuse a (``schema.``)name with a part longer than the database keeps (see `max_identifier_bytes`)."""
    limit = max_identifier_bytes(dialect)
    for p in name.split("."):
        n = len(p.encode("utf-8"))
        if n > limit:
            on = f" on {_backend_of(dialect)}" if dialect is not None else ""
            raise InputError(
                f"invalid {what} {name!r}: {n} bytes long, the limit{on} is {limit} "
                "(a longer name would be truncated and address a different table)"
            )


def validate_identifier(
    name: str, *, what: str = "name", allow_schema: bool = False, dialect: str | URL | Any | None = None
) -> tuple[str | None, str]:
    """Check a table/column name against `IDENTIFIER_RE` and the database's length limit.

    Returns ``(schema, name)``. Names are validated *and* later quoted by the dialect's identifier
    preparer: validation gives a clear error for hostile or mistyped names (``x; DROP TABLE y``) and
    for names the database would silently truncate (PostgreSQL keeps 63 bytes: a longer name would
    address a *different* table); quoting keeps reserved words safe. `dialect` is a backend name, a
    URL or a SQLAlchemy dialect; without it the portable limit (63 bytes) applies.
    """
    if not isinstance(name, str):
        raise InputError(f"invalid {what} {name!r}: not a string")
    parts = name.split(".") if allow_schema else [name]
    if len(parts) > 2 or not all(IDENTIFIER_RE.fullmatch(p) for p in parts):
        form = "[schema.]name" if allow_schema else "name"
        raise InputError(
            f"invalid {what} {name!r}: expected {form} where each part matches ^[A-Za-z_][A-Za-z0-9_]*$ "
            "(letters, digits, underscore; no spaces, quotes or semicolons)"
        )
    check_identifier_length(name, dialect, what=what)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
