"""The cross-process event bus (SPEC O6): what one process publishes reaches the pages and workers of every other
process sharing the PostgreSQL database, once, in order, whole, only to the branches that may see it — and a
process that lost its connection says so (`on_gap`) instead of silently showing stale data.

Two buses in one test play two processes (each has its own connections, as processes do). PostgreSQL only: the
SQLite install runs in one process with the in-process bus (tests/unit/app/test_event_bus.py). These tests fail,
never skip, when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from app.event_bus import NOTIFY_PAYLOAD_LIMIT, PostgresEventBus, build_event_bus
from services.events import MESSAGE_CREATED, Event
from services.presence import PresenceBoard
from tests.conftest import postgres_url_setting

CASA_CENTRAL, ROSARIO = 1, 2

MakeBus = Callable[[], Awaitable[PostgresEventBus]]


@pytest.fixture
def server_url() -> str:
    url = postgres_url_setting()
    if url is None:
        pytest.skip('PostgreSQL variant disabled by LEADMASTER_TEST_POSTGRES_URL=skip')
    return url


@pytest.fixture
async def make_bus(server_url: str) -> AsyncIterator[MakeBus]:
    """Buses on one channel of their own (tests running in parallel must not hear each other)."""
    channel = f'test_events_{secrets.token_hex(4)}'
    buses: list[PostgresEventBus] = []

    async def make() -> PostgresEventBus:
        bus = PostgresEventBus.from_sqlalchemy_url(server_url, channel=channel, keepalive_seconds=0.5)
        await bus.start(wait_seconds=10)
        if not bus.listening.is_set():
            pytest.fail(f'PostgreSQL at {server_url} is unreachable: the event bus could not listen', pytrace=False)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


async def terminate(server_url: str, backend_pid: int | None) -> None:
    assert backend_pid is not None
    admin = await asyncpg.connect(server_url.replace('postgresql+asyncpg://', 'postgresql://'))
    try:
        assert await admin.fetchval('SELECT pg_terminate_backend($1)', backend_pid)
    finally:
        await admin.close()


async def eventually(condition: Callable[[], bool], *, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError('condition not met in time')
        await asyncio.sleep(0.01)


async def test_an_event_published_in_one_process_reaches_the_pages_of_the_other_once(make_bus: MakeBus) -> None:
    web, worker = await make_bus(), await make_bus()
    on_web: list[Event] = []
    on_worker: list[Event] = []
    web.subscribe(on_web.append, branch_ids=frozenset({CASA_CENTRAL}))
    worker.subscribe(on_worker.append, branch_ids=None)

    published = Event(MESSAGE_CREATED, CASA_CENTRAL, 7, {'message_id': 41, 'text': 'hola', 'status': 'received'})
    await worker.publish([published])

    await eventually(lambda: len(on_web) == 1)
    await asyncio.sleep(0.2)  # and nothing more arrives: neither a second copy there nor an echo here
    assert on_web == [published] and on_web[0].version == published.version
    assert on_worker == [published]


async def test_another_branchs_event_never_reaches_a_page_in_another_process(make_bus: MakeBus) -> None:
    web, worker = await make_bus(), await make_bus()
    rosario_page: list[int] = []
    web.subscribe(lambda event: rosario_page.append(event.conversation_id or 0), branch_ids=frozenset({ROSARIO}))

    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1), Event(MESSAGE_CREATED, ROSARIO, 2)])

    await eventually(lambda: rosario_page == [2])
    await asyncio.sleep(0.2)
    assert rosario_page == [2]


async def test_a_burst_arrives_complete_and_in_publish_order(make_bus: MakeBus) -> None:
    web, worker = await make_bus(), await make_bus()
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.data['n']), branch_ids=None)

    for start in range(0, 2000, 100):  # like ingest batches: many events per publish, many publishes
        await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1, {'n': n}) for n in range(start, start + 100)])

    await eventually(lambda: len(seen) >= 2000)
    assert seen == list(range(2000))


async def test_a_longest_whatsapp_text_crosses_whole(make_bus: MakeBus) -> None:
    web, worker = await make_bus(), await make_bus()
    received: list[Event] = []
    web.subscribe(received.append, branch_ids=None)
    # 4096 characters (WhatsApp's limit), accents and emoji: far over one notification once JSON-escaped.
    text = ('¿Pastillas para el Gol? ñandú 🚗🔧🚗🔧 ' * 200)[:4096]
    assert len(Event(MESSAGE_CREATED, 1, 1, {'text': text}).wire_json()) > NOTIFY_PAYLOAD_LIMIT

    await worker.publish(
        [
            Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': 'antes'}),
            Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': text}),
            Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': 'después'}),
        ]
    )

    await eventually(lambda: len(received) == 3)
    assert [event.data['text'] for event in received] == ['antes', text, 'después']


async def test_a_process_that_lost_its_connection_says_so_and_hears_again(make_bus: MakeBus, server_url: str) -> None:
    web, worker = await make_bus(), await make_bus()
    gaps: list[str] = []
    seen: list[int] = []
    web.subscribe(
        lambda event: seen.append(event.conversation_id or 0), branch_ids=None, on_gap=lambda: gaps.append('re-read')
    )

    # The database drops the web process's listening connection (a failover, a restart, a network cut).
    await terminate(server_url, web.listener_pid)

    await eventually(lambda: web.reconnects >= 1 and web.listening.is_set(), seconds=10)
    assert gaps == ['re-read']  # the page re-reads what it shows: whatever was missed is on screen again
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 9)])
    await eventually(lambda: seen == [9])


async def test_events_published_while_the_sender_is_cut_off_are_sent_once_it_is_back(
    make_bus: MakeBus, server_url: str
) -> None:
    web, worker = await make_bus(), await make_bus()
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.conversation_id or 0), branch_ids=None)
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1)])
    await eventually(lambda: seen == [1])

    await terminate(server_url, worker.sender_pid)  # the worker's sending connection dies between publishes
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 2), Event(MESSAGE_CREATED, CASA_CENTRAL, 3)])

    await eventually(lambda: seen == [1, 2, 3], seconds=10)


async def test_own_events_are_told_by_the_bus_not_by_the_connection(make_bus: MakeBus, server_url: str) -> None:
    # After a PostgreSQL restart backend pids start again from small numbers, so another process's sender may get
    # a pid this process's sender once had: skipping "own" notifications by pid would then drop that process's
    # events for good. A payload says which bus sent it.
    web, worker = await make_bus(), await make_bus()
    web_seen: list[int] = []
    web.subscribe(lambda event: web_seen.append(event.conversation_id or 0), branch_ids=None)
    await web.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1)])
    await eventually(lambda: web.sender_pid is not None)
    first_sender = web.sender_pid
    await terminate(server_url, first_sender)  # the web's sender reconnects: a new backend
    await web.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 2)])
    # Another process's event, sent from whatever backend, is delivered; the web's own two were delivered once.
    raw = await asyncpg.connect(server_url.replace('postgresql+asyncpg://', 'postgresql://'))
    try:
        await raw.execute(
            'SELECT pg_notify($1, $2)',
            web.channel,
            f'{worker.sender_id} [{Event(MESSAGE_CREATED, CASA_CENTRAL, 3).wire_json()}]',
        )
    finally:
        await raw.close()
    await eventually(lambda: 3 in web_seen)
    await asyncio.sleep(0.3)  # time for any echo of the web's own events to come back
    assert web_seen == [1, 2, 3]
    assert web.sender_pid != first_sender


async def test_events_published_just_before_stopping_still_cross(make_bus: MakeBus) -> None:
    web, worker = await make_bus(), await make_bus()
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.conversation_id or 0), branch_ids=None)
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 41)])
    await asyncio.sleep(0)  # the sender has taken the batch: it is in flight, the queue is empty
    await worker.stop()  # a worker shutting down sends what it was sending

    await eventually(lambda: seen == [41])


class FreezingProxy:
    """A TCP proxy to PostgreSQL that can go silent on the connections it carries, keeping them open: what a NAT's
    idle timeout or a failover does to a connection (no reset, nothing ever comes back). New connections work."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.frozen: list[asyncio.Event] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, '127.0.0.1', 0)
        return self.server.sockets[0].getsockname()[1]

    def freeze_open_connections(self) -> None:
        for frozen in self.frozen:
            frozen.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frozen = asyncio.Event()
        self.frozen.append(frozen)
        upstream_reader, upstream_writer = await asyncio.open_connection('127.0.0.1', self.port)

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if frozen.is_set():
                    await asyncio.Event().wait()  # swallowed: silence, never an error
                target.write(data)
                await target.drain()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)


