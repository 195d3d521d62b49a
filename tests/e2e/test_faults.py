"""Fault tests (issue 19): the real app — `leadmaster run`, its web process and, on PostgreSQL, its worker process —
with Meta on both sides of it and PostgreSQL behind a TCP proxy; the database is refused and stalled, and the
worker and the web process are killed with -9 while messages come in and replies go out.

    Meta-like client ──signed webhooks──► web process ──┐                ┌── worker process ──sends──► fake Meta
      (posts again what was not 200)        (journal)    └─ TCP proxy ───┘   (ingest, outbox)   (status webhooks,
                                                           (refuse/stall)                          retried like Meta)
                                                                │
                                                           PostgreSQL ◄── the test counts here, directly

Every test counts, prints and asserts (the module prints them as one table at its end; docs/reliability.md quotes
them):
- inbound: *sent* distinct messages (one signed webhook each, a unique WhatsApp id); *acknowledged*, answered 200 —
  the client, as Meta does, posts again with back-off whatever got a 503, a reset or no answer, until it is 200;
  *stored*, rows in `messages`; *duplicates*, rows beyond one per WhatsApp id; *lost*, acknowledged and not stored;
- outbound: *sent* replies queued through the HTTP API; *acknowledged*, answered 202; *stored*, replies that reached
  Meta exactly once; *duplicates*, sends Meta got more than once; *lost*, replies that never reached Meta.

Nothing waits for a fixed moment except the faults themselves (the 30-second outage, the stall): the tests wait
for a state (the database, `/health`) with a deadline, as the machine may be busy.

PostgreSQL only (the worker process exists only there). SLOW: 3 to 4 minutes for the module, the 30-second
outage included; the app is started once for the module and again after each kill of its web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.whatsapp import payload_builders as build
from services.whatsapp.fake_graph import FakeGraphApi, Reply, StatusWebhook
from services.whatsapp.signatures import HEADER, sign
from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import AppProcess, _free_port, app_env
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e

SECRET = 'faults-app-secret'
PHONE_NUMBER_ID = 'pn-faults'
DISPLAY = '5491150009901'
CUSTOMERS = [f'54911{70000000 + index:08d}' for index in range(40)]
RATE = 5.0  # new webhooks per second, the steady load of every inbound test
CLIENT_TIMEOUT_SECONDS = 15.0  # how long the client waits for an answer (a hang shows as a time-out)
ANSWER_BOUND_SECONDS = 5.0  # a webhook or /health answered slower than this while the database is down or stalled hangs
MAX_BACKOFF_SECONDS = 4.0
OUTAGE_SECONDS = 30.0
STALL_SECONDS = 15.0
API_DEADLINE_SECONDS = 10.0  # app/http_api.py: an API request not answered in this long is a 503
SETTLE_SECONDS = 180.0  # the deadline for a state after a fault (recovery, every body acknowledged, stored)
REPLIES = 24  # replies queued in a sending test
HELD = 16  # of which Meta holds this many (the outbox's send concurrency) when the process is killed
HOLD_SECONDS = 10.0
BURST = 200  # webhooks posted at once before a kill, so that it lands while they are journaled or stored

T = TypeVar('T')


# --- what each test measured ------------------------------------------------------------------------------


@dataclass
class Counts:
    test: str
    sent: int
    acknowledged: int
    stored: int
    duplicates: int
    lost: int
    seconds: float
    notes: str = ''

    def line(self) -> str:
        return (
            f'{self.test:<34} sent {self.sent:>4}  acknowledged {self.acknowledged:>4}  stored {self.stored:>4}  '
            f'duplicates {self.duplicates}  lost {self.lost}  ({self.seconds:.0f} s)  {self.notes}'
        )


REPORT: list[Counts] = []


def _reported(counts: Counts) -> Counts:
    REPORT.append(counts)
    print(counts.line())  # the figures are the point of these tests: `pytest -s` shows them as they come
    return counts


@pytest.fixture(scope='module', autouse=True)
def _report_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin('terminalreporter')
    capture = request.config.pluginmanager.get_plugin('capturemanager')
    if reporter is None or not REPORT:
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.write_line('')
        reporter.write_line('fault tests (tests/e2e/test_faults.py):')
        for counts in REPORT:
            reporter.write_line('  ' + counts.line())


# --- the rig: proxy, fake Meta, the app -------------------------------------------------------------------


class RetryingFakeMeta(FakeGraphApi):
    """The fake Graph API, plus what Meta does when the app does not take a webhook: post it again later (Meta
    retries for days), here with back-off for a few minutes."""

    async def post_webhook(self, body: dict[str, Any]) -> bool:
        pause = 0.5
        for _ in range(80):
            if await super().post_webhook(body):
                return True
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
        return False

    def sends_by_callback(self) -> Counter[str]:
        return Counter(str(send.get('biz_opaque_callback_data')) for send in self.sent_messages)


@dataclass
class Rig:
    app: AppProcess
    proxy: TcpProxy
    meta: RetryingFakeMeta
    direct_dsn: str  # PostgreSQL itself, not through the proxy: what the test counts with
    api_key: str
    conversation_ids: list[int] = field(default_factory=list)
    _log_read: int = 0
    _ready: set[int] = field(default_factory=set)

    @property
    def webhook_url(self) -> str:
        return f'{self.app.base_url}/webhooks/whatsapp'

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_SECONDS) as client:
            response = await client.get(f'{self.app.base_url}/health')
        return response.status_code, response.json()

    async def ready(self) -> None:
        """The database reachable and the app healthy: each test starts from there, whatever the last one left."""
        self.proxy.pass_through()
        if self.app.pid is None:
            await asyncio.to_thread(self.app.start)
        await until(self._healthy, seconds=SETTLE_SECONDS, what='the app healthy, with its worker process')

    async def _healthy(self) -> int | None:
        """The worker process's pid once `/health` is ok and that worker said it is ready (in the log: a worker
        still importing the app is already counted by `/health`)."""
        with contextlib.suppress(httpx.HTTPError, ValueError):
            status, body = await self.health()
            if status == 200 and body.get('status') == 'ok':
                pid = int(body['workers']['pid'])
                return pid if pid in self._ready_workers() else None
        return None

    def _ready_workers(self) -> set[int]:
        with self.app.log.open('rb') as log:
            log.seek(self._log_read)
            text = log.read()
        complete = text.rfind(b'\n') + 1  # a line still being written is read next time
        self._log_read += complete
        self._ready.update(int(pid) for pid in re.findall(rb'workers ready \(pid (\d+)', text[:complete]))
        return self._ready

    async def worker_pid(self, *, not_: int | None = None) -> int:
        """The running worker process's pid; with `not_`, the one that replaced that pid (right after a kill the
        supervisor may not have noticed yet, and `/health` still names the dead one)."""

        async def running() -> int | None:
            pid = await self._healthy()
            return pid if pid is not None and pid != not_ else None

        return await until(running, seconds=SETTLE_SECONDS, what='a running worker process')


@pytest.fixture(scope='module')
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir = tmp_path_factory.mktemp('faults')
    database_url = fresh_postgres_database('leadmaster_faults')
    server = make_url(database_url)
    port = _free_port()
    with (
        TcpProxy((server.host or '127.0.0.1', server.port or 5432)) as proxy,
        RetryingFakeMeta(
            status_webhook=StatusWebhook(f'http://127.0.0.1:{port}/webhooks/whatsapp', SECRET), keep_requests=True
        ) as meta,
    ):
        env = app_env(
            database_url=server.set(host='127.0.0.1', port=proxy.port).render_as_string(hide_password=False),
            port=port,
            workdir=workdir,
            # Cloud API mode against the fake Meta; the bot off, so that every send is one the test queued.
            LEADMASTER_WHATSAPP_TOKEN=meta.token,
            LEADMASTER_GRAPH_API_BASE=meta.base_url,
            LEADMASTER_WHATSAPP_APP_SECRET=SECRET,
            LEADMASTER_ASSISTANT_ENABLED='false',
        )
        app = AppProcess(env, workdir / 'app.log')
        app.cli('branches', 'add', 'FLT', 'Fallas')
        app.cli(
            'numbers', 'add', '--branch', 'FLT', '--channel', 'cloud', '--phone-number-id', PHONE_NUMBER_ID,
            '--display', f'+{DISPLAY}',
        )  # fmt: skip
        api_key = app.cli('apikeys', 'create', '--name', 'faults').strip().split()[-1]
        try:
            app.start()
            yield Rig(
                app=app,
                proxy=proxy,
                meta=meta,
                direct_dsn=server.set(drivername='postgresql').render_as_string(hide_password=False),
                api_key=api_key,
            )
        finally:
            app.stop()
            print(f'app log: {app.log}')


async def until(probe: Callable[[], Awaitable[T | None]], *, seconds: float, what: str, every: float = 0.1) -> T:
    """The first truthy answer of `probe`, asked every `every` s; a failure naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answer := await probe():
            return answer
        await asyncio.sleep(every)
    pytest.fail(f'not within {seconds:.0f} s: {what}', pytrace=False)


