"""Scale-out end to end (SPEC O6, issue 20): `leadmaster cluster --web 2 --workers 1` exactly as an operator starts
it — HAProxy in front, two web processes, a worker process, one PostgreSQL database — and two agents of Casa Central
in Chromium, each stuck to a different web process. What one does, the other sees live (messages, typing, who is
viewing), through the PostgreSQL event bus; both press "Tomar" at once and exactly one gets the conversation, the
other is told who did. PostgreSQL only: a cluster needs it. The test fails (never skips) when the PostgreSQL of
LEADMASTER_TEST_POSTGRES_URL is unreachable (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from sqlmodel import col, select

from services.database import Database
from services.models import Contact, Conversation, User
from tests.conftest import REPO_ROOT, fresh_postgres_database
from tests.e2e.conftest import DEMO_PASSWORD, START_TIMEOUT_SECONDS, _free_port, app_env
from tests.e2e.test_inbox import customer_says, thread

COOKIE = 'LM_WEB'  # the balancer's: which web process a browser is stuck to (app/commands/cluster.py)
INSTANCE_HEADER = 'x-leadmaster-instance'


@dataclass
class RunningCluster:
    base_url: str
    env: dict[str, str]
    output: Path
    process: subprocess.Popen[bytes]

    def tail(self, lines: int = 80) -> str:
        return '\n'.join(self.output.read_text(errors='replace').splitlines()[-lines:])


def _wait_until_serving(cluster: RunningCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS + 60  # demo seed, then two web processes and a worker
    while time.monotonic() < deadline:
        if cluster.process.poll() is not None:
            pytest.fail(
                f'leadmaster cluster exited with {cluster.process.returncode}:\n{cluster.tail()}', pytrace=False
            )
        if 'cluster | LeadMaster on http' in cluster.output.read_text(errors='replace'):
            try:
                names = {
                    httpx.get(f'{cluster.base_url}/health', timeout=2).headers.get(INSTANCE_HEADER) for _ in range(4)
                }
            except httpx.HTTPError:
                names = set()
            if names == {'web1', 'web2'}:  # both in the balancer's rotation
                return
        time.sleep(0.3)
    pytest.fail(f'the cluster did not serve from both web processes in time:\n{cluster.tail()}', pytrace=False)


@pytest.fixture(scope='module')
def running_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    workdir = tmp_path_factory.mktemp('cluster')
    port, web_ports = _free_port(), [_free_port(), _free_port()]
    env = app_env(
        database_url=fresh_postgres_database('leadmaster_e2e_cluster'),
        port=port,
        workdir=workdir,
        LEADMASTER_DEMO_PASSWORD=DEMO_PASSWORD,
        LEADMASTER_DEMO_CATALOG_SIZE='200',
        LEADMASTER_ASSISTANT_ENABLED='false',  # the agents' own exchange, without the bot's turns in between
    )
    output = workdir / 'cluster.log'
    with output.open('wb') as log:
        process = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'app.cli',
                'cluster',
                '--web',
                '2',
                '--workers',
                '1',
                '--web-ports',
                ','.join(map(str, web_ports)),
                '--demo',
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cluster = RunningCluster(f'http://127.0.0.1:{port}', env, output, process)
    try:
        _wait_until_serving(cluster)
        yield cluster
    finally:
        children = []
        if process.poll() is None:
            children = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
    # SIGTERM stops every process it started: no web process, worker or HAProxy is left behind.
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f'left running after SIGTERM: {[p.pid for p in alive]}\n{cluster.tail()}'
    assert process.returncode == 0, cluster.tail()


async def agent_on(
    browser: Browser, cluster: RunningCluster, username: str, instance: str
) -> tuple[BrowserContext, Page]:
    """`username` signed in, in a browser stuck to web process `instance` (as if the balancer had chosen it)."""
    context = await browser.new_context()
    await context.add_cookies([{'name': COOKIE, 'value': instance, 'url': cluster.base_url}])
    page = await context.new_page()
    served_by: list[str | None] = []
    page.on('response', lambda response: served_by.append(response.headers.get(INSTANCE_HEADER)))
    await page.goto(cluster.base_url + '/login')
    await page.get_by_label('Usuario').fill(username)
    await page.get_by_label('Contraseña').fill(DEMO_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()
    await expect(page.get_by_placeholder('Buscar nombre, teléfono o mensaje')).to_be_visible()
    # Every answer (pages, scripts, the socket.io handshake) came from that process, and only from it.
    assert served_by and set(served_by) == {instance}, served_by
    return context, page


def panel(page: Page) -> Locator:
    """The right column (client panel), as in tests/e2e/test_takeover.py."""
    return page.locator('[class*="w-[350px]"]')


async def test_two_agents_on_two_web_processes_see_each_other_live_and_one_wins_a_take_race(
    running_cluster: RunningCluster, browser: Browser
) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    customer_name = f'Lautaro {digits[-4:]}'
    _, ana = await agent_on(browser, running_cluster, 'ana', 'web1')
    _, bruno = await agent_on(browser, running_cluster, 'bruno', 'web2')
    phone_context = await browser.new_context()
    await phone_context.add_cookies([{'name': COOKIE, 'value': 'web1', 'url': running_cluster.base_url}])
    phone = await phone_context.new_page()
    await phone.goto(running_cluster.base_url + '/simulador')
    await phone.get_by_label('Tu nombre').fill(customer_name)
    await phone.get_by_label('Tu teléfono').fill(f'+54 9 11 {digits[:4]} {digits[4:]}')
    await phone.get_by_label('Tu teléfono').blur()

    # The customer writes (journaled by web1, stored by the worker process): both inboxes show it, live.
    await customer_says(phone, 'Hola, ¿tienen cubiertas 175/65 R14?')
    for page in (ana, bruno):
        await page.locator('.q-item', has_text=customer_name).click()
        await expect(thread(page).get_by_text('Hola, ¿tienen cubiertas 175/65 R14?')).to_be_visible()

    # Who is viewing and who is typing cross from one process to the other.
    await expect(bruno.get_by_text('Ana Gómez está viendo')).to_be_visible()
    await expect(ana.get_by_text('Bruno Fernández está viendo')).to_be_visible()
    await ana.get_by_placeholder('Escribí una respuesta').press_sequentially('Sí, tenemos Firestone')
    await expect(bruno.get_by_text('Ana Gómez está escribiendo…')).to_be_visible()
    # She deletes it: her mark goes too (at the latest when it expires), or Bruno's sends would ask first.
    await ana.get_by_placeholder('Escribí una respuesta').fill('')
    await expect(bruno.get_by_text('Ana Gómez está escribiendo…')).to_have_count(0)
    await expect(bruno.get_by_text('Ana Gómez está viendo')).to_be_visible()

    # Both press "Tomar" at the same moment, each on a different web process: exactly one gets it.
    takes = [panel(page).get_by_role('button', name='Tomar') for page in (ana, bruno)]
    for take in takes:
        await expect(take).to_be_visible()
    # Clicked in the same instant (no actionability waits in between): both clicks reach their processes before
    # either hears of the other's take, as when two agents really press at once.
    await asyncio.gather(*(take.dispatch_event('click') for take in takes))
    holder = await holder_of(running_cluster, f'+54911{digits}')
    assert holder in {'Ana Gómez', 'Bruno Fernández'}
    winner, loser = (ana, bruno) if holder == 'Ana Gómez' else (bruno, ana)
    # The other is told: in words when their click reached their process first; when the winner's take got there
    # first, their button was already gone (NiceGUI ignores a click on a hidden element) and the holder is shown.
    told = loser.get_by_text(f'Ya la tomó {holder}.')
    # Both may show at once (the words and the badge): either one is enough.
    await expect(told.or_(panel(loser).locator('.q-badge', has_text=holder)).first).to_be_visible()
    await expect(winner.get_by_text(f'Ya la tomó {holder}.')).to_have_count(0)
    for page in (winner, loser):  # both processes show the one holder, and one take in the history
        await expect(panel(page).locator('.q-badge', has_text=holder)).to_be_visible()
        await expect(panel(page).get_by_text(re.compile(r'la tomó$'))).to_have_count(1)
    await expect(panel(loser).get_by_role('button', name='Tomar')).to_be_hidden()
    await expect(panel(winner).get_by_role('button', name='Liberar')).to_be_visible()

    # The holder's reply reaches the other process's page, and the customer.
    await say(winner, 'Sí, tenemos Firestone F-600 a $ 85.000')
    await expect(thread(loser).get_by_text('Sí, tenemos Firestone F-600 a $ 85.000')).to_be_visible()
    await expect(phone.get_by_text('Sí, tenemos Firestone F-600 a $ 85.000')).to_be_visible()
    # The holder lets it go; the other takes it (their page knew it was free) and answers: seen the other way round.
    await panel(winner).get_by_role('button', name='Liberar').click()
    await expect(panel(loser).get_by_role('button', name='Tomar')).to_be_visible()
    await panel(loser).get_by_role('button', name='Tomar').click()
    other = 'Bruno Fernández' if holder == 'Ana Gómez' else 'Ana Gómez'
    await expect(panel(winner).locator('.q-badge', has_text=other)).to_be_visible()
    await say(loser, 'También Pirelli P400 a $ 92.000')
    await expect(thread(winner).get_by_text('También Pirelli P400 a $ 92.000')).to_be_visible()
    await expect(phone.get_by_text('También Pirelli P400 a $ 92.000')).to_be_visible()
    assert await holder_of(running_cluster, f'+54911{digits}') == other


async def say(page: Page, text: str) -> None:
    composer = page.get_by_placeholder('Escribí una respuesta')
    await composer.fill(text)
    await composer.press('Enter')


async def holder_of(cluster: RunningCluster, phone_e164: str) -> str | None:
    """The full name of the agent holding the customer's conversation, from the database."""
    db = Database.from_url(cluster.env['LEADMASTER_DATABASE_URL'])
    try:
        async with db.session() as session:
            return (
                await session.exec(
                    select(User.full_name)
                    .join(Conversation, col(Conversation.assigned_user_id) == col(User.id))
                    .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                    .where(Contact.phone_e164 == phone_e164)
                )
            ).one_or_none()
    finally:
        await db.dispose()


async def test_a_visitor_without_the_cookie_is_given_one_process_and_stays_on_it(
    running_cluster: RunningCluster,
) -> None:
    """The balancer's cookie: set on the first answer, and with it every later request reaches the same process."""
    async with httpx.AsyncClient(base_url=running_cluster.base_url, timeout=10) as http:
        first = await http.get('/login')
        instance = first.headers[INSTANCE_HEADER]
        assert first.cookies.get(COOKIE) == instance
        assert {(await http.get('/login')).headers[INSTANCE_HEADER] for _ in range(6)} == {instance}
    # Without it, new visitors are spread over both processes.
    served = set()
    for _ in range(6):
        async with httpx.AsyncClient(base_url=running_cluster.base_url, timeout=10) as newcomer:
            served.add((await newcomer.get('/login')).headers[INSTANCE_HEADER])
    assert served == {'web1', 'web2'}


def test_the_cluster_refuses_sqlite(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'},
        'LEADMASTER_DATABASE_URL': '',
        'LEADMASTER_VAR_DIR': str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, '-m', 'app.cli', 'cluster', '--web', '2'],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert 'leadmaster cluster needs PostgreSQL' in result.stderr
