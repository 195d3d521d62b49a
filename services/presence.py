"""Who is online, viewing and typing (C2): ephemeral, in memory, announced through the event bus.

Typing marks expire on their own (a closed laptop must not lock a conversation for ever). Across several
processes this board lives in each process; the cross-process bus (SPEC O6) will carry its events.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .events import Event, EventPublisher

PRESENCE_CHANGED = 'presence.changed'
TYPING_SECONDS = 5.0


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
    def __init__(self, publisher: EventPublisher, *, typing_seconds: float = TYPING_SECONDS) -> None:
        self._publisher = publisher
        self._typing_seconds = typing_seconds
        self._conversations: dict[int, _Conversation] = {}
        self._online: dict[int, int] = {}  # user id → open inbox pages

    # --- online (T4: "online" means an inbox page is open) ---

    def page_opened(self, user_id: int) -> None:
        self._online[user_id] = self._online.get(user_id, 0) + 1

    def page_closed(self, user_id: int) -> None:
        remaining = self._online.get(user_id, 0) - 1
        if remaining > 0:
            self._online[user_id] = remaining
        else:
            self._online.pop(user_id, None)

    def online_user_ids(self) -> set[int]:
        return set(self._online)

    # --- viewing and typing ---

    async def viewing(self, *, conversation_id: int, branch_id: int, user_id: int, name: str) -> None:
        entry = self._conversations.setdefault(conversation_id, _Conversation(branch_id))
        watch = entry.watchers.setdefault(user_id, _Watch(user_id, name))
        watch.pages += 1
        await self._announce(conversation_id)

    async def left(self, *, conversation_id: int, user_id: int) -> None:
        entry = self._conversations.get(conversation_id)
        if entry is None or user_id not in entry.watchers:
            return
        watch = entry.watchers[user_id]
        watch.pages -= 1
        if watch.pages <= 0:
            del entry.watchers[user_id]
        await self._announce(conversation_id)
        if not entry.watchers:
            del self._conversations[conversation_id]

    async def typing(self, *, conversation_id: int, user_id: int) -> None:
        """Called on keystrokes (throttled by the page); announces only the start of typing."""
        entry = self._conversations.get(conversation_id)
        watch = entry.watchers.get(user_id) if entry else None
        if watch is None:
            return
        was_typing = watch.typing_until > time.monotonic()
        watch.typing_until = time.monotonic() + self._typing_seconds
        if not was_typing:
            await self._announce(conversation_id)

    async def stopped_typing(self, *, conversation_id: int, user_id: int) -> None:
        entry = self._conversations.get(conversation_id)
        watch = entry.watchers.get(user_id) if entry else None
        if watch is not None and watch.typing_until:
            watch.typing_until = 0.0
            await self._announce(conversation_id)

    def of(self, conversation_id: int, *, excluding: int | None = None) -> Presence:
        entry = self._conversations.get(conversation_id)
        if entry is None:
            return Presence((), ())
        now = time.monotonic()
        others = [w for w in entry.watchers.values() if w.user_id != excluding]
        return Presence(viewing=tuple(sorted(w.name for w in others)),
                        typing=tuple(sorted(w.name for w in others if w.typing_until > now)))

    def someone_else_typing(self, conversation_id: int, *, user_id: int) -> Sequence[str]:
        """Soft lock: who else is typing in this conversation (the send button asks before sending)."""
        return self.of(conversation_id, excluding=user_id).typing

    async def _announce(self, conversation_id: int) -> None:
        entry = self._conversations.get(conversation_id)
        if entry is not None:
            await self._publisher.publish([Event(PRESENCE_CHANGED, entry.branch_id, conversation_id)])
