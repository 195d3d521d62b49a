"""Migrations bring an empty database to the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.database import pending_migrations, upgrade_to_head
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
