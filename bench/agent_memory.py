"""Server memory per open agent page (issues 4, 20): RSS of `leadmaster run` with 0, 50, 100 and 200 inbox pages
open. Target: 200 pages on one web process, < 5 MB per page (the slope).

Each page is the inbox of an agent of branch BENCH with a conversation open (`/?c=<id>`): the list of 50 rows
and a thread of 50 messages, i.e. the page an agent keeps open all day. 100 conversations of 50 messages exist
(seeded through signed webhooks, the real ingest path).

The pages are opened by a light but real client: an HTTP GET of the page with the agent's session cookie (the
server builds the whole page, its element tree and its InboxPage with its event-bus subscription), then a
python-socketio client completing NiceGUI's websocket handshake exactly as nicegui.js does (same query:
client_id, next_message_id, implicit_handshake, document_id, tab_id), answering run_javascript requests and
acknowledging messages every 3 s as nicegui.js does, so the server keeps the client, its outbox and its history
as it would for a browser. 100 Chromium pages do not fit next to the server on 2 shared cores, and what the
server holds per page does not depend on who renders it. That claim is checked in the same run: the app is
restarted and `--chromium-pages` (20) real Chromium pages of the same agents are opened; the two per-page
figures should agree.

Before each reading the server is left to settle: no traffic, until RSS changes by less than 0.5 MB over 3 s.
(The server's garbage collector cannot be triggered from outside without changing the app; pages that closed
are given NiceGUI's reconnect_timeout first.) A warm-up opens and closes 10 pages before the 0-page reading so
one-time allocations (lazy imports, template caches, prepared statements) are not counted as per-page memory.

Issue 20 (SPEC O6): `--web 2` runs the app as `leadmaster cluster --web 2 --workers 1` behind HAProxy instead, the
pages spread evenly over the web processes (each pinned to one by the balancer's cookie, as a browser is); RSS is
the sum over the web processes. `--chromium-pages 200 --browsers 2` opens the Chromium cross-check's pages in two
browser processes (many pages each; `--renderer-limit` caps Chromium's renderer processes) so 200 real pages fit on
the machine.

Run: `.venv/bin/python bench/agent_memory.py [--sqlite] [--steps 50,100,200] [--web 1] [--chromium-pages 20]
[--browsers 1] [--renderer-limit 0]`
Ends with one JSON line: {"bench": "agent_memory", ...}.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
import socketio
from _common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEFAULT_POSTGRES,
    REPO_ROOT,
    BenchDatabase,
    create_agents,
    customer,
    free_port,
    ingest,
    load_average,
    login,
    post_webhook,
    print_app_log,
    signed_text,
    start_app,
    stop_app,
    wait_for_messages,
)
from playwright.async_api import Browser, BrowserContext, Page, StorageState, async_playwright
from sqlmodel import col, select

from services.database import Database
from services.models import Conversation

TARGET_MB_PER_PAGE = 5.0
AGENTS = 10
CONVERSATIONS = 100
THREAD = 50
# app/wiring.py's ui.run(reconnect_timeout=…): a closed page's client (and its memory) lives this long. Readings
# taken sooner would count the warm-up's closed pages as if they were still open.
RECONNECT_TIMEOUT_S = 15.0
QUERY = re.compile(r'query: (\{[^}]*\}),')
OPEN_ATTEMPTS = 5
RETRIES: list[str] = []  # pages whose first GET/handshake failed (server slower than NiceGUI's timeouts)
RELOADS: list[str] = []  # pages whose socket dropped (missed pings: the server's loop stalled) and were reopened
BALANCER_COOKIE = 'LM_WEB'  # HAProxy's, naming the web process a browser is stuck to (app/commands/cluster.py)
CLUSTER_START_SECONDS = 240


@dataclass
class App:
    """The app under test: `leadmaster run`, or `leadmaster cluster` (HAProxy + web processes + a worker)."""

    process: subprocess.Popen[bytes]
    base: str
    instances: list[str]  # web process names behind the balancer; [''] for one process alone

    def web_pids(self) -> list[int]:
        """The processes serving pages: the one, or every `leadmaster run` child of the cluster."""
        if self.instances == ['']:
            return [self.process.pid]
        pids = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if child.cmdline()[-1:] == ['run']:
                    pids.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return pids

    def rss_mb(self) -> float:
        return sum(rss_mb(pid) for pid in self.web_pids())

    def instance_of(self, n: int) -> str:
        """The web process page `n` is pinned to: round robin, so they are spread evenly."""
        return self.instances[n % len(self.instances)]


def start(db: BenchDatabase, work: Path, *, web: int, restart: bool = False) -> App:
    if web == 1:
        process, base = start_app(db, work, restart=restart)
        return App(process, base, [''])
    return start_cluster(db, work, web=web, restart=restart)


def start_cluster(db: BenchDatabase, work: Path, *, web: int, restart: bool = False) -> App:
    """`leadmaster cluster --web N --workers 1` on free ports, with bench/ingest.py's branch BENCH and numbers."""
    port, web_ports = free_port(), [free_port() for _ in range(web)]
    var_dir = work / 'var'
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env.update(
        LEADMASTER_DATABASE_URL=db.url,
        LEADMASTER_PORT=str(port),
        LEADMASTER_VAR_DIR=str(var_dir),
        LEADMASTER_WHATSAPP_APP_SECRET=ingest.SECRET,
        **ingest.EXTRA_ENV,
    )
    cli = [sys.executable, '-m', 'app.cli']
    if not restart:
        subprocess.run([*cli, 'branches', 'add', 'BENCH', 'Benchmark'], cwd=REPO_ROOT, env=env, check=True)
        for phone_number_id, display in ingest.NUMBERS:
            subprocess.run(
                [
                    *cli,
                    *('numbers', 'add', '--branch', 'BENCH', '--channel', 'cloud'),
                    *('--phone-number-id', phone_number_id, '--display', f'+{display}'),
                ],
                cwd=REPO_ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
    log = var_dir / 'app.log'
    process = subprocess.Popen(
        [*cli, 'cluster', '--web', str(web), '--workers', '1', '--web-ports', ','.join(map(str, web_ports))],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open('ab'),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + CLUSTER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f'leadmaster cluster exited with {process.returncode}:\n{log.read_text()[-4000:]}')
        if 'cluster | LeadMaster on' in log.read_text(errors='replace'):
            return App(process, f'http://127.0.0.1:{port}', [f'web{index}' for index in range(1, web + 1)])
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f'leadmaster cluster did not start in {CLUSTER_START_SECONDS} s:\n{log.read_text()[-4000:]}')


