"""The event bus pages subscribe to. `InProcessEventBus` serves one process; a cross-process bus
(PostgreSQL LISTEN/NOTIFY or Redis, SPEC O6) will implement the same two methods."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from services.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None] | None]
# A subscriber this far behind is stuck (a page whose handler never returns); say so once per this many events.
BACKLOG_WARNING = 1000


@dataclass(eq=False)
class Subscription:
    handler: Handler
    # None = every branch (admins); otherwise only events of these branches reach the handler.
    branch_ids: frozenset[int] | None
    kinds: frozenset[str] | None
    bus: InProcessEventBus | None = None
    # What an async handler still has to run, in publish order; one task at a time (`draining`) runs it.
    pending: deque[Awaitable[None]] = field(default_factory=deque)
    draining: asyncio.Task[None] | None = None
    active: bool = True

    def wants(self, event: Event) -> bool:
        return ((self.branch_ids is None or event.branch_id in self.branch_ids)
                and (self.kinds is None or event.kind in self.kinds))

    def cancel(self) -> None:
        if self.bus is not None:
            self.bus.unsubscribe(self)

    def deliver(self, event: Event) -> None:
        """Call the handler now; what it returns to await is queued behind this subscriber's earlier events, so
        each subscriber sees its events in order while the publisher never waits for it."""
        if not self.active:  # cancelled while this publish was going through the subscribers
            return
        try:
            result = self.handler(event)
        except Exception:  # one broken page must not stop the others from updating
            log.exception('event handler failed for %s', event.kind)
            return
        if not inspect.isawaitable(result):
            return
        self.pending.append(result)
        if len(self.pending) % BACKLOG_WARNING == 0:
            log.warning('event subscriber %r is %d events behind', self.handler, len(self.pending))
        if self.draining is None:
            self.draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.pending:
                awaitable = self.pending.popleft()
                try:
                    await awaitable
                except asyncio.CancelledError:
                    if (task := asyncio.current_task()) is not None and task.cancelling():
                        raise  # the loop is shutting down
                    log.warning('event handler was cancelled')  # a handler's own cancellation ends only itself
                except Exception:
                    log.exception('event handler failed')
        finally:
            self.draining = None

    def discard_pending(self) -> None:
        """After unsubscribing: what was not run yet never will be (and must not warn 'never awaited'). The one
        running now finishes: cancelling it mid-statement could leave its database connection unusable."""
        self.active = False
        while self.pending:
            awaitable = self.pending.popleft()
            if inspect.iscoroutine(awaitable):
                awaitable.close()


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
        subscription.discard_pending()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    async def publish(self, events: Sequence[Event]) -> None:
        """Hand the events to every subscriber that wants them and return at once.

        Plain functions run right here (workers' wake-ups, recorders); a coroutine handler (a page) runs in its
        subscriber's own task, so ingest, a reply or a takeover never waits for the slowest open page and twenty
        pages update concurrently. Each subscriber still gets its events in publish order, and one failing
        handler is logged without touching the others."""
        for event in events:
            for subscription in list(self._subscriptions):
                if subscription.wants(event):
                    subscription.deliver(event)

    async def drain(self) -> None:
        """Until every subscriber has handled what was published so far (tests, benchmarks, shutdown)."""
        while busy := [s.draining for s in self._subscriptions if s.draining is not None]:
            await asyncio.gather(*busy, return_exceptions=True)
