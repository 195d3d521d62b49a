"""The one handle services use to reach the database: an async engine plus a session factory.

Services receive a `Database` and open their own short unit of work, so pages and components
never hold a database session (SPEC §6).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from .errors import Conflict


def select_columns(*columns: Any) -> Select[*tuple[Any, ...]]:
    """`sqlmodel.select` of any number of columns, for `session.exec`: rows come back as `tuple[Any, ...]`.

    SQLModel's `select` is typed for at most four columns (mypy finds no overload beyond); at runtime it builds
    exactly this `Select` for two or more. `columns` is `Any` because SQLModel types a model's columns as their
    Python values (`Sale.branch_id` is an `int` to mypy)."""
    return Select(*columns)


async def add_unique(session: AsyncSession, row: SQLModel, *, conflict: str) -> None:
    """Add `row` and flush it, so its id is known; a unique-constraint violation becomes `Conflict`
    (the database decides, which stays right when two requests race)."""
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; callers show a clear error instead of a stack trace."""


def create_engine_for(url: str, *, command_timeout: float | None = None, **kwargs: Any) -> AsyncEngine:
    # Errors would otherwise quote bound parameters (message text, phone numbers) into logs and the
    # webhook journal's error column (O3: no message bodies in logs).
    kwargs.setdefault('hide_parameters', True)
    parsed = make_url(url)
    if parsed.get_backend_name() == 'sqlite':
        if parsed.database and parsed.database != ':memory:':
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={'timeout': 30}, **kwargs)
        event.listen(engine.sync_engine, 'connect', _sqlite_pragmas)
        event.listen(engine.sync_engine, 'checkin', _sqlite_foreign_keys_back_on)
        return engine
    kwargs.setdefault('pool_size', 10)
    kwargs.setdefault('max_overflow', 20)
    # A database that stalls (the network drops its packets) must not hang a connection attempt for the kernel's
    # minutes: five seconds to connect; statements get `command_timeout` when the caller sets one.
    connect_args = {'timeout': 5.0, **kwargs.pop('connect_args', {})}
    if command_timeout is not None:
        connect_args['command_timeout'] = command_timeout
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    if not kwargs.get('pool_pre_ping'):
        _ping_idle_connections(engine)
    return engine


# A pooled connection unused for longer than this is checked with a ping before it is handed out. SQLAlchemy's
# pool_pre_ping pings on EVERY checkout: one more round trip per unit of work, and a page action is several, each
# waiting for a CPU on a busy server. Connections in steady use were just proven alive; the ones that die quietly
# (server restarted, idle timeouts of the server or of a proxy) are the idle ones. A connection that breaks
# within this window fails its statement once; SQLAlchemy then invalidates the whole pool, so the next unit of
# work reconnects.
IDLE_PING_SECONDS = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    dialect = engine.sync_engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info['idle_since'] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop('idle_since', None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's own error types; any failure means "do not use this one"
            # The pool discards this connection and hands out (or opens) another one.
            raise DisconnectionError('idle connection failed its ping') from exc

    event.listen(engine.sync_engine, 'checkin', checked_in)
    event.listen(engine.sync_engine, 'checkout', checked_out)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pages read while ingest writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.close()


# Set on a connection's `info` by the migrations, which turn foreign keys off (app/migrations/env.py).
FOREIGN_KEYS_OFF = 'leadmaster_foreign_keys_off'


def _sqlite_foreign_keys_back_on(dbapi_connection: Any, record: Any) -> None:
    # The pragma is ignored inside a transaction, so it cannot be restored where the migration ends; here, back in
    # the pool, the transaction is over and the next user gets a connection that enforces foreign keys again.
    if record.info.pop(FOREIGN_KEYS_OFF, False):
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.close()


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        # Same pool, connections in autocommit: a read needs no BEGIN and no ROLLBACK round trip.
        self._autocommit_sessions = async_sessionmaker(
            engine.execution_options(isolation_level='AUTOCOMMIT'), class_=AsyncSession, expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine_for(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit is explicit, anything left uncommitted is rolled back."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def autocommit_session(self) -> AsyncIterator[AsyncSession]:
        """Every statement is its own transaction: for reads, and for writes that are ONE statement (a conditional
        UPDATE … RETURNING). No BEGIN, COMMIT or ROLLBACK round trips; several reads may see different moments
        (what pages show is re-read on the next event anyway). Anything that must commit together uses `session`."""
        async with self._autocommit_sessions() as session:
            yield session

    async def ping(self) -> None:
        """Raise `DatabaseUnavailable` with the driver's reason when the database cannot be reached."""
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql('SELECT 1')
        except (OSError, SQLAlchemyError) as exc:  # asyncpg raises OSError subclasses when the server is down
            raise DatabaseUnavailable(f'database unreachable ({self.engine.url.render_as_string()}): {exc}') from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
