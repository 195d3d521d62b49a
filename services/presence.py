"""Who is online, viewing and typing (C2, T4): ephemeral, in memory, announced through the event bus.

Typing marks expire on their own (a closed laptop must not lock a conversation for ever), and the expiry is announced
like a stop: the other agents' pages (in this process and the others) stop showing "está escribiendo…" then, not at
the next presence change.

Each process has its own board; with several processes (SPEC O6) each board also keeps what the others announce:
the watchers of a conversation travel with its `presence.changed` event, and each web process's online agents
with `presence.online` (when they change and every `heartbeat_seconds`). The worker process, which has no pages,
learns from those who is online for the assignment rules. A board that stops announcing (its process died) is
forgotten after three missed heartbeats, with its viewers and typists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .events import PROCESS_ORIGIN, SYSTEM_BRANCH, Event, EventPublisher

PRESENCE_CHANGED = 'presence.changed'
PRESENCE_ONLINE = 'presence.online'  # a board's online users, for the boards of other processes
TYPING_SECONDS = 5.0
HEARTBEAT_SECONDS = 15.0


@dataclass
class _Watch:
    user_id: int
    name: str
    pages: int = 0
    typing_until: float = 0.0


@dataclass
class _Conversation:
    branch_id: int
    watchers: dict[int, _Watch] = field(default_factory=dict)


@dataclass(frozen=True)
class Presence:
    viewing: tuple[str, ...]  # names of agents with the conversation open
    typing: tuple[str, ...]  # names of agents typing in it right now


class PresenceBoard:
    def __init__(
        self,
        publisher: EventPublisher,
        *,
        typing_seconds: float = TYPING_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        origin: str = PROCESS_ORIGIN,
    ) -> None:
        self._publisher = publisher
        self._typing_seconds = typing_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self.origin = origin  # names this board in its announcements, so it ignores its own
        self._conversations: dict[int, _Conversation] = {}
        self._online: dict[int, int] = {}  # user id → open inbox pages
        # What the other boards said: origin → (when heard, online users); conversation → origin → watchers.
        self._remote_online: dict[str, tuple[float, frozenset[int]]] = {}
        self._remote_watchers: dict[int, dict[str, tuple[_Watch, ...]]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        # (conversation, user) → the task that announces that user's typing mark expired, if it does.
        self._expiries: dict[tuple[int, int], asyncio.Task[None]] = {}

    # --- across processes ---

    def listen(self, subscribe: Callable[..., Any]) -> None:
        """Hear the other processes' boards (`subscribe` is the bus's) and ask them who is online now, instead of
        waiting up to a heartbeat."""
        subscribe(self.on_event, branch_ids=None, kinds=[PRESENCE_CHANGED, PRESENCE_ONLINE], on_gap=self.on_gap)

    async def on_gap(self) -> None:
        """This process may have missed the others' announcements (its bus reconnected): a "left" missed would
        keep showing "Ana está viendo" for good. Forget what they said and ask them to say it again."""
        self._remote_watchers.clear()
        await self._publish_online(ask=True)

    async def ask_who_is_online(self) -> None:
        await self._publish_online(ask=True)

    def start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(), name='presence-heartbeat')

    async def stop(self) -> None:
        expiries = list(self._expiries.values())
        self._expiries.clear()
        for task in expiries:
            task.cancel()
        await asyncio.gather(*expiries, return_exceptions=True)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            await self._publish_online()

    def on_event(self, event: Event) -> Any:
        origin = event.data.get('board')
        if origin is None or origin == self.origin:
            return None
        if event.kind == PRESENCE_ONLINE:
            self._remote_online[origin] = (time.monotonic(), frozenset(event.data.get('user_ids', ())))
            if event.data.get('ask'):
                return self._answer()  # a new (or reconnected) process asks: answer now, not at the next heartbeat
        elif event.kind == PRESENCE_CHANGED and event.conversation_id is not None:
            now = time.monotonic()
            watchers = tuple(
                _Watch(user_id, name, 1, now + typing_left if typing_left > 0 else 0.0)
                for user_id, name, typing_left in event.data.get('watchers', ())
            )
            remote = self._remote_watchers.setdefault(event.conversation_id, {})
            if watchers:
                remote[origin] = watchers
            else:
                remote.pop(origin, None)
                if not remote:
                    del self._remote_watchers[event.conversation_id]
        return None

    def _live_origins(self) -> set[str]:
        """Boards heard from lately; the others' processes are gone, and with them their pages."""
        now = time.monotonic()
        for origin, (heard, _users) in list(self._remote_online.items()):
            if now - heard > 3 * self._heartbeat_seconds:
                del self._remote_online[origin]
                for remote in self._remote_watchers.values():
                    remote.pop(origin, None)
        return set(self._remote_online)

    async def _answer(self) -> None:
        await self._publish_online()
        for conversation_id, entry in list(self._conversations.items()):
            await self._announce(conversation_id, entry)

    async def _publish_online(self, *, ask: bool = False) -> None:
        data: dict[str, Any] = {'board': self.origin, 'user_ids': sorted(self._online)}
        if ask:
            data['ask'] = True
        await self._publisher.publish([Event(PRESENCE_ONLINE, SYSTEM_BRANCH, None, data)])

    # --- online (T4: "online" means an inbox page is open) ---

    async def page_opened(self, user_id: int) -> None:
        self._online[user_id] = self._online.get(user_id, 0) + 1
        if self._online[user_id] == 1:
            await self._publish_online()

    async def page_closed(self, user_id: int) -> None:
        remaining = self._online.get(user_id, 0) - 1
        if remaining > 0:
            self._online[user_id] = remaining
            return
        self._online.pop(user_id, None)
        await self._publish_online()

    def online_user_ids(self) -> set[int]:
        online = set(self._online)
        for origin in self._live_origins():
            online |= self._remote_online[origin][1]
        return online

    # --- viewing and typing ---

    async def viewing(self, *, conversation_id: int, branch_id: int, user_id: int, name: str) -> None:
        entry = self._conversations.setdefault(conversation_id, _Conversation(branch_id))
        watch = entry.watchers.setdefault(user_id, _Watch(user_id, name))
        watch.pages += 1
        await self._announce(conversation_id, entry)

    async def left(self, *, conversation_id: int, user_id: int) -> None:
        entry = self._conversations.get(conversation_id)
        if entry is None or user_id not in entry.watchers:
            return
        watch = entry.watchers[user_id]
        watch.pages -= 1
        if watch.pages <= 0:
            del entry.watchers[user_id]
        await self._announce(conversation_id, entry)
        if not entry.watchers:
            del self._conversations[conversation_id]

    async def typing(self, *, conversation_id: int, user_id: int) -> None:
        """Called on keystrokes (throttled by the page); announces only the start of typing."""
        entry = self._conversations.get(conversation_id)
        watch = entry.watchers.get(user_id) if entry else None
        if entry is None or watch is None:
            return
        was_typing = watch.typing_until > time.monotonic()
        watch.typing_until = time.monotonic() + self._typing_seconds
        if not was_typing:
            await self._announce(conversation_id, entry)
            self._announce_expiry(conversation_id, user_id)

    def _announce_expiry(self, conversation_id: int, user_id: int) -> None:
        key = (conversation_id, user_id)
        if key not in self._expiries:
            self._expiries[key] = asyncio.get_running_loop().create_task(
                self._expire(conversation_id, user_id), name='presence-typing-expiry'
            )

    async def _expire(self, conversation_id: int, user_id: int) -> None:
        """Sleep until the mark's deadline (pushed on by every keystroke); then, if it ran out, say so."""
        key = (conversation_id, user_id)
        try:
            while True:
                entry = self._conversations.get(conversation_id)
                watch = entry.watchers.get(user_id) if entry else None
                if entry is None or watch is None or not watch.typing_until:
                    return  # she left or stopped typing: that was announced
                left = watch.typing_until - time.monotonic()
                if left <= 0:
                    watch.typing_until = 0.0
                    del self._expiries[key]  # typing again from now on needs a new expiry
                    await self._announce(conversation_id, entry)
                    return
                await asyncio.sleep(left)
        finally:
            if self._expiries.get(key) is asyncio.current_task():
                del self._expiries[key]

    async def stopped_typing(self, *, conversation_id: int, user_id: int) -> None:
        entry = self._conversations.get(conversation_id)
        watch = entry.watchers.get(user_id) if entry else None
        if entry is not None and watch is not None and watch.typing_until:
            watch.typing_until = 0.0
            await self._announce(conversation_id, entry)

    def of(self, conversation_id: int, *, excluding: int | None = None) -> Presence:
        entry = self._conversations.get(conversation_id)
        watchers = list(entry.watchers.values()) if entry is not None else []
        remote = self._remote_watchers.get(conversation_id)
        if remote:
            live = self._live_origins()
            watchers += [watch for origin, watches in remote.items() if origin in live for watch in watches]
        now = time.monotonic()
        # One agent in two processes (two tabs behind the load balancer) is one name.
        others = {w.user_id: w for w in sorted(watchers, key=lambda w: w.typing_until) if w.user_id != excluding}
        return Presence(
            viewing=tuple(sorted(w.name for w in others.values())),
            typing=tuple(sorted(w.name for w in others.values() if w.typing_until > now)),
        )

    def someone_else_typing(self, conversation_id: int, *, user_id: int) -> Sequence[str]:
        """Soft lock: who else is typing in this conversation (the send button asks before sending)."""
        return self.of(conversation_id, excluding=user_id).typing

    async def _announce(self, conversation_id: int, entry: _Conversation) -> None:
        now = time.monotonic()
        watchers = [[w.user_id, w.name, round(max(0.0, w.typing_until - now), 2)] for w in entry.watchers.values()]
        await self._publisher.publish(
            [Event(PRESENCE_CHANGED, entry.branch_id, conversation_id, {'board': self.origin, 'watchers': watchers})]
        )
