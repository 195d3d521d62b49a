"""What happened, for whoever shows it: the events services publish after they commit.

Services depend only on the `EventPublisher` protocol; the bus that implements it lives in `app/`
(in-process, or across processes through PostgreSQL), chosen by settings.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MESSAGE_CREATED = 'message.created'
MESSAGE_STATUS = 'message.status'
CONVERSATION_UPDATED = 'conversation.updated'
# Events about the system rather than a branch's data: they reach only subscribers of every branch that ask for
# the kind (workers, presence boards), never a page (pages subscribe to their branches).
SYSTEM_BRANCH = 0
WEBHOOK_JOURNALED = 'webhook.journaled'  # wakes the ingest worker, wherever it runs

# Which process published an event: a cross-process bus skips its own events when they come back, and
# (origin, serial) names an event uniquely across every process sharing the bus.
PROCESS_ORIGIN = secrets.token_hex(6)

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
    origin: str = PROCESS_ORIGIN
    # When it was published (Unix seconds): how long it took to reach a page is a metric (O4). Not part of what
    # the event is (it crosses processes rounded to the millisecond).
    at: float = field(default_factory=time.time, compare=False)

    @property
    def version(self) -> Hashable:
        """Unique across processes: what a cache of reads per event keys on."""
        return (self.origin, self.serial)

    def to_wire(self) -> dict[str, Any]:
        """The JSON form that crosses processes; `data` must hold only JSON values (str enums are str)."""
        return {
            'k': self.kind,
            'b': self.branch_id,
            'c': self.conversation_id,
            'd': self.data,
            's': self.serial,
            'o': self.origin,
            't': round(self.at, 3),
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Event:
        return cls(
            kind=wire['k'],
            branch_id=wire['b'],
            conversation_id=wire['c'],
            data=wire['d'],
            serial=wire['s'],
            origin=wire['o'],
            at=wire.get('t', time.time()),
        )

    def wire_json(self) -> str:
        # ASCII only: PostgreSQL limits a notification to 8000 bytes, and then characters are bytes.
        return json.dumps(self.to_wire(), ensure_ascii=True, separators=(',', ':'))


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> None: ...


class NullPublisher:
    """For callers that need no live updates (CLI, replay tools, tests of pure persistence)."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None
