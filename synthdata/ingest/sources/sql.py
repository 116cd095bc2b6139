"""Reading a database table or a user's query safely.

A user query is one statement (checked with sqlglot's tokenizer: one statement, balanced
parentheses; a trailing `;` is fine), sent verbatim (no bind-parameter parsing, so `:name` and `%`
are plain text) inside a read-only transaction: PostgreSQL `SET TRANSACTION READ ONLY`, SQLite
`PRAGMA query_only`, MySQL/MariaDB `SET TRANSACTION READ ONLY` before the transaction starts.
Timestamps PostgreSQL cannot hand to Python (`infinity`, year > 9999) arrive as their text, so the
row is rejected (`bad_timestamp`) instead of ending the run. Errors while streaming are input
errors naming the masked URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthdata.db import validate_identifier
from synthdata.errors import InputError
from synthdata.ingest.sources.base import LINE, Source
from synthdata.masking import mask_url


@dataclass
class SqlSource(Source):
    """A database table or one-statement query: `sql` (the statement sent, verbatim), read through
    `engine` in a read-only transaction; `url` (unmasked) only to mask it out of driver messages."""

    engine: sa.Engine
    sql: str
    url: str = field(repr=False)
    table: str | None = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        start = 1
        with read_only(self.engine, self.label, self.url) as conn:
            res = conn.execution_options(stream_results=True, no_parameters=True).exec_driver_sql(self.sql)
            cols = list(res.keys())
            try:
                for rows in res.partitions(self.chunk_size):
                    df = pd.DataFrame.from_records(rows, columns=cols, coerce_float=True)
                    df[LINE] = range(start, start + len(df))
                    start += len(df)
                    yield df
            except sa.exc.SQLAlchemyError as e:
                msg = db_message(e, self.url)
                raise InputError(f"cannot read from database: {msg}", path=self.label) from None
            except (ValueError, OverflowError) as e:
                msg = str(e).splitlines()[0].replace(self.url, mask_url(self.url))
                raise InputError(f"cannot read from database: {msg}", path=self.label) from None

    def close(self) -> None:
        self.engine.dispose()


def single_statement(query: str, label: str) -> str:
    """The query without a trailing `;`; InputError unless it is exactly one statement."""
    import sqlglot
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.tokenize(query)
    except Exception as e:  # unterminated string or comment
        raise InputError(f"--query does not parse: {str(e).splitlines()[0]}", path=label) from None
    depth = 0
    for i, t in enumerate(tokens):
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif t.token_type == TokenType.SEMICOLON and i != len(tokens) - 1:
            raise InputError("--query must be exactly one statement (found `;` inside it)", path=label)
        if depth < 0:
            raise InputError("--query has an unbalanced `)`", path=label)
    if depth != 0:
        raise InputError("--query has an unbalanced `(`", path=label)
    if not tokens or tokens[0].token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
        raise InputError("--query must be a SELECT (or WITH ... SELECT) statement", path=label)
    text = query.strip()
    if tokens[-1].token_type == TokenType.SEMICOLON:
        text = text[: text.rstrip().rfind(";")].rstrip()
    return text


def _lenient_timestamps(dbapi_conn: Any, _rec: Any) -> None:
    """psycopg: load timestamps Python cannot represent as their text instead of raising."""
    adapters = getattr(dbapi_conn, "adapters", None)
    if adapters is None:
        return
    import psycopg
    from psycopg.types import datetime as dt

    for name, base in (
        ("timestamptz", dt.TimestamptzLoader),
        ("timestamp", dt.TimestampLoader),
        ("date", dt.DateLoader),
    ):

        class Lenient(base):  # type: ignore[misc, valid-type]
            def load(self, data: Any) -> Any:
                try:
                    return super().load(data)
                except psycopg.DataError:
                    return bytes(data).decode()

        adapters.register_loader(name, Lenient)


def make_engine(url: str, label: str) -> sa.Engine:
    try:
        engine = sa.create_engine(url)
    except Exception as e:
        raise InputError(f"bad database URL: {type(e).__name__}", path=label) from None
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _lenient_timestamps)
    return engine


@contextmanager
def read_only(engine: sa.Engine, label: str, url: str) -> Iterator[sa.Connection]:
    """A connection whose transaction cannot write; database errors become masked InputErrors."""
    name = engine.dialect.name
    try:
        with engine.connect() as conn:
            if name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            if name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            if name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()
                if name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
    except InputError:
        raise
    except sa.exc.SQLAlchemyError as e:
        raise InputError(f"cannot read from database: {db_message(e, url)}", path=label) from None


def db_message(e: BaseException, url: str) -> str:
    msg = str(getattr(e, "orig", None) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg.replace(url, mask_url(url))


def quote_table(engine: sa.Engine, table: str) -> str:
    """Validate `table` (optionally `schema.table`) and quote it for the dialect."""
    schema, name = validate_identifier(table, what="table name", allow_schema=True, dialect=engine.dialect)
    prep = engine.dialect.identifier_preparer
    return ".".join(prep.quote_identifier(p) for p in (schema, name) if p is not None)


def open_sql(url: str, *, table: str | None, query: str | None, chunk_size: int = 200_000) -> SqlSource:
    label = mask_url(url)
    if (table is None) == (query is None):
        raise InputError("a SQL source needs exactly one of --table or --query", path=label)
    engine = make_engine(url, label)
    if table is not None:
        sql = f"SELECT * FROM {quote_table(engine, table)}"
        label = f"{label} table {table}"
    else:
        sql = single_statement(query or "", f"{label} query")
        label = f"{label} query"
    try:
        with read_only(engine, label, url) as conn:
            res = conn.execution_options(stream_results=True, no_parameters=True).exec_driver_sql(sql)
            cols = list(res.keys())
            res.close()
    except Exception:
        engine.dispose()
        raise
    return SqlSource(
        label=label, columns=cols, chunk_size=chunk_size, engine=engine, sql=sql, url=url, table=table
    )
