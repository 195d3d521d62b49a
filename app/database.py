"""Builds the app's `Database` from settings and brings its schema to the newest migration."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.settings import REPO_ROOT, Settings
from services.database import Database

MIGRATIONS_DIR = REPO_ROOT / 'app' / 'migrations'
# Several processes may start at once (web processes, the worker process, SPEC O6); on PostgreSQL they take turns
# migrating under this advisory lock, held until the migration's transaction ends; the later ones find nothing to do.
MIGRATION_LOCK_KEY = 0x4C4D_4D49  # "LMMI"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option('script_location', str(MIGRATIONS_DIR))
    return config


def database_from(settings: Settings) -> Database:
    if settings.effective_database_url.startswith('sqlite'):
        return Database.from_url(settings.effective_database_url)
    return Database.from_url(settings.effective_database_url, command_timeout=settings.database_command_timeout_seconds)


async def upgrade_to_head(db: Database) -> None:
    """Apply pending migrations on the given database (idempotent; safe at every start)."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.upgrade(config, 'head')

    async with db.engine.begin() as connection:
        if db.dialect == 'postgresql':
            await connection.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': MIGRATION_LOCK_KEY})
        await connection.run_sync(_upgrade)


async def pending_migrations(db: Database) -> bool:
    def _check(connection: Connection) -> bool:
        current = MigrationContext.configure(connection).get_current_heads()
        head = ScriptDirectory.from_config(alembic_config()).get_heads()
        return set(current) != set(head)

    async with db.engine.connect() as connection:
        return await connection.run_sync(_check)