async def test_a_sender_whose_connection_went_silent_sends_on_a_new_one(make_bus: MakeBus, server_url: str) -> None:
    from sqlalchemy.engine import make_url

    web = await make_bus()
    real = make_url(server_url)
    proxy = FreezingProxy(real.port or 5432)
    proxied = real.set(port=await proxy.start()).render_as_string(hide_password=False)
    worker = PostgresEventBus.from_sqlalchemy_url(
        proxied, channel=web.channel, keepalive_seconds=0.5, send_timeout_seconds=0.5
    )
    await worker.start(wait_seconds=10)
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.conversation_id or 0), branch_ids=None)
    try:
        await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1)])
        await eventually(lambda: seen == [1])

        proxy.freeze_open_connections()  # the worker's sending connection now swallows everything
        await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 2)])

        await eventually(lambda: seen == [1, 2], seconds=10)  # not after TCP's quarter of an hour
    finally:
        await asyncio.wait_for(worker.stop(), timeout=10)
        assert proxy.server is not None
        proxy.server.close()


async def test_with_the_database_unreachable_publishing_still_serves_this_process() -> None:
    bus = PostgresEventBus('postgresql://postgres@127.0.0.1:1/nowhere', channel='unreachable')
    local: list[int] = []
    bus.subscribe(lambda event: local.append(event.conversation_id or 0), branch_ids=None)
    await asyncio.wait_for(bus.start(wait_seconds=0.3), timeout=5)  # start-up is not held hostage

    await asyncio.wait_for(bus.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 5)]), timeout=1)

    assert local == [5] and not bus.listening.is_set()
    await asyncio.wait_for(bus.stop(), timeout=5)


