"""What the agent-console benchmarks (live_latency, agent_memory, inbox_operations) share.

The app start, free port, PostgreSQL database handling and webhook secret come from `bench/ingest.py` and the
dataset builder from `bench/inbox_search.py` (imported, not copied); this module adds only what they lack:
a SQLite alternative, benchmark agents, signed single-text webhooks, a Chromium login, percentiles and a
clean stop of the app.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlmodel import col, func, select

if TYPE_CHECKING:  # Playwright is imported where a bench drives a browser
    from playwright.async_api import BrowserContext, Page

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

import ingest  # noqa: E402  (bench/ingest.py: app start, free port, PostgreSQL helpers, signing secret)

from services.database import Database  # noqa: E402
from services.models import Branch, Message, Role, User  # noqa: E402
from services.passwords import hash_password  # noqa: E402
from services.whatsapp import payload_builders as build  # noqa: E402
from services.whatsapp.signatures import sign  # noqa: E402

# `timeout` and CI stop benches with SIGTERM: make it an exception so `finally` stops the app and drops the database.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

DEFAULT_POSTGRES = os.environ.get('LEADMASTER_TEST_POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432/test')
AGENT_PASSWORD = 'bench-agent-password'  # noqa: S105 - throwaway users of a throwaway database
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
]
# ingest.start_app creates branch BENCH with these Cloud API numbers; inbound webhooks name one of them.
PHONE_NUMBER_ID, DISPLAY_PHONE = ingest.NUMBERS[0]
free_port = ingest.free_port
PAGE_BUILD_ATTEMPTS = 5
SLOW_PAGE_BUILDS: list[str] = []  # usernames whose inbox hit NiceGUI's response_timeout while signing in


@dataclass
class BenchDatabase:
    """A throwaway database: PostgreSQL (dropped at the end) or a SQLite file in the work directory."""

    url: str
    server_url: str | None
    name: str

    @classmethod
    async def create(cls, *, sqlite: bool, postgres: str, name: str, work: Path) -> BenchDatabase:
        if sqlite:
            return cls(url=f'sqlite+aiosqlite:///{work / (name + ".sqlite3")}', server_url=None, name=name)
        return cls(url=await ingest.recreate_database(postgres, name), server_url=postgres, name=name)

    @property
    def kind(self) -> str:
        return 'sqlite' if self.server_url is None else 'postgresql'

    async def drop(self) -> None:
        if self.server_url is not None:
            await ingest.drop_database(self.server_url, self.name)


def start_app(db: BenchDatabase, work: Path, *, restart: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """`leadmaster run` as bench/ingest.py starts it (branch BENCH, two numbers), on a free port.
    `restart`: the database already has the branch; only start the server again."""
    port = free_port()
    var_dir = work / 'var'
    if restart:
        env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
        env.update(
            LEADMASTER_DATABASE_URL=db.url,
            LEADMASTER_PORT=str(port),
            LEADMASTER_VAR_DIR=str(var_dir),
            LEADMASTER_WHATSAPP_APP_SECRET=ingest.SECRET,
            **ingest.EXTRA_ENV,
        )
        process = subprocess.Popen(
            [sys.executable, '-m', 'app.cli', 'run'],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(var_dir / 'app.log').open('ab'),
        )
        base = f'http://127.0.0.1:{port}'
        for _ in range(300):
            try:
                if httpx.get(f'{base}/health', timeout=1).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                time.sleep(0.1)
        process.kill()
        raise SystemExit(f'app did not restart:\n{(var_dir / "app.log").read_text()}')
    return ingest.start_app(db.url, port, var_dir), f'http://127.0.0.1:{port}'


def print_app_log(work: Path, *, lines: int = 60) -> None:
    """The end of the app's log, to stderr: a failed bench shows the server's reason."""
    log = work / 'var' / 'app.log'
    if log.exists():
        print('--- app.log (end)\n' + '\n'.join(log.read_text(errors='replace').splitlines()[-lines:]), file=sys.stderr)


def stop_app(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def create_agents(url: str, *, agents: int, managers: int = 0, branch_code: str = 'BENCH') -> list[str]:
    """Users of one branch sharing one password (hashed once: Argon2 is deliberately slow)."""
    db = Database.from_url(url)
    password_hash = hash_password(AGENT_PASSWORD)
    try:
        async with db.session() as session:
            branch = (await session.exec(select(Branch).where(col(Branch.code) == branch_code))).one()
            people = [(f'benchmgr{i:02d}', f'Gerente {i:02d}', Role.MANAGER) for i in range(managers)] + [
                (f'benchagent{i:03d}', f'Agente {i:03d}', Role.AGENT) for i in range(agents)
            ]
            session.add_all(
                [
                    User(
                        username=username,
                        full_name=name,
                        role=role,
                        branch_id=branch.id,
                        password_hash=password_hash,
                    )
                    for username, name, role in people
                ]
            )
            await session.commit()
    finally:
        await db.dispose()
    return [username for username, _, _ in people]


def customer(index: int) -> str:
    """A distinct Argentine mobile number (wa_id digits) per index."""
    return f'54911{70000000 + index:08d}'


def signed_text(customer_wa_id: str, texts: Sequence[str], *, serial: int) -> tuple[bytes, str]:
    """One Cloud API webhook body with `texts` from one customer, and its X-Hub-Signature-256."""
    messages = [
        build.text_message(
            from_=customer_wa_id,
            body=text,
            timestamp=int(time.time()) - len(texts) + n,
            wa_message_id=f'wamid.AGENTBENCH{serial:08d}{n:03d}',
        )
        for n, text in enumerate(texts)
    ]
    body = json.dumps(
        build.envelope(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY_PHONE,
            messages=messages,
            contacts=[build.contact(wa_id=customer_wa_id, name=f'Cliente {customer_wa_id[-4:]}')],
        ),
        ensure_ascii=False,
    ).encode()
    return body, sign(body, ingest.SECRET)


async def post_webhook(client: httpx.AsyncClient, base_url: str, body: bytes, signature: str) -> httpx.Response:
    return await client.post(
        f'{base_url}/webhooks/whatsapp',
        content=body,
        headers={'Content-Type': 'application/json', 'X-Hub-Signature-256': signature},
    )


async def wait_for_messages(url: str, expected: int, *, limit_seconds: float = 120) -> None:
    """Until the ingest worker has stored `expected` messages (webhooks are acknowledged before storing)."""
    db = Database.from_url(url)
    deadline = time.monotonic() + limit_seconds
    try:
        while True:
            async with db.session() as session:
                stored = (await session.exec(select(func.count()).select_from(Message))).one()
            if stored >= expected:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f'only {stored} of {expected} messages stored after {limit_seconds} s')
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def login(context: BrowserContext, base_url: str, username: str) -> Page:
    """A Playwright page of `context`, signed in as `username` through the login form, on the inbox."""
    from playwright.async_api import expect

    page = await context.new_page()
    await page.goto(base_url + '/login')
    await page.get_by_label('Usuario').fill(username)
    await page.get_by_label('Contraseña').fill(AGENT_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()
    search = page.get_by_placeholder('Buscar nombre, teléfono o mensaje')
    for _ in range(PAGE_BUILD_ATTEMPTS):
        # On a saturated machine the inbox can take longer than NiceGUI's response_timeout (3 s) to build
        # and the browser gets NiceGUI's 500 page instead; an agent would reload, and so does this.
        await expect(search.or_(page.get_by_text('Server error'))).to_be_visible(timeout=30_000)
        if await search.is_visible():
            return page
        SLOW_PAGE_BUILDS.append(username)
        await page.goto(base_url + '/')
    raise SystemExit(f'the inbox of {username} failed to build {PAGE_BUILD_ATTEMPTS} times (NiceGUI 500 page)')


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): the smallest value with at least q % of values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def rounded(value: float, digits: int = 1) -> float | None:
    """None instead of NaN, which is not JSON."""
    return None if math.isnan(value) else round(value, digits)


def summary(values: Sequence[float]) -> dict[str, float | None]:
    return {
        'p50_ms': rounded(percentile(values, 50)),
        'p95_ms': rounded(percentile(values, 95)),
        'max_ms': rounded(max(values)) if values else None,
    }


def cpu_stall_microseconds() -> int:
    """Linux PSI: total µs some runnable task waited for a CPU (how contended the shared machine was)."""
    try:
        line = Path('/proc/pressure/cpu').read_text().splitlines()[0]
    except OSError:
        return 0
    return int(line.rsplit('total=', 1)[1])


def load_average() -> str:
    """The 1/5/15-minute load average: the machine is shared, so every bench prints it."""
    return ' '.join(f'{value:.2f}' for value in os.getloadavg())
