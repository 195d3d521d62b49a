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

from app.event_bus import NOTIFY_PAYLOAD_LIMIT, PostgresEventBus
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

    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': 'antes'}),
                          Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': text}),
                          Event(MESSAGE_CREATED, CASA_CENTRAL, 3, {'text': 'después'})])

    await eventually(lambda: len(received) == 3)
    assert [event.data['text'] for event in received] == ['antes', text, 'después']


async def test_a_process_that_lost_its_connection_says_so_and_hears_again(make_bus: MakeBus,
                                                                         server_url: str) -> None:
    web, worker = await make_bus(), await make_bus()
    gaps: list[str] = []
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.conversation_id or 0), branch_ids=None,
                  on_gap=lambda: gaps.append('re-read'))

    # The database drops the web process's listening connection (a failover, a restart, a network cut).
    await terminate(server_url, web.listener_pid)

    await eventually(lambda: web.reconnects >= 1 and web.listening.is_set(), seconds=10)
    assert gaps == ['re-read']  # the page re-reads what it shows: whatever was missed is on screen again
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 9)])
    await eventually(lambda: seen == [9])


async def test_events_published_while_the_sender_is_cut_off_are_sent_once_it_is_back(make_bus: MakeBus,
                                                                                    server_url: str) -> None:
    web, worker = await make_bus(), await make_bus()
    seen: list[int] = []
    web.subscribe(lambda event: seen.append(event.conversation_id or 0), branch_ids=None)
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 1)])
    await eventually(lambda: seen == [1])

    await terminate(server_url, worker._own_pids[-1])  # the worker's sending connection dies between publishes
    await worker.publish([Event(MESSAGE_CREATED, CASA_CENTRAL, 2), Event(MESSAGE_CREATED, CASA_CENTRAL, 3)])

    await eventually(lambda: seen == [1, 2, 3], seconds=10)


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
    assert board_b.of(7, excluding=12).viewing == ()
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
