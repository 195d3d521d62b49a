"""What happened, for whoever shows it: the events services publish after they commit.

Services depend only on the `EventPublisher` protocol; the bus that implements it lives in `app/`
(in-process today, cross-process later), chosen by settings.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MESSAGE_CREATED = 'message.created'
MESSAGE_STATUS = 'message.status'
CONVERSATION_UPDATED = 'conversation.updated'


_serials = itertools.count(1)


@dataclass(frozen=True)
class Event:
    kind: str
    # Every event belongs to one branch, so subscribers can be limited to the branches they may see (B2).
    branch_id: int
    conversation_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Distinguishes two events about the same conversation; pages use it to share one read per event.
    serial: int = field(default_factory=lambda: next(_serials))


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> None: ...


class NullPublisher:
    """For callers that need no live updates (CLI, replay tools, tests of pure persistence)."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None