# --- Meta's side of the webhooks ---------------------------------------------------------------------------


@dataclass
class Delivery:
    wamid: str
    body: bytes
    signature: str
    created: float
    attempts: int = 0
    acknowledged: bool = False
    in_flight: bool = False
    retry_at: float = 0.0


@dataclass(frozen=True)
class Attempt:
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    error: str = ''

    @property
    def ended(self) -> float:
        return self.started + self.seconds


class MetaClient:
    """Inbound traffic as Meta sends it: signed webhooks, one text message each (a unique WhatsApp id), at a steady
    rate from a pool of customers; a body not answered 200 is posted again with back-off (0.5 s doubling up to 4 s),
    as Meta retries until it is acknowledged."""

    def __init__(self, url: str, scenario: str, *, rate: float = RATE) -> None:
        self.url = url
        self.prefix = f'wamid.FAULT.{scenario}.'
        self.rate = rate
        self.deliveries: list[Delivery] = []
        self.attempts: list[Attempt] = []
        self._client = httpx.AsyncClient(
            timeout=CLIENT_TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=512, max_keepalive_connections=32)
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._producer: asyncio.Task[None] | None = None
        self._retrier: asyncio.Task[None] | None = None

    @property
    def acknowledged(self) -> int:
        return sum(delivery.acknowledged for delivery in self.deliveries)

    def acknowledged_since(self, moment: float) -> int:
        return sum(a.status == 200 for a in self.attempts if a.started >= moment)

    def first_acknowledged_after(self, moment: float) -> float:
        """Seconds from `moment` to the end of the first post started after it that was answered 200."""
        return min((a.ended - moment for a in self.attempts if a.started >= moment and a.status == 200), default=-1.0)

    def start(self, *, steady: bool = True) -> None:
        """Post new bodies at the steady rate (unless `steady` is False) and post again what was not acknowledged."""
        if steady:
            self._producer = asyncio.create_task(self._produce())
        self._retrier = asyncio.create_task(self._retry())

    def burst(self, count: int) -> None:
        """`count` more bodies at once, on top of the steady rate (keeps the ingest busy for a kill)."""
        for _ in range(count):
            self._post(self._new_delivery())

    async def stop_producing(self) -> None:
        if self._producer is not None:
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer

    async def settle(self) -> None:
        """Until every body was acknowledged (retrying meanwhile)."""

        async def all_acknowledged() -> bool:
            return self.acknowledged == len(self.deliveries) and not any(d.in_flight for d in self.deliveries)

        await until(
            all_acknowledged,
            seconds=SETTLE_SECONDS,
            what=f'every webhook acknowledged ({self.acknowledged} of {len(self.deliveries)})',
        )

    async def close(self) -> None:
        await self.stop_producing()
        for task in (self._retrier, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._retrier, *self._tasks) if t is not None), return_exceptions=True)
        await self._client.aclose()

    def statuses(self, attempts: list[Attempt] | None = None) -> Counter[str]:
        return Counter(str(a.status) if a.status is not None else a.error for a in (attempts or self.attempts))

    def _new_delivery(self) -> Delivery:
        index = len(self.deliveries)
        customer = CUSTOMERS[index % len(CUSTOMERS)]
        wamid = f'{self.prefix}{index:05d}'
        raw = json.dumps(
            build.envelope(
                phone_number_id=PHONE_NUMBER_ID,
                display_phone_number=DISPLAY,
                contacts=[build.contact(wa_id=customer, name=f'Cliente {customer[-4:]}')],
                messages=[
                    build.text_message(
                        from_=customer, body=f'Consulta {index}', wa_message_id=wamid, timestamp=int(time.time())
                    )
                ],
            ),
            ensure_ascii=False,
        ).encode()
        delivery = Delivery(wamid=wamid, body=raw, signature=sign(raw, SECRET), created=time.monotonic())
        self.deliveries.append(delivery)
        return delivery

    async def _produce(self) -> None:
        started = time.monotonic()
        count = 0
        while True:
            self._post(self._new_delivery())
            count += 1
            await asyncio.sleep(max(0.0, started + count / self.rate - time.monotonic()))

    async def _retry(self) -> None:
        while True:
            now = time.monotonic()
            for delivery in self.deliveries:
                if not delivery.acknowledged and not delivery.in_flight and delivery.retry_at <= now:
                    self._post(delivery)
            await asyncio.sleep(0.1)

    def _post(self, delivery: Delivery) -> None:
        delivery.in_flight = True
        delivery.attempts += 1
        task = asyncio.create_task(self._attempt(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        started = time.monotonic()
        status: int | None = None
        error = ''
        try:
            response = await self._client.post(
                self.url,
                content=delivery.body,
                headers={'Content-Type': 'application/json', HEADER: delivery.signature},
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        finally:
            self.attempts.append(Attempt(started, time.monotonic() - started, status, error))
            delivery.in_flight = False
        if status == 200:
            delivery.acknowledged = True
        else:
            delivery.retry_at = time.monotonic() + min(0.5 * 2 ** (delivery.attempts - 1), MAX_BACKOFF_SECONDS)


@dataclass(frozen=True)
class Sample:
    started: float
    seconds: float
    status: int | None
    error: str = ''


class Probe:
    """GET `url` every `every` s in the background (a load balancer's health check, an ERP polling the API)."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, every: float = 0.5) -> None:
        self.url = url
        self.headers = headers or {}
        self.every = every
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if s.started >= start and s.started + s.seconds <= end]

    def first_ok_after(self, moment: float) -> float | None:
        return next(
            (s.started + s.seconds - moment for s in self.samples if s.started >= moment and s.status == 200), None
        )

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_SECONDS) as client:
            while True:
                started = time.monotonic()
                try:
                    status: int | None = (await client.get(self.url, headers=self.headers)).status_code
                    error = ''
                except httpx.HTTPError as exc:
                    status, error = None, type(exc).__name__
                self.samples.append(Sample(started, time.monotonic() - started, status, error))
                await asyncio.sleep(max(0.0, started + self.every - time.monotonic()))


def _statuses(samples: list[Sample]) -> Counter[str]:
    return Counter(str(s.status) if s.status is not None else s.error for s in samples)


# --- counting in the database -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def direct(rig: Rig) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(rig.direct_dsn, timeout=10)
    try:
        yield connection
    finally:
        await connection.close()


async def stored_rows(rig: Rig, prefix: str) -> dict[str, int]:
    async with direct(rig) as connection:
        rows = await connection.fetch(
            "SELECT wa_message_id, count(*) AS n FROM messages WHERE direction = 'in' AND wa_message_id LIKE $1 "
            'GROUP BY wa_message_id',
            prefix + '%',
        )
    return {row['wa_message_id']: row['n'] for row in rows}


async def journal_state(rig: Rig, prefix: str) -> tuple[int, int]:
    """(bodies journaled for these messages — a body posted again after a lost answer is journaled again —, rows
    of the whole journal still pending)."""
    async with direct(rig) as connection:
        journaled = await connection.fetchval(
            'SELECT count(*) FROM webhook_deliveries WHERE strpos(body, $1) > 0', prefix
        )
        pending = await connection.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
    return int(journaled), int(pending)


# Pending journal rows that another transaction has locked: the batch an ingest holds until it commits.
CLAIMED_ROWS = """
    SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')
         - (SELECT count(*) FROM (SELECT id FROM webhook_deliveries WHERE status = 'pending'
                                  FOR UPDATE SKIP LOCKED) AS free)
"""


async def inbound_counts(rig: Rig, client: MetaClient, test: str, started: float, notes: str) -> Counts:
    """Wait until every acknowledged message is stored (or the deadline), then count."""
    acknowledged = {d.wamid for d in client.deliveries if d.acknowledged}

    async def all_stored() -> dict[str, int] | None:
        rows = await stored_rows(rig, client.prefix)
        return rows if acknowledged <= rows.keys() else None

    with contextlib.suppress(pytest.fail.Exception):
        await until(all_stored, seconds=SETTLE_SECONDS, what='every acknowledged message stored', every=0.5)
    rows = await stored_rows(rig, client.prefix)
    journaled, _ = await journal_state(rig, client.prefix)
    posts = client.statuses()
    return _reported(
        Counts(
            test=test,
            sent=len(client.deliveries),
            acknowledged=len(acknowledged),
            stored=len(rows),
            duplicates=sum(count - 1 for count in rows.values()),
            lost=len(acknowledged - rows.keys()),
            seconds=time.monotonic() - started,
            notes=f'posts {sum(posts.values())} {dict(posts)}; journaled {journaled}; {notes}',
        )
    )


def assert_nothing_lost(counts: Counts) -> None:
    assert (counts.lost, counts.duplicates) == (0, 0), counts.line()
    assert counts.acknowledged == counts.sent == counts.stored, counts.line()


async def _through_a_database_fault(
    rig: Rig, name: str, *, fault: Callable[[], None], recover: Callable[[], None], seconds: float
) -> tuple[MetaClient, Probe, Probe, float, float]:
    """Webhooks at a steady rate, `/health` and the API probed, while the database suffers `fault` for `seconds`;
    returns the client and probes (settled) and the monotonic times the fault began and ended."""
    await rig.ready()
    client = MetaClient(rig.webhook_url, name)
    health = Probe(f'{rig.app.base_url}/health')
    api = Probe(f'{rig.app.base_url}/api/v1/conversations?limit=1', headers={'X-API-Key': rig.api_key}, every=1.0)
    client.start()
    health.start()
    api.start()
    try:
        await until(lambda: _true(client.acknowledged >= 10), seconds=SETTLE_SECONDS, what='10 webhooks acknowledged')
        fault()
        began = time.monotonic()
        await asyncio.sleep(seconds)  # the fault itself lasts this long
        recover()
        ended = time.monotonic()
        await until(
            lambda: _true(health.first_ok_after(ended) is not None and client.acknowledged_since(ended) >= 10),
            seconds=SETTLE_SECONDS,
            what=f'/health 200 and webhooks acknowledged again after the database was {name}',
        )
        await client.stop_producing()
        await client.settle()
    finally:
        await health.stop()
        await api.stop()
        await client.close()
    return client, health, api, began, ended


# --- the database refused and stalled ---------------------------------------------------------------------


async def test_database_refused_for_30_seconds_is_503_fast_and_recovers_alone_with_nothing_lost(rig: Rig) -> None:
    """SLOW (about a minute): the database goes away for 30 s — the proxy stops listening and cuts every open
    connection — while webhooks keep coming at a steady rate."""
    started = time.monotonic()
    client, health, api, down, up = await _through_a_database_fault(
        rig, 'refused', fault=rig.proxy.refuse, recover=rig.proxy.pass_through, seconds=OUTAGE_SECONDS
    )

    while_down = [a for a in client.attempts if a.started >= down + 0.5 and a.ended <= up]
    health_down = health.between(down + 0.5, up)
    api_down = api.between(down + 0.5, up)
    recovered = health.first_ok_after(up)
    counts = await inbound_counts(
        rig,
        client,
        'database refused 30 s',
        started,
        f'while down: webhooks {dict(client.statuses(while_down))} slowest '
        f'{max((a.seconds for a in while_down), default=0):.2f} s, /health {dict(_statuses(health_down))} slowest '
        f'{max((s.seconds for s in health_down), default=0):.2f} s, API {dict(_statuses(api_down))}; '
        f'/health 200 again {recovered:.1f} s after, a webhook 200 again '
        f'{client.first_acknowledged_after(up):.1f} s after',
    )
    assert while_down and all(a.status == 503 for a in while_down), client.statuses(while_down)
    assert max(a.seconds for a in while_down) < ANSWER_BOUND_SECONDS
    assert health_down and all(s.status == 503 for s in health_down), _statuses(health_down)
    assert max(s.seconds for s in health_down) < ANSWER_BOUND_SECONDS
    assert api_down and all(s.status == 503 for s in api_down), _statuses(api_down)
    assert_nothing_lost(counts)


async def test_database_stalled_is_503_within_the_timeouts_and_flows_again_with_nothing_lost(rig: Rig) -> None:
    """SLOW (about 30 s): every byte to and from the database is held for 15 s — connections stay open, new ones
    are accepted and never answered — while webhooks keep coming."""
    started = time.monotonic()
    client, health, api, stalled, resumed = await _through_a_database_fault(
        rig, 'stalled', fault=rig.proxy.stall, recover=rig.proxy.resume, seconds=STALL_SECONDS
    )

    # Posted while the database was stalled, with time to answer before it resumed.
    during = [a for a in client.attempts if stalled + 0.5 <= a.started <= resumed - ANSWER_BOUND_SECONDS]
    health_during = health.between(stalled + 0.5, resumed)
    api_during = [s for s in api.samples if s.started < resumed and s.started + s.seconds > stalled + 0.5]
    slowest = max(a.seconds for a in client.attempts)
    counts = await inbound_counts(
        rig,
        client,
        'database stalled 15 s',
        started,
        f'while stalled: webhooks {dict(client.statuses(during))}, slowest answer of the whole run {slowest:.2f} s; '
        f'/health {dict(_statuses(health_during))} slowest {max((s.seconds for s in health_during), default=0):.2f} s; '
        f'API {dict(_statuses(api_during))} slowest {max((s.seconds for s in api_during), default=0):.2f} s; '
        f'a webhook 200 again {client.first_acknowledged_after(resumed):.1f} s after the resume',
    )
    assert during and all(a.status == 503 for a in during), client.statuses(during)
    assert slowest < ANSWER_BOUND_SECONDS, f'a webhook waited {slowest:.1f} s'
    assert health_during and all(s.status == 503 for s in health_during), _statuses(health_during)
    assert max(s.seconds for s in health_during) < ANSWER_BOUND_SECONDS
    # The API: 503 at its 10-second deadline at the latest (a new connection times out at 5 s), never held for the
    # statement timeout; one still waiting when the database resumed may well be a 200.
    assert any(s.status == 503 for s in api_during), _statuses(api_during)
    assert all(s.status in {200, 503} and s.seconds < API_DEADLINE_SECONDS + 2 for s in api_during), api_during
    assert_nothing_lost(counts)


# --- kill -9 during ingest ----------------------------------------------------------------------------------


async def test_worker_killed_during_ingest_loses_nothing_acknowledged(rig: Rig) -> None:
    """kill -9 of the worker process while it stores a burst; `leadmaster run` starts another, which stores what
    the dead one had claimed (its transaction died with it) and what was journaled meanwhile."""
    await rig.ready()
    started = time.monotonic()
    victim = await rig.worker_pid()
    client = MetaClient(rig.webhook_url, 'worker-ingest')
    client.start()
    try:
        await until(lambda: _true(client.acknowledged >= 10), seconds=SETTLE_SECONDS, what='10 webhooks acknowledged')
        client.burst(BURST)
        claimed_at_kill = 0

        async with direct(rig) as connection:

            async def batch_claimed(at_least: int) -> int:
                """Journal rows the worker holds in an open ingest transaction (claimed FOR UPDATE SKIP LOCKED)."""
                claimed = int(await connection.fetchval(CLAIMED_ROWS))
                return claimed if claimed >= at_least else 0

            with contextlib.suppress(pytest.fail.Exception):  # a big batch if one comes; else the next one
                claimed_at_kill = await until(lambda: batch_claimed(20), seconds=15, what='a batch', every=0.005)
            if not claimed_at_kill:
                claimed_at_kill = await until(
                    lambda: batch_claimed(1), seconds=SETTLE_SECONDS, what='an ingest batch claimed', every=0.005
                )
            os.kill(victim, signal.SIGKILL)  # as soon as it is seen: the batch's transaction is most likely open
        stored_at_kill = len(await stored_rows(rig, client.prefix))
        killed = time.monotonic()
        replacement = await rig.worker_pid(not_=victim)
        restarted = time.monotonic()
        assert replacement != victim
        await until(
            lambda: _true(client.acknowledged_since(restarted) >= 10),
            seconds=SETTLE_SECONDS,
            what='webhooks acknowledged after the restart',
        )
        await client.stop_producing()
        await client.settle()
    finally:
        await client.close()
    counts = await inbound_counts(
        rig,
        client,
        'kill -9 worker during ingest',
        started,
        f'at the kill: a batch of {claimed_at_kill} journal rows claimed, {stored_at_kill} of {len(client.deliveries)} '
        f'stored; '
        f'a new worker healthy {restarted - killed:.1f} s later',
    )
    assert_nothing_lost(counts)


async def test_web_process_killed_during_ingest_loses_nothing_acknowledged(rig: Rig) -> None:
    """SLOW (the app starts again): kill -9 of the web process while webhooks arrive; its worker process stops by
    itself, the app is started again by hand (as systemd would), and the client's retries go through."""
    await rig.ready()
    started = time.monotonic()
    orphan = await rig.worker_pid()
    client = MetaClient(rig.webhook_url, 'web-ingest')
    client.start()
    try:
        await until(lambda: _true(client.acknowledged >= 10), seconds=SETTLE_SECONDS, what='10 webhooks acknowledged')
        before_burst = client.acknowledged
        client.burst(BURST)
        await until(
            lambda: _true(client.acknowledged >= before_burst + 10),
            seconds=SETTLE_SECONDS,
            what='the burst being acknowledged',
            every=0.005,
        )
        in_flight = sum(d.in_flight for d in client.deliveries)
        rig.app.kill()
        killed = time.monotonic()
        await until(lambda: _true(not _alive(orphan)), seconds=30, what=f'the orphaned worker {orphan} stopping')
        orphan_stopped_after = time.monotonic() - killed
        await asyncio.to_thread(rig.app.start)
        back = time.monotonic()
        await rig.ready()
        await until(
            lambda: _true(client.acknowledged_since(back) >= 10),
            seconds=SETTLE_SECONDS,
            what='webhooks acknowledged after the restart',
        )
        await client.stop_producing()
        await client.settle()
    finally:
        await client.close()
    counts = await inbound_counts(
        rig,
        client,
        'kill -9 web during ingest',
        started,
        f'{in_flight} posts in flight at the kill; orphaned worker stopped {orphan_stopped_after:.1f} s after; '
        f'app healthy again {back - killed:.1f} s after',
    )
    assert_nothing_lost(counts)


# --- kill -9 during sending ---------------------------------------------------------------------------------


async def _conversations(rig: Rig) -> list[int]:
    """Eight customers wrote in (their 24 h windows are open): the conversations the replies go to."""
    if rig.conversation_ids:
        return rig.conversation_ids
    client = MetaClient(rig.webhook_url, 'conversations', rate=20.0)
    client.burst(8)
    try:
        client.start(steady=False)
        await client.settle()
    finally:
        await client.close()
    await until(
        lambda: _ready_count(rig, client.prefix, 8), seconds=SETTLE_SECONDS, what='the 8 customers stored', every=0.2
    )
    async with direct(rig) as connection:
        rows = await connection.fetch(
            'SELECT DISTINCT conversation_id FROM messages WHERE wa_message_id LIKE $1 ORDER BY 1', client.prefix + '%'
        )
    rig.conversation_ids = [row['conversation_id'] for row in rows]
    assert len(rig.conversation_ids) == 8
    return rig.conversation_ids


async def _ready_count(rig: Rig, prefix: str, count: int) -> bool:
    return len(await stored_rows(rig, prefix)) >= count


async def _outbound(rig: Rig, ids: list[int]) -> dict[int, str]:
    async with direct(rig) as connection:
        rows = await connection.fetch('SELECT id, status FROM messages WHERE id = any($1::int[])', ids)
    return {row['id']: row['status'] for row in rows}


async def _kill_during_sending(rig: Rig, victim: str) -> None:
    await rig.ready()
    started = time.monotonic()
    conversations = await _conversations(rig)
    worker = await rig.worker_pid()
    # Meta answers the next sends only after a while: they are in flight, at Meta, when the process dies.
    rig.meta.script_send([Reply(delay=HOLD_SECONDS)] * HELD)
    ids: list[int] = []
    async with httpx.AsyncClient(base_url=rig.app.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as api:
        for index in range(REPLIES):
            response = await api.post(
                f'/api/v1/conversations/{conversations[index % len(conversations)]}/messages',
                json={'type': 'text', 'text': f'Respuesta {victim} {index}'},
                headers={'X-API-Key': rig.api_key, 'Idempotency-Key': f'faults-{victim}-{index}'},
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()['id'])
    callbacks = {f'lm:{message_id}' for message_id in ids}

    async def all_held_at_meta() -> bool:
        at_meta = sum(n for callback, n in rig.meta.sends_by_callback().items() if callback in callbacks)
        sending = sum(status == 'sending' for status in (await _outbound(rig, ids)).values())
        return at_meta == sending == HELD  # the outbox is full (16 sends at once): nothing else starts now

    await until(all_held_at_meta, seconds=SETTLE_SECONDS, what=f'{HELD} sends held at Meta', every=0.05)
    statuses_at_kill = Counter((await _outbound(rig, ids)).values())
    if victim == 'worker':
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        replacement = await rig.worker_pid(not_=worker)
        assert replacement != worker
    else:
        rig.app.kill()
        killed = time.monotonic()
        await until(lambda: _true(not _alive(worker)), seconds=30, what=f'the orphaned worker {worker} stopping')
        await asyncio.to_thread(rig.app.start)
    back_after = time.monotonic() - killed

    async def all_delivered() -> dict[int, str] | None:
        statuses = await _outbound(rig, ids)
        return statuses if all(status == 'delivered' for status in statuses.values()) else None

    with contextlib.suppress(pytest.fail.Exception):
        await until(all_delivered, seconds=SETTLE_SECONDS, what='every reply delivered', every=0.5)
    final = Counter((await _outbound(rig, ids)).values())
    at_meta = rig.meta.sends_by_callback()
    ours = {callback: at_meta[callback] for callback in callbacks if at_meta[callback]}
    counts = _reported(
        Counts(
            test=f'kill -9 {victim} during sending',
            sent=REPLIES,
            acknowledged=len(ids),
            stored=sum(n == 1 for n in ours.values()),
            duplicates=sum(n - 1 for n in ours.values()),
            lost=len(callbacks - ours.keys()),
            seconds=time.monotonic() - started,
            notes=f'at the kill: {dict(statuses_at_kill)} ({HELD} held at Meta); back {back_after:.1f} s later; '
            f'final {dict(final)}',
        )
    )
    assert (counts.lost, counts.duplicates) == (0, 0), counts.line()
    assert final == Counter({'delivered': REPLIES}), counts.line()  # the held ones settled by Meta's status webhooks


async def test_worker_killed_during_sending_sends_each_reply_exactly_once(rig: Rig) -> None:
    """kill -9 of the worker process with 16 sends in flight at Meta and 8 replies still queued: the new worker
    sends the 8 and never the 16 again; Meta's status webhooks (`lm:<id>`) settle the 16."""
    await _kill_during_sending(rig, 'worker')


async def test_web_process_killed_during_sending_sends_each_reply_exactly_once(rig: Rig) -> None:
    """SLOW (the app starts again): kill -9 of the web process with 16 sends in flight; its worker stops by itself,
    Meta's status webhooks are refused until the app is back (Meta posts them again), nothing is sent twice."""
    await _kill_during_sending(rig, 'web')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its parent) is gone for our purpose.
    with contextlib.suppress(OSError):
        return Path(f'/proc/{pid}/stat').read_text().split(') ')[-1][0] != 'Z'
    return False


async def _true(value: bool) -> bool:
    return value