def stop(app: App) -> None:
    if app.instances == ['']:
        stop_app(app.process)
        return
    app.process.send_signal(signal.SIGTERM)  # the cluster stops its processes (up to 15 s each)
    try:
        app.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()


class LightPage:
    """One inbox page held open by HTTP + Socket.IO, behaving towards the server like nicegui.js."""

    def __init__(self, base: str, cookies: httpx.Cookies) -> None:
        self.base = base
        self.cookies = cookies
        self.path = ''
        self.socket = socketio.AsyncClient(reconnection=False)
        self.client_id = ''
        self.next_message_id = 0
        self.acked = -1
        self._acks: asyncio.Task[None] | None = None
        self.disconnect_reason = ''
        # bench/live_latency.py: called with the text of every message the server pushes (when it arrived is timed).
        self.on_message: Callable[[str], None] | None = None
        self.socket.on('*', self._message)
        self.socket.on('disconnect', self._disconnected)

    async def open(self, http: httpx.AsyncClient, path: str) -> None:
        """GET + handshake; on a 5xx (NiceGUI's response_timeout) or a refused socket, again, as a browser
        reloads. The retries are counted: they mean the server was too slow for its own timeouts."""
        self.path = path
        for attempt in range(OPEN_ATTEMPTS):
            try:
                await self._open_once(http, path)
                return
            except (httpx.HTTPStatusError, socketio.exceptions.ConnectionError):
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                RETRIES.append(path)
                await self._new_socket()
                await asyncio.sleep(1)

    async def reload(self, http: httpx.AsyncClient) -> None:
        """What nicegui.js ends up doing when its socket dropped for longer than reconnect_timeout."""
        RELOADS.append(self.path)
        if self._acks is not None:
            self._acks.cancel()
        await self._new_socket()
        await self.open(http, self.path)

    async def _new_socket(self) -> None:
        if self.socket.connected:
            await self.socket.disconnect()
        self.socket = socketio.AsyncClient(reconnection=False)
        self.socket.on('*', self._message)
        self.socket.on('disconnect', self._disconnected)

    async def _open_once(self, http: httpx.AsyncClient, path: str) -> None:
        response = await http.get(self.base + path, cookies=self.cookies)
        response.raise_for_status()
        if 'Buscar nombre' not in response.text:
            raise SystemExit(f'{path} did not return the inbox (signed out?)')
        # The template prints the query as a Python dict literal.
        if (printed := QUERY.search(response.text)) is None:
            raise SystemExit(f'{path}: no client query in the page')
        query: dict[str, Any] = ast.literal_eval(printed.group(1))
        self.client_id = query['client_id']
        self.next_message_id = int(query['next_message_id'])
        query.update(
            document_id=str(uuid.uuid4()),
            tab_id=str(uuid.uuid4()),
            implicit_handshake=str(query.get('implicit_handshake', True)).lower(),
        )
        cookie_header = '; '.join(f'{name}={value}' for name, value in self.cookies.items())
        await self.socket.connect(
            f'{self.base}/?{urlencode(query)}',
            socketio_path='/_nicegui_ws/socket.io',
            transports=['websocket'],
            headers={'Cookie': cookie_header},
            wait_timeout=30,
        )
        self._acks = asyncio.create_task(self._ack_every_3_s())

    async def _message(self, event: str, data: Any = None) -> None:
        if self.on_message is not None:
            self.on_message(json.dumps(data, ensure_ascii=False))
        if isinstance(data, dict) and '_id' in data:
            self.next_message_id = max(self.next_message_id, int(data['_id']) + 1)
        if event == 'run_javascript' and isinstance(data, dict) and data.get('request_id'):
            await self.socket.emit(
                'javascript_response', {'request_id': data['request_id'], 'client_id': self.client_id, 'result': None}
            )

    def _disconnected(self, reason: object = None) -> None:
        self.disconnect_reason = str(reason)

    async def _ack_every_3_s(self) -> None:
        while self.socket.connected:
            await asyncio.sleep(3)
            if self.acked < self.next_message_id and self.socket.connected:
                await self.socket.emit('ack', {'client_id': self.client_id, 'next_message_id': self.next_message_id})
                self.acked = self.next_message_id

    async def close(self) -> None:
        if self._acks is not None:
            self._acks.cancel()
        await self.socket.disconnect()


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


