"""Alembic environment. The app passes an open connection (see app/database.py); the `alembic`
command line gets none and connects with the same settings as the app."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import services.models  # noqa: F401  - registers every table on SQLModel.metadata
from app.migrations.search_objects import include_name
from services.database import FOREIGN_KEYS_OFF

target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # The JSON/JSONB variant would otherwise render with names the migration does not import.
    if type_ == 'type' and isinstance(obj, JSON) and 'postgresql' in getattr(obj, '_variant_mapping', {}):
        return 'services.models.types.JSONType'
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables there and is a no-op on PostgreSQL.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        # The inbox-search indexes and FTS5 tables (migration 0003) are not in the models; leave them alone.
        include_name=include_name,
    )
    # SQLite's batch mode rebuilds a table by copying it and dropping the old one; with foreign keys enforced,
    # dropping a table other rows point at fails (a downgrade of `branches` with data in it). Off for the
    # migration and checked afterwards. The pragma only works outside a transaction: pysqlite begins one at the
    # first write, so this runs first; the pool turns them on again when the connection comes back
    # (services/database.py).
    sqlite = connection.dialect.name == 'sqlite'
    if sqlite:
        connection.exec_driver_sql('PRAGMA foreign_keys=OFF')
        connection.info[FOREIGN_KEYS_OFF] = True
    with context.begin_transaction():
        context.run_migrations()
    if sqlite and (broken := connection.exec_driver_sql('PRAGMA foreign_key_check').fetchall()):
        raise RuntimeError(f'the migration left rows pointing at nothing: {broken[:5]}')


async def _run_with_own_engine() -> None:
    from app.settings import Settings
    from services.database import create_engine_for

    engine = create_engine_for(Settings().effective_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit('offline (SQL script) migrations are not supported; run against a database')

shared_connection = context.config.attributes.get('connection')
if shared_connection is not None:
    run_migrations(shared_connection)
else:
    asyncio.run(_run_with_own_engine())