async def test_presence_crosses_processes_and_a_silent_process_is_forgotten(make_bus: MakeBus) -> None:
    web_a, web_b, worker = await make_bus(), await make_bus(), await make_bus()
    board_a = PresenceBoard(web_a, origin='web-a', heartbeat_seconds=0.5)  # never beats: it "dies" below
    board_b = PresenceBoard(web_b, origin='web-b', heartbeat_seconds=0.5)
    board_worker = PresenceBoard(worker, origin='worker', heartbeat_seconds=0.5)
    for board, bus in ((board_a, web_a), (board_b, web_b), (board_worker, worker)):
        board.listen(bus.subscribe)
    board_b.start_heartbeat()

    await board_a.page_opened(11)  # Ana opens her inbox in web process A
    await board_a.viewing(conversation_id=7, branch_id=CASA_CENTRAL, user_id=11, name='Ana')
    await board_a.typing(conversation_id=7, user_id=11)
    await board_b.page_opened(12)  # Bruno in web process B

    # The worker's round robin sees both online; Bruno (process B) sees Ana typing in conversation 7.
    await eventually(lambda: board_worker.online_user_ids() == {11, 12})
    await eventually(lambda: board_b.someone_else_typing(7, user_id=12) == ('Ana',))
    assert board_b.of(7, excluding=12).viewing == ('Ana',)

    # Process A dies without a word: after three missed heartbeats, Ana is neither online nor viewing.
    await eventually(lambda: board_worker.online_user_ids() == {12}, seconds=5)
    # (each process counts from when it heard A last, a few milliseconds apart)
    await eventually(lambda: board_b.of(7, excluding=12).viewing == (), seconds=1)
    await board_b.stop()