async def settled_rss(read: Callable[[], float], *, limit_seconds: float = 60) -> float:
    """RSS once it stops moving (< 0.5 MB over 3 s of samples), or the last sample after `limit_seconds`."""
    samples: list[float] = []
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        samples.append(read())
        recent = samples[-7:]
        if len(recent) == 7 and max(recent) - min(recent) < 0.5:
            break
        await asyncio.sleep(0.5)
    return samples[-1]


async def seed(db: BenchDatabase, base: str) -> list[int]:
    """100 conversations of 50 customer messages each, one signed webhook per conversation; their ids."""
    async with httpx.AsyncClient(timeout=30) as client:
        for index in range(CONVERSATIONS):
            texts = [f'Consulta {n} de {index}: ¿tienen amortiguadores delanteros para Corsa?' for n in range(THREAD)]
            body, signature = signed_text(customer(index), texts, serial=index)
            (await post_webhook(client, base, body, signature)).raise_for_status()
    await wait_for_messages(db.url, CONVERSATIONS * THREAD)
    database = Database.from_url(db.url)
    try:
        async with database.session() as session:
            ids = (await session.exec(select(Conversation.id).order_by(col(Conversation.id)))).all()
            return [conversation_id for conversation_id in ids if conversation_id is not None]
    finally:
        await database.dispose()


async def sign_in(browser: Browser, base: str, usernames: list[str]) -> list[StorageState]:
    """Each agent signs in once in Chromium; their storage states (session cookie) are reused after."""
    states = []
    for username in usernames:
        context = await browser.new_context()
        await login(context, base, username)
        states.append(await context.storage_state())
        await context.close()
    return states


def cookies_of(state: StorageState) -> httpx.Cookies:
    cookies = httpx.Cookies()
    for cookie in state['cookies']:
        cookies.set(cookie['name'], cookie['value'])
    return cookies


def pinned(cookies: httpx.Cookies, instance: str) -> httpx.Cookies:
    """The agent's cookies, plus the balancer's naming web process `instance` (none for one process alone)."""
    jar = httpx.Cookies()
    for name, value in cookies.items():
        jar.set(name, value)
    if instance:
        jar.set(BALANCER_COOKIE, instance)
    return jar


async def all_connected(http: httpx.AsyncClient, pages: Sequence[LightPage], *, quiet_seconds: float = 5) -> None:
    """Reopen pages whose socket dropped, until all stay connected for `quiet_seconds`."""
    for _ in range(20):
        dropped = [page for page in pages if not page.socket.connected]
        for page in dropped:
            await page.reload(http)
        await asyncio.sleep(quiet_seconds)
        if not dropped and all(page.socket.connected for page in pages):
            return
    raise SystemExit('light pages kept losing their sockets')


