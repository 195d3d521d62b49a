"""The in-process event bus (C2): every open page gets the events of its branches, in order, and no page — slow,
broken or closed — holds up the publisher (ingest, a reply, a takeover) or the other pages."""

from __future__ import annotations

import asyncio

from app.event_bus import InProcessEventBus
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, SYSTEM_BRANCH, WEBHOOK_JOURNALED, Event

CASA_CENTRAL, ROSARIO = 1, 2


def created(branch_id: int, conversation_id: int) -> Event:
    return Event(MESSAGE_CREATED, branch_id, conversation_id)


async def test_each_page_gets_its_events_in_publish_order_even_when_it_is_slow() -> None:
    bus = InProcessEventBus()
    seen: list[int] = []

    async def slow_page(event: Event) -> None:
        await asyncio.sleep(0.01 if event.conversation_id == 1 else 0)  # the first one takes longest
        seen.append(event.conversation_id or 0)

    bus.subscribe(slow_page, branch_ids=None)
    for conversation_id in (1, 2, 3):
        await bus.publish([created(CASA_CENTRAL, conversation_id)])
    await bus.drain()
    assert seen == [1, 2, 3]


async def test_the_publisher_does_not_wait_for_a_page_that_is_stuck() -> None:
    bus = InProcessEventBus()
    release = asyncio.Event()
    quick: list[int] = []

    async def stuck_page(_event: Event) -> None:
        await release.wait()

    async def other_page(event: Event) -> None:
        quick.append(event.conversation_id or 0)

    bus.subscribe(stuck_page, branch_ids=None)
    bus.subscribe(other_page, branch_ids=None)
    await asyncio.wait_for(bus.publish([created(CASA_CENTRAL, 7)]), timeout=1)  # returns while one page waits
    await asyncio.sleep(0.05)
    assert quick == [7]  # the other page was not held up either
    release.set()
    await asyncio.wait_for(bus.drain(), timeout=1)


async def test_a_broken_page_is_logged_and_the_others_still_update(caplog) -> None:
    bus = InProcessEventBus()
    updated: list[str] = []

    async def broken_page(_event: Event) -> None:
        raise RuntimeError('element deleted')

    def broken_sync(_event: Event) -> None:
        raise ValueError('bad handler')

    async def page(event: Event) -> None:
        updated.append(event.kind)

    bus.subscribe(broken_page, branch_ids=None)
    bus.subscribe(broken_sync, branch_ids=None)
    bus.subscribe(page, branch_ids=None)
    await bus.publish([created(CASA_CENTRAL, 1), Event(CONVERSATION_UPDATED, CASA_CENTRAL, 1)])
    await bus.drain()
    assert updated == [MESSAGE_CREATED, CONVERSATION_UPDATED]
    assert 'element deleted' in caplog.text and 'bad handler' in caplog.text


async def test_a_page_never_receives_another_branchs_events() -> None:
    bus = InProcessEventBus()
    rosario: list[int] = []

    async def rosario_page(event: Event) -> None:
        rosario.append(event.branch_id)

    bus.subscribe(rosario_page, branch_ids=frozenset({ROSARIO}), kinds=[MESSAGE_CREATED])
    await bus.publish([created(CASA_CENTRAL, 1), created(ROSARIO, 2), Event(CONVERSATION_UPDATED, ROSARIO, 2)])
    await bus.drain()
    assert rosario == [ROSARIO]


async def test_a_closed_page_runs_nothing_more_of_what_was_queued_for_it() -> None:
    bus = InProcessEventBus()
    release = asyncio.Event()
    handled: list[int] = []

    async def page(event: Event) -> None:
        await release.wait()
        handled.append(event.conversation_id or 0)

    subscription = bus.subscribe(page, branch_ids=None)
    await bus.publish([created(CASA_CENTRAL, 1), created(CASA_CENTRAL, 2), created(CASA_CENTRAL, 3)])
    await asyncio.sleep(0)  # the first one is running
    subscription.cancel()
    release.set()
    await asyncio.sleep(0.05)
    assert handled == [1]  # the running one finishes; the queued ones are dropped, not run into a dead page
    assert bus.subscriber_count == 0


async def test_system_events_reach_only_who_asks_for_them_by_name() -> None:
    bus = InProcessEventBus()
    everything: list[str] = []
    ingest_wakeups: list[str] = []
    bus.subscribe(lambda event: everything.append(event.kind), branch_ids=None)  # e.g. an admin's recorder
    bus.subscribe(lambda event: ingest_wakeups.append(event.kind), branch_ids=None, kinds=[WEBHOOK_JOURNALED])

    await bus.publish([Event(WEBHOOK_JOURNALED, SYSTEM_BRANCH), created(CASA_CENTRAL, 1)])

    assert everything == [MESSAGE_CREATED] and ingest_wakeups == [WEBHOOK_JOURNALED]
