"""Who is viewing and typing (C2), and who is online (T4)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.events import SYSTEM_BRANCH, Event
from services.presence import PRESENCE_CHANGED, PRESENCE_ONLINE, Presence, PresenceBoard


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


async def test_viewers_and_typing_are_seen_by_the_others_not_by_oneself() -> None:
    recorder = Recorder()
    board = PresenceBoard(recorder)
    await board.viewing(conversation_id=7, branch_id=1, user_id=1, name='Ana')
    await board.viewing(conversation_id=7, branch_id=1, user_id=2, name='Bruno')

    await board.typing(conversation_id=7, user_id=1)

    assert board.of(7, excluding=2).typing == ('Ana',)
    assert board.of(7, excluding=1).typing == ()
    assert board.of(7, excluding=1).viewing == ('Bruno',)
    assert board.someone_else_typing(7, user_id=2) == ('Ana',)
    assert all(event.kind == PRESENCE_CHANGED and event.branch_id == 1 for event in recorder.events)


async def test_typing_expires_on_its_own() -> None:
    board = PresenceBoard(Recorder(), typing_seconds=0.05)
    await board.viewing(conversation_id=7, branch_id=1, user_id=1, name='Ana')
    await board.typing(conversation_id=7, user_id=1)

    await asyncio.sleep(0.1)

    assert board.of(7).typing == ()


async def test_an_expired_typing_mark_is_announced_so_the_other_processes_pages_stop_showing_it() -> None:
    """Issue 20: a board in another process (and this process's pages) learn only from announcements; an expiry
    nobody announced kept "Ana está escribiendo…" on their screens until the next presence change."""
    recorder = Recorder()
    board = PresenceBoard(recorder, typing_seconds=1.0, origin='web1')
    elsewhere = PresenceBoard(Recorder(), origin='web2')
    await board.viewing(conversation_id=7, branch_id=1, user_id=1, name='Ana')
    await board.typing(conversation_id=7, user_id=1)
    for _ in range(3):  # she keeps typing: no announcement while she does
        await asyncio.sleep(0.1)
        await board.typing(conversation_id=7, user_id=1)
    typing_left = [event.data['watchers'][0][2] for event in recorder.events]
    assert typing_left == [0.0, 1.0]  # viewing, started typing
    await asyncio.sleep(1.2)
    assert [event.data['watchers'][0][2] for event in recorder.events] == [0.0, 1.0, 0.0]  # expired: announced
    for event in recorder.events:
        elsewhere.on_event(event)
    elsewhere.on_event(Event(PRESENCE_ONLINE, SYSTEM_BRANCH, None, {'board': 'web1', 'user_ids': [1]}))
    assert elsewhere.of(7, excluding=2) == Presence(viewing=('Ana',), typing=())
    await board.typing(conversation_id=7, user_id=1)  # typing again: announced, and expires again
    await asyncio.sleep(1.2)
    assert [event.data['watchers'][0][2] for event in recorder.events][-2:] == [1.0, 0.0]
    await board.stop()


async def test_leaving_the_last_page_removes_the_viewer_and_online_counts_pages() -> None:
    board = PresenceBoard(Recorder())
    await board.viewing(conversation_id=7, branch_id=1, user_id=1, name='Ana')
    await board.viewing(conversation_id=7, branch_id=1, user_id=1, name='Ana')  # two tabs
    await board.page_opened(1)
    await board.page_opened(1)

    await board.left(conversation_id=7, user_id=1)
    await board.page_closed(1)
    assert board.of(7).viewing == ('Ana',) and board.online_user_ids() == {1}

    await board.left(conversation_id=7, user_id=1)
    await board.page_closed(1)
    assert board.of(7).viewing == () and board.online_user_ids() == set()