async def light_run(app: App, states: list[StorageState], ids: list[int], steps: list[int]) -> dict[int, float]:
    """RSS after the warm-up (0 pages) and with each number of light pages in `steps` open."""
    jars = [cookies_of(state) for state in states]
    readings: dict[int, float] = {}
    async with httpx.AsyncClient(timeout=60) as http:
        warm = [LightPage(app.base, pinned(jars[n % len(jars)], app.instance_of(n))) for n in range(10)]
        for n, page in enumerate(warm):
            await page.open(http, f'/?c={ids[n]}')
        await asyncio.sleep(2)
        for page in warm:
            await page.close()
        await asyncio.sleep(RECONNECT_TIMEOUT_S + 2)
        readings[0] = await settled_rss(app.rss_mb)
        print(f'  0 pages: {readings[0]:.1f} MB (after a warm-up of 10 pages opened and closed)')
        pages: list[LightPage] = []
        for target in steps:
            while len(pages) < target:
                n = len(pages)
                page = LightPage(app.base, pinned(jars[n % len(jars)], app.instance_of(n)))
                await page.open(http, f'/?c={ids[n % len(ids)]}')
                pages.append(page)
            await all_connected(http, pages)
            readings[target] = await settled_rss(app.rss_mb)
            await all_connected(http, pages)
            print(
                f'{target:>3} pages: {readings[target]:.1f} MB (all {len(pages)} websockets connected; '
                f'{len(RELOADS)} reopened after a dropped socket so far; load average {load_average()})'
            )
        for page in pages:
            await page.close()
    return readings


async def launch_browsers(playwright: Any, count: int, *, renderer_limit: int) -> list[Browser]:
    args = [*CHROMIUM_ARGS, f'--renderer-process-limit={renderer_limit}'] if renderer_limit else CHROMIUM_ARGS
    return [await playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True) for _ in range(count)]


async def chromium_run(
    browsers: list[Browser], app: App, *, states: list[StorageState], ids: list[int], count: int, concurrency: int
) -> dict[int, float]:
    """RSS after a warm-up and with `count` Chromium inbox pages open: page n in browser n mod B, in a context of
    its agent (and of its web process, behind the balancer)."""
    contexts: dict[tuple[int, int, str], BrowserContext] = {}

    async def context_for(n: int) -> BrowserContext:
        key = (n % len(browsers), n % len(states), app.instance_of(n))
        if key not in contexts:
            context = await browsers[key[0]].new_context(storage_state=states[key[1]])
            if key[2]:
                await context.add_cookies([{'name': BALANCER_COOKIE, 'value': key[2], 'url': app.base}])
            contexts[key] = context
        return contexts[key]

    async def open_page(n: int) -> Page:
        page = await (await context_for(n)).new_page()
        search = page.get_by_placeholder('Buscar nombre, teléfono o mensaje')
        for _ in range(OPEN_ATTEMPTS):
            await page.goto(f'{app.base}/?c={ids[n % len(ids)]}')
            # A build slower than NiceGUI's response_timeout gets its 500 page: reload, as an agent would.
            await search.or_(page.get_by_text('Server error')).wait_for(timeout=120_000)
            if await search.is_visible():
                return page
            RETRIES.append(f'chromium /?c={ids[n % len(ids)]}')
        raise SystemExit(f'a Chromium inbox page failed to build {OPEN_ATTEMPTS} times')

    warm = [await open_page(n) for n in range(5)]
    for page in warm:
        await page.close()
    await asyncio.sleep(RECONNECT_TIMEOUT_S + 2)
    readings = {0: await settled_rss(app.rss_mb)}
    pages: list[Page] = []
    for start_at in range(0, count, concurrency):
        pages += await asyncio.gather(*(open_page(n) for n in range(start_at, min(count, start_at + concurrency))))
        if len(pages) % 50 < concurrency:
            print(f'  {len(pages)} Chromium pages open; load average {load_average()}')
    await asyncio.sleep(3)
    readings[count] = await settled_rss(app.rss_mb)
    if any(page.is_closed() for page in pages):
        raise SystemExit('a Chromium page closed before the reading')
    for context in contexts.values():
        await context.close()
    return readings


