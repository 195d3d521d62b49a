"""Migrations bring an empty database to the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

from app.database import alembic_config, pending_migrations, upgrade_to_head
from app.migrations.search_objects import include_name
from services.database import Database
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=['sqlite', 'postgresql'])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == 'sqlite':
        return f'sqlite+aiosqlite:///{tmp_path / "empty.sqlite3"}'
    return fresh_postgres_database('leadmaster_migrations_test')


@pytest.fixture
async def empty_database(empty_database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(empty_database_url)
    yield database
    await database.dispose()


async def test_empty_database_migrates_to_head_with_every_table(empty_database: Database) -> None:
    assert await pending_migrations(empty_database)

    await upgrade_to_head(empty_database)

    assert not await pending_migrations(empty_database)
    async with empty_database.engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert set(SQLModel.metadata.tables) <= tables


async def test_migrations_match_the_models_exactly(empty_database: Database) -> None:
    """Autogenerate must find nothing to do: a model change without a migration fails here.
    The hand-made search objects (migration 0003) are left out exactly as env.py leaves them out."""
    await upgrade_to_head(empty_database)

    async with empty_database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={'compare_type': True, 'include_name': include_name}),
                SQLModel.metadata,
            )
        )

    assert differences == []


async def test_upgrading_twice_is_harmless(empty_database: Database) -> None:
    await upgrade_to_head(empty_database)
    await upgrade_to_head(empty_database)

    assert not await pending_migrations(empty_database)


async def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_unroutable_changes_become_dead_letters_and_go_back(empty_database: Database) -> None:
    """0010 moves the dead letters of unknown numbers into `dead_letters` (kind unroutable) and back on downgrade."""
    await _migrate(empty_database, '0009')
    async with empty_database.engine.begin() as connection:
        await connection.execute(
            text(
                'INSERT INTO webhook_deliveries (source, received_at, body, status, error, attempts, message_count, '
                "status_count) VALUES ('cloud', CURRENT_TIMESTAMP, '{}', 'processed', '', 1, 1, 0)"
            )
        )
        await connection.execute(
            text(
                'INSERT INTO unroutable_changes (delivery_id, phone_number_id, display_phone_number, message_count, '
                "status_count, created_at, sample) VALUES (1, '999000111', '5491100000000', 3, 1, CURRENT_TIMESTAMP, "
                '\'{"id": "wamid.X"}\')'
            )
        )

    await upgrade_to_head(empty_database)
    async with empty_database.engine.connect() as connection:
        rows = (
            await connection.execute(
                text('SELECT kind, phone_number_id, message_count, status_count, resolved_at FROM dead_letters')
            )
        ).all()
    assert [tuple(row) for row in rows] == [('unroutable', '999000111', 3, 1, None)]

    await _migrate(empty_database, '0009', down=True)
    async with empty_database.engine.connect() as connection:
        back = (await connection.execute(text('SELECT phone_number_id, message_count FROM unroutable_changes'))).all()
    assert [tuple(row) for row in back] == [('999000111', 3)]
