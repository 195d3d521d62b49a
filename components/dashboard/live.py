"""The dashboard's live path: bus events mark it stale, and one refresh follows a short pause, however many events
came in it (a burst of 50 inbound messages is one set of queries, not 50).

The events reach the page already limited to the viewer's branches (the bus filters, B2); they say only that
something changed: the services read the figures again, within the viewer's branches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nicegui import background_tasks

from services.dashboard import DayCache
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, Event
from services.sales.desk import QUOTE_UPDATED

# What changes the queue, the figures or the sales: a page subscribes to these kinds.
LIVE_KINDS: tuple[str, ...] = (MESSAGE_CREATED, CONVERSATION_UPDATED, QUOTE_UPDATED)
DEBOUNCE_SECONDS = 0.5
# The figures of ended days, shared by every dashboard page of this process (a range refresh then reads only today).
DAY_CACHE = DayCache(ttl_seconds=300)

log = logging.getLogger(__name__)


class Debounced:
    """Runs `action` once `delay` seconds after the first of a burst of pokes. A poke while the action runs schedules
    one more run, so what changed during a read is not missed; runs never overlap (on a busy machine a read can take
    seconds, and an older read finishing last would show older figures over newer ones)."""

    def __init__(self, action: Callable[[], Awaitable[None]], *, delay: float = DEBOUNCE_SECONDS) -> None:
        self._action = action
        self._delay = delay
        self._scheduled = False
        self._running = asyncio.Lock()
        self.runs = 0  # how many refreshes ran (tests: a burst is one)

    async def run_now(self) -> None:
        """The first read of a page (awaited), in turn with the debounced ones."""
        async with self._running:
            await self._action()

    def poke(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        background_tasks.create(self._run(), name='dashboard-refresh')

    async def _run(self) -> None:
        await asyncio.sleep(self._delay)
        self._scheduled = False
        async with self._running:
            self.runs += 1
            try:
                await self._action()
            except Exception:  # one failed refresh must not end the page's live updates
                log.exception('dashboard refresh failed')

    def on_event(self, event: Event) -> None:
        """The bus handler: a plain function, so the bus calls it inline and it only schedules."""
        self.poke()
