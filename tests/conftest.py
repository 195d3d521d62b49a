"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from LEADMASTER_TEST_POSTGRES_URL (CI sets it; locally it defaults to the server on
127.0.0.1:5432). If that server is unreachable the PostgreSQL variants FAIL, they never skip; the only
way to leave them out is to say so explicitly with LEADMASTER_TEST_POSTGRES_URL=skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from nicegui.testing.user import User as SimulatedUser
from nicegui.testing.user_simulation import user_simulation
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from app.database import upgrade_to_head
from services.database import Database
from services.models import Branch, Role, User, WhatsAppNumber
from services.models.base import ChannelKind
from services.passwords import hash_password

REPO_ROOT = Path(__file__).resolve().parent.parent
MAIN_FILE = REPO_ROOT / 'app' / 'main.py'
DEFAULT_POSTGRES_URL = 'postgresql+asyncpg://postgres@127.0.0.1:5432/test'
TEST_DATABASE_NAME = 'leadmaster_test'
PASSWORD = 'correct horse battery'  # every named test user's password
APP_SECRET = 'test-meta-app-secret'
VERIFY_TOKEN = 'test-verify-token'


def postgres_url_setting() -> str | None:
    value = os.environ.get('LEADMASTER_TEST_POSTGRES_URL', DEFAULT_POSTGRES_URL).strip()
    return None if value.lower() == 'skip' else value


def _asyncpg_dsn(url: str, database: str) -> str:
    return make_url(url).set(drivername='postgresql', database=database).render_as_string(hide_password=False)


async def _recreate_postgres_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; returns its SQLAlchemy URL."""
    maintenance = make_url(server_url).database or 'postgres'
    connection = await asyncpg.connect(_asyncpg_dsn(server_url, maintenance), timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


_created_databases: set[str] = set()


def fresh_postgres_database(name: str) -> str:
    """A new empty PostgreSQL database, or a test failure naming the unreachable server. The name gets this
    process's id, so two test runs on one machine never truncate each other's tables; dropped at the end."""
    server_url = postgres_url_setting()
    if server_url is None:
        pytest.skip('PostgreSQL variant disabled by LEADMASTER_TEST_POSTGRES_URL=skip')
    name = f'{name}_{os.getpid()}'
    try:
        url = asyncio.run(_recreate_postgres_database(server_url, name))
        _created_databases.add(name)
        return url
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(f'PostgreSQL at {make_url(server_url).render_as_string()} is unreachable: {exc!r}', pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    server_url = postgres_url_setting()
    if server_url is None or not _created_databases:
        return

    async def drop() -> None:
        maintenance = make_url(server_url).database or 'postgres'
        connection = await asyncpg.connect(_asyncpg_dsn(server_url, maintenance), timeout=10)
        try:
            for name in sorted(_created_databases):
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    with contextlib.suppress(OSError, asyncpg.PostgresError):  # the server went away: nothing left to clean
        asyncio.run(drop())


async def _migrate(url: str) -> None:
    db = Database.from_url(url)
    try:
        await upgrade_to_head(db)
    finally:
        await db.dispose()


@pytest.fixture(scope='session')
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating per test)."""
    path = tmp_path_factory.mktemp('sqlite-template') / 'template.sqlite3'
    asyncio.run(_migrate(f'sqlite+aiosqlite:///{path}'))
    return path


@pytest.fixture(scope='session')
def postgres_migrated_url() -> str:
    url = fresh_postgres_database(TEST_DATABASE_NAME)
    asyncio.run(_migrate(url))
    return url


def _emptying_script() -> str:
    """Every table emptied, children first, and every sequence back to 1, in one transaction.

    DELETE rather than TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of the ~50 tables and their indexes
    new files (0.25 s per test on the development VM, a third of the suite's time); DELETE of a few rows takes 5 ms."""
    deletes = '; '.join(f'DELETE FROM "{table.name}"' for table in reversed(SQLModel.metadata.sorted_tables))  # noqa: S608 - our own table names
    sequences = (
        'SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace '
        "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
    )
    return f'BEGIN; {deletes}; {sequences}; COMMIT'


async def _truncate_all(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url, make_url(url).database or ''))
    try:
        await connection.execute(_emptying_script())
    finally:
        await connection.close()


