"""The worker process (SPEC O6): the background work runs beside the web process, joined to it by the PostgreSQL
event bus; `leadmaster run` keeps one alive, and it never outlives its web process.

These start the real `leadmaster worker` command as a child process against PostgreSQL (the only database it runs
on) and play the web process with a bus of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from app.cli import cli
from app.event_bus import PostgresEventBus
from app.settings import Settings
from app.worker_process import PARENT_PID_VARIABLE, WorkerProcess
from services.database import Database
from services.events import MESSAGE_CREATED, Event
from services.presence import PRESENCE_ONLINE
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once, journaled_event
from tests.conftest import APP_SECRET, REPO_ROOT, World
from tests.fakes.tcp_proxy import TcpProxy

ON_POSTGRESQL = pytest.mark.parametrize('database_url', ['postgresql'], indirect=True)
STARTUP_SECONDS = 60  # a child process imports the app; the test machine is often busy


@pytest.fixture
def worker_settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        'LEADMASTER_DATABASE_URL': database_url,
        'LEADMASTER_VAR_DIR': str(tmp_path / 'var'),
        'LEADMASTER_WHATSAPP_APP_SECRET': APP_SECRET,
        'LEADMASTER_ASSISTANT_ENABLED': 'false',
    }.items():
        monkeypatch.setenv(name, value)
    return Settings()


class WebSide:
    """What the web process sees of the workers: the events on the bus."""

    def __init__(self, bus: PostgresEventBus) -> None:
        self.bus = bus
        self.created: asyncio.Queue[Event] = asyncio.Queue()
        self.worker_hellos: asyncio.Queue[Event] = asyncio.Queue()
        bus.subscribe(self.created.put_nowait, branch_ids=None, kinds=[MESSAGE_CREATED])
        # A starting worker asks who is online: that is how we know it listens.
        bus.subscribe(
            lambda event: self.worker_hellos.put_nowait(event) if event.data.get('ask') else None,
            branch_ids=None,
            kinds=[PRESENCE_ONLINE],
        )

    async def customer_writes(self, db: Database, world: World, text: str, wamid: str) -> Event:
        """A webhook as the web process journals it, then the bus's wake-up; the worker stores it."""
        await journal_once(
            db,
            json.dumps(
                build.envelope(
                    phone_number_id=world.central_number.phone_number_id,
                    display_phone_number='5491150000101',
                    contacts=[build.contact(wa_id='5491155550101', name='José')],
                    messages=[build.text_message(from_='5491155550101', body=text, wa_message_id=wamid)],
                )
            ),
        )
        await self.bus.publish([journaled_event()])
        return await asyncio.wait_for(self.created.get(), timeout=20)


@pytest.fixture
async def web_side(database_url: str) -> AsyncIterator[WebSide]:
    bus = PostgresEventBus.from_sqlalchemy_url(database_url)
    await bus.start(wait_seconds=10)
    yield WebSide(bus)
    await bus.stop()


@ON_POSTGRESQL
async def test_the_worker_process_stores_what_the_web_process_journals_and_is_restarted_when_killed(
    worker_settings: Settings, web_side: WebSide, db: Database, world: World
) -> None:
    workers = WorkerProcess(worker_settings, restart_delay_seconds=0.2)
    workers.start()
    try:
        await asyncio.wait_for(web_side.worker_hellos.get(), timeout=STARTUP_SECONDS)
        stored = await web_side.customer_writes(db, world, 'hola, ¿tienen filtro de aceite?', 'wamid.W1')
        assert stored.data['text'] == 'hola, ¿tienen filtro de aceite?' and stored.branch_id == world.central.id

        first_pid = workers.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)  # the OOM killer, a segfault in a C extension…
        await asyncio.wait_for(web_side.worker_hellos.get(), timeout=STARTUP_SECONDS)
        assert workers.restarts == 1 and workers.pid not in (None, first_pid)
        stored = await web_side.customer_writes(db, world, 'sigo acá', 'wamid.W2')
        assert stored.data['text'] == 'sigo acá'
    finally:
        process = workers.process
        await workers.stop()
    assert process is not None and process.returncode is not None  # stopped with the web process


