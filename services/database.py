"""The one handle services use to reach the database: an async engine plus a session factory.

Services receive a `Database` and open their own short unit of work, so pages and components
never hold a database session (SPEC §6).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import Conflict


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


def create_engine_for(url: str, **kwargs: Any) -> AsyncEngine:
    # Errors would otherwise quote bound parameters (message text, phone numbers) into logs and the
    # webhook journal's error column (O3: no message bodies in logs).
    kwargs.setdefault('hide_parameters', True)
    parsed = make_url(url)
    if parsed.get_backend_name() == 'sqlite':
        if parsed.database and parsed.database != ':memory:':
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={'timeout': 30}, **kwargs)
        event.listen(engine.sync_engine, 'connect', _sqlite_pragmas)
        return engine
    kwargs.setdefault('pool_size', 10)
    kwargs.setdefault('max_overflow', 20)
    kwargs.setdefault('pool_pre_ping', True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pages read while ingest writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.close()


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

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

    async def ping(self) -> None:
        """Raise `DatabaseUnavailable` with the driver's reason when the database cannot be reached."""
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql('SELECT 1')
        except (OSError, SQLAlchemyError) as exc:  # asyncpg raises OSError subclasses when the server is down
            raise DatabaseUnavailable(f'database unreachable ({self.engine.url.render_as_string()}): {exc}') from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