@pytest.fixture(params=['sqlite', 'postgresql'])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database for this test."""
    if request.param == 'sqlite':
        template: Path = request.getfixturevalue('sqlite_template')
        path = tmp_path / 'leadmaster.sqlite3'
        shutil.copy(template, path)
        return f'sqlite+aiosqlite:///{path}'
    url: str = request.getfixturevalue('postgres_migrated_url')
    asyncio.run(_truncate_all(url))
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@dataclass
class World:
    """Named people of two branches, healthchecks-style: tests read like stories about them."""

    central: Branch  # SUC1
    rosario: Branch  # SUC2
    central_number: WhatsAppNumber
    rosario_number: WhatsAppNumber
    ana: User  # agent, SUC1
    bruno: User  # agent, SUC2
    marta: User  # manager, SUC1
    jorge: User  # admin
    password: str = PASSWORD


@pytest.fixture
async def world(db: Database) -> World:
    password_hash = hash_password(PASSWORD)
    async with db.session() as session:
        central = Branch(code='SUC1', name='Casa Central', city='CABA')
        rosario = Branch(code='SUC2', name='Rosario', city='Rosario')
        session.add_all([central, rosario])
        await session.flush()
        central_number = WhatsAppNumber(
            branch_id=central.id or 0,
            channel=ChannelKind.SIMULATOR,
            phone_number_id='pn-central',
            display_phone='+5491150000101',
        )
        rosario_number = WhatsAppNumber(
            branch_id=rosario.id or 0,
            channel=ChannelKind.SIMULATOR,
            phone_number_id='pn-rosario',
            display_phone='+5493415000201',
        )
        people = {
            'ana': User(
                username='ana',
                full_name='Ana Gómez',
                role=Role.AGENT,
                branch_id=central.id,
                password_hash=password_hash,
            ),
            'bruno': User(
                username='bruno',
                full_name='Bruno Fernández',
                role=Role.AGENT,
                branch_id=rosario.id,
                password_hash=password_hash,
            ),
            'marta': User(
                username='marta',
                full_name='Marta Sosa',
                role=Role.MANAGER,
                branch_id=central.id,
                password_hash=password_hash,
            ),
            'jorge': User(username='jorge', full_name='Jorge Pereyra', role=Role.ADMIN, password_hash=password_hash),
        }
        session.add_all([central_number, rosario_number, *people.values()])
        await session.commit()
    return World(
        central=central,
        rosario=rosario,
        central_number=central_number,
        rosario_number=rosario_number,
        ana=people['ana'],
        bruno=people['bruno'],
        marta=people['marta'],
        jorge=people['jorge'],
    )


@pytest.fixture
def app_environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Environment for building the app in-process against this test's database."""
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    monkeypatch.setenv('LEADMASTER_SECRET_KEY', 'test-secret-key-not-for-production')
    monkeypatch.setenv('LEADMASTER_MIGRATE_ON_START', 'false')  # the fixture database is already migrated
    monkeypatch.setenv('LEADMASTER_DEFAULT_LOCALE', 'es')
    monkeypatch.setenv('LEADMASTER_WHATSAPP_APP_SECRET', APP_SECRET)
    monkeypatch.setenv('LEADMASTER_WHATSAPP_VERIFY_TOKEN', VERIFY_TOKEN)
    # Workers are driven explicitly (`runtime().ingest.drain()`), so tests see a deterministic order; they live in
    # this process even on PostgreSQL, whose cross-process bus stays on (every event published here must cross).
    monkeypatch.setenv('LEADMASTER_RUN_WORKERS', 'false')
    monkeypatch.setenv('LEADMASTER_WORKER_PROCESS', 'inline')
    yield database_url


# NiceGUI's simulated browser looks for an element three times, 0.1 s apart, unless told otherwise. A page answers a
# click after a database round trip or an event, which on a busy CI machine (both cores taken) takes seconds: every
# `should_see` / `should_not_see` keeps looking for up to 10 s. A test that passes returns at the first look.
for _wait in (SimulatedUser.should_see, SimulatedUser.should_not_see):
    assert _wait.__kwdefaults__ is not None and 'retries' in _wait.__kwdefaults__
    _wait.__kwdefaults__['retries'] = 100


@pytest.fixture
async def user(app_environment: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[SimulatedUser]:
    """NiceGUI's simulated browser (no real browser) on the real app, against this test's database."""
    async with user_simulation(main_file=MAIN_FILE) as simulated:
        yield simulated
    errors = [record for record in caplog.get_records('call') if record.levelname == 'ERROR']
    if errors:
        pytest.fail(f'unexpected ERROR logs: {[record.getMessage() for record in errors]}', pytrace=False)
