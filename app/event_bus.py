"""The event bus pages subscribe to. `InProcessEventBus` serves one process; a cross-process bus
(PostgreSQL LISTEN/NOTIFY or Redis, SPEC O6) will implement the same two methods."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None] | None]


@dataclass(eq=False)
class Subscription:
    handler: Handler
    # None = every branch (admins); otherwise only events of these branches reach the handler.
    branch_ids: frozenset[int] | None
    kinds: frozenset[str] | None
    bus: InProcessEventBus | None = None

    def wants(self, event: Event) -> bool:
        return ((self.branch_ids is None or event.branch_id in self.branch_ids)
                and (self.kinds is None or event.kind in self.kinds))

    def cancel(self) -> None:
        if self.bus is not None:
            self.bus.unsubscribe(self)


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    def subscribe(self, handler: Handler, *, branch_ids: frozenset[int] | None,
                  kinds: Sequence[str] | None = None) -> Subscription:
        """The branch filter is applied here, before a handler runs, so a page can never
        receive another branch's event by mistake (B2)."""
        subscription = Subscription(handler, branch_ids, frozenset(kinds) if kinds else None, self)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    async def publish(self, events: Sequence[Event]) -> None:
        pending: list[Awaitable[None]] = []
        for event in events:
            for subscription in list(self._subscriptions):
                if not subscription.wants(event):
                    continue
                try:
                    result = subscription.handler(event)
                except Exception:  # one broken page must not stop the others from updating
                    log.exception('event handler failed for %s', event.kind)
                    continue
                if inspect.isawaitable(result):
                    pending.append(result)
        if pending:
            for outcome in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error('event handler failed: %r', outcome)