async def test_a_process_that_starts_late_learns_who_is_online_at_once(make_bus: MakeBus) -> None:
    web = await make_bus()
    board_web = PresenceBoard(web, origin='web', heartbeat_seconds=60)  # no heartbeat would come in time
    board_web.listen(web.subscribe)
    await board_web.page_opened(11)

    worker = await make_bus()  # the worker process (re)starts after the agents signed in
    board_worker = PresenceBoard(worker, origin='worker', heartbeat_seconds=60)
    board_worker.listen(worker.subscribe)
    await board_worker.ask_who_is_online()

    await eventually(lambda: board_worker.online_user_ids() == {11}, seconds=3)


async def test_a_viewer_who_left_while_a_process_was_deaf_is_not_shown_for_good(
    make_bus: MakeBus, server_url: str
) -> None:
    web_a, web_b = await make_bus(), await make_bus()
    board_a = PresenceBoard(web_a, origin='web-a', heartbeat_seconds=60)
    board_b = PresenceBoard(web_b, origin='web-b', heartbeat_seconds=60)
    board_a.listen(web_a.subscribe)
    board_b.listen(web_b.subscribe)
    await board_a.page_opened(21)
    await board_a.page_opened(22)
    await board_b.ask_who_is_online()
    await board_a.viewing(conversation_id=5, branch_id=CASA_CENTRAL, user_id=21, name='Ana Gómez')
    await board_a.viewing(conversation_id=6, branch_id=CASA_CENTRAL, user_id=22, name='Bruno Díaz')
    await eventually(lambda: board_b.of(5).viewing == ('Ana Gómez',) and board_b.of(6).viewing == ('Bruno Díaz',))

    # B's listener drops; meanwhile Ana leaves conversation 5 (B never hears it). B reconnects.
    await terminate(server_url, web_b.listener_pid)
    await board_a.left(conversation_id=5, user_id=21)
    await eventually(lambda: web_b.reconnects >= 1 and web_b.listening.is_set(), seconds=10)

    # B asks again: Ana no longer shows in 5, Bruno still shows in 6.
    await eventually(lambda: board_b.of(5).viewing == () and board_b.of(6).viewing == ('Bruno Díaz',), seconds=5)


async def test_beside_a_transaction_pooler_the_bus_listens_on_its_own_direct_url(server_url: str) -> None:
    """LEADMASTER_EVENT_BUS_URL (docs/scaling.md): the database URL goes through pgbouncer in transaction mode, which
    cannot keep a LISTEN; the bus connects straight to the server instead, and hears the other processes."""
    pooled = 'postgresql+asyncpg://app@pgbouncer.invalid:6432/leadmaster'
    bus = build_event_bus(kind='postgres', database_url=pooled, listen_url=server_url)
    other = build_event_bus(kind='postgres', database_url=server_url)
    assert isinstance(bus, PostgresEventBus) and isinstance(other, PostgresEventBus)
    channel = f'test_events_{secrets.token_hex(4)}'
    bus.channel = other.channel = channel
    heard: list[Event] = []
    bus.subscribe(heard.append, branch_ids=None)
    await bus.start(wait_seconds=10)
    await other.start(wait_seconds=10)
    try:
        assert bus.listening.is_set(), 'the bus did not reach PostgreSQL through its own URL'
        await other.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'message_id': 5})])
        await eventually(lambda: len(heard) == 1)
        assert 'pgbouncer' not in bus.dsn
    finally:
        await bus.stop()
        await other.stop()