@ON_POSTGRESQL
def test_a_worker_whose_web_process_is_gone_stops(worker_settings: Settings) -> None:
    # Started as if by a web process that no longer exists (its pid is not our parent): it stops by itself.
    env = {**os.environ, PARENT_PID_VARIABLE: str(os.getpid() + 1_000_000)}
    result = subprocess.run(
        [sys.executable, '-m', 'app.cli', 'worker'],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    assert 'web process' in result.stderr and 'is gone' in result.stderr


def test_the_worker_command_refuses_sqlite_with_a_clear_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', f'sqlite+aiosqlite:///{tmp_path / "x.sqlite3"}')
    result = CliRunner().invoke(cli, ['worker'])
    assert result.exit_code == 2
    assert 'needs PostgreSQL' in result.output


async def test_a_crash_loop_is_retried_ever_more_slowly_but_a_worker_that_ran_fine_is_restarted_soon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that cannot start (here: refused on SQLite, exit 2) dies at once, again and again.
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', f'sqlite+aiosqlite:///{tmp_path / "x.sqlite3"}')
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    looping = WorkerProcess(Settings(), restart_delay_seconds=0.05, stable_seconds=3600)
    delays: list[float | None] = []
    looping.start()
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while looping.restarts < 2:
                await asyncio.sleep(0.02)
                if looping.last_restart_delay not in delays:
                    delays.append(looping.last_restart_delay)
    finally:
        await looping.stop()
    assert [delay for delay in delays if delay is not None][:2] == [0.05, 0.1]

    # The same failure after a long healthy run (stable_seconds 0: every run counts as one) is retried at once.
    steady = WorkerProcess(Settings(), restart_delay_seconds=0.05, stable_seconds=0)
    steady.start()
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while steady.restarts < 2:  # noqa: ASYNC110 - the supervisor only counts; nothing to wait on
                await asyncio.sleep(0.02)
        assert steady.last_restart_delay == 0.05
    finally:
        await steady.stop()


@ON_POSTGRESQL
async def test_a_worker_started_while_the_database_is_unreachable_waits_for_it_instead_of_dying(
    *, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web_side: WebSide, db: Database, world: World
) -> None:
    """Restarted during an outage, a worker that exited at its first ping made `leadmaster run` back off for up to
    30 s after the database came back; it now waits, and starts the moment the database answers."""
    url = make_url(database_url)
    with TcpProxy((url.host or '127.0.0.1', url.port or 5432)) as proxy:
        proxy.stall()  # connections are accepted and held: the worker's ping cannot get through
        for name, value in {
            'LEADMASTER_DATABASE_URL': url.set(host='127.0.0.1', port=proxy.port).render_as_string(hide_password=False),
            'LEADMASTER_VAR_DIR': str(tmp_path / 'var'),
            'LEADMASTER_WHATSAPP_APP_SECRET': APP_SECRET,
            'LEADMASTER_ASSISTANT_ENABLED': 'false',
        }.items():
            monkeypatch.setenv(name, value)
        workers = WorkerProcess(Settings(), restart_delay_seconds=0.2)
        workers.start()
        try:
            async with asyncio.timeout(STARTUP_SECONDS):
                while proxy.counts.accepted == 0:  # noqa: ASYNC110 - the proxy's thread counts; nothing to await
                    await asyncio.sleep(0.1)
            proxy.resume()
            await asyncio.wait_for(web_side.worker_hellos.get(), timeout=STARTUP_SECONDS)
            stored = await web_side.customer_writes(db, world, 'hola después del corte', 'wamid.W9')
        finally:
            await workers.stop()
    assert stored.data['text'] == 'hola después del corte'
    assert workers.restarts == 0  # it waited; it did not die and get restarted