def slope(readings: dict[int, float]) -> float:
    """Least-squares MB per page through all readings."""
    xs, ys = list(readings), list(readings.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


async def run(options: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix='leadmaster-agent-memory-'))
    db = await BenchDatabase.create(
        sqlite=options.sqlite, postgres=options.postgres, name='leadmaster_bench_memory', work=work
    )
    app = start(db, work, web=options.web)
    try:
        usernames = await create_agents(db.url, agents=AGENTS)
        ids = await seed(db, app.base)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            states = await sign_in(browser, app.base, usernames)
            await browser.close()
        where = f'{options.web} web processes behind HAProxy' if options.web > 1 else 'one web process'
        print(f'light pages (HTTP + Socket.IO), {db.kind}, {where}; load average {load_average()}')
        light = await light_run(app, states, ids, options.steps)
        last = options.steps[-1]
        result: dict[str, Any] = {
            'web_processes': options.web,
            'pages': last,
            'light_rss_mb': {str(k): round(v, 1) for k, v in light.items()},
            'mb_per_page': round(slope(light), 3),
            **{
                f'mb_per_page_{a}_{b}': round((light[b] - light[a]) / (b - a), 3)
                for a, b in zip([0, *options.steps], options.steps, strict=False)
            },
        }
        if options.chromium_pages:
            stop(app)
            app = start(db, work, web=options.web, restart=True)
            print(
                f'{options.chromium_pages} Chromium pages in {options.browsers} browser processes, after a restart '
                f'of the app; load average {load_average()}'
            )
            async with async_playwright() as playwright:
                browsers = await launch_browsers(playwright, options.browsers, renderer_limit=options.renderer_limit)
                chromium = await chromium_run(
                    browsers,
                    app,
                    states=states,
                    ids=ids,
                    count=options.chromium_pages,
                    concurrency=options.open_concurrency,
                )
                for browser in browsers:
                    await browser.close()
            count = options.chromium_pages
            print(f'  0 pages: {chromium[0]:.1f} MB; {count} pages: {chromium[count]:.1f} MB')
            result.update(
                chromium_pages=count,
                chromium_browsers=options.browsers,
                chromium_rss_mb={str(k): round(v, 1) for k, v in chromium.items()},
                chromium_mb_per_page=round((chromium[count] - chromium[0]) / count, 3),
            )
        result['load_average'] = load_average()
        result['database'] = db.kind
        result['open_retries'] = len(RETRIES)
        result['pages_reopened'] = len(RELOADS)
        return result
    except BaseException:
        print_app_log(work)
        raise
    finally:
        stop(app)
        await db.drop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sqlite', action='store_true', help='the embedded SQLite file instead of PostgreSQL')
    parser.add_argument('--postgres', default=DEFAULT_POSTGRES, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument(
        '--steps', default='50,100,200', help='numbers of light pages open at each RSS reading (ascending)'
    )
    parser.add_argument(
        '--web', type=int, default=1, help='web processes; more than 1: `leadmaster cluster` behind HAProxy'
    )
    parser.add_argument('--chromium-pages', type=int, default=20, help='0 skips the Chromium cross-check')
    parser.add_argument('--browsers', type=int, default=1, help='Chromium processes holding those pages')
    parser.add_argument(
        '--renderer-limit', type=int, default=0, help="Chromium's --renderer-process-limit (0: its default)"
    )
    parser.add_argument('--open-concurrency', type=int, default=2, help='Chromium pages opened at a time')
    options = parser.parse_args()
    options.steps = sorted(int(step) for step in options.steps.split(','))
    if options.sqlite and options.web > 1:
        parser.error('--web needs PostgreSQL (leadmaster cluster)')
    result = asyncio.run(run(options))
    met = result['mb_per_page'] < TARGET_MB_PER_PAGE
    print(
        f'server memory per open agent page: {result["mb_per_page"]:.2f} MB (slope over 0/'
        f'{"/".join(map(str, options.steps))} light pages on {options.web} web process(es)); '
        f'target < {TARGET_MB_PER_PAGE:.0f} MB: {"met" if met else "MISSED"}'
    )
    print(
        f'{result["open_retries"]} page opens retried, {result["pages_reopened"]} pages reopened after a dropped '
        "socket (the server missed NiceGUI's ping timeout)"
    )
    if 'chromium_mb_per_page' in result:
        print(
            f'cross-check with {result["chromium_pages"]} Chromium pages: {result["chromium_mb_per_page"]:.2f} MB '
            'per page'
        )
    print(json.dumps({'bench': 'agent_memory', 'target_mb_per_page': TARGET_MB_PER_PAGE, 'target_met': met, **result}))


if __name__ == '__main__':
    main()
