"""The sales desk's background workers (S4): the customer's "sí" to a quote, and the expiry of past quotes.

`QuoteAcceptanceWorker`: a person usually sends the quote, so the conversation is in human mode and the bot is
silent: acceptance can not be a bot feature. `QuoteAcceptanceWorker` runs `handle_customer_message` for every
inbound customer text, button or interactive reply, in a background task per message (the event bus handler only
starts it, so ingest is never slowed), plus a periodic sweep for messages no task saw (stored by another process, or
while this one was restarting). `handle_customer_message` is idempotent and concurrency-safe, so doing it twice
costs nothing.

In AI mode the bot must not answer that same "sí" generically: `answered(message_id)` is the bot's claim hook
(`AssistantWorker(claims=[...])`). It is True when the message accepted a quote — checked again here, so the
order of the two subscribers does not matter — or when a quote of the conversation was decided at or after the
message arrived (the parallel task got there first, or the customer's "gracias" raced the ticket).

`QuoteExpiryWorker` writes `expired` on sent quotes past their date.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from ..database import Database
from ..events import Event
from ..models import Direction, Message, Quote, QuoteStatus, SenderKind
from ..models.types import utcnow
from ..workers import BackgroundWorker
from .closing import Acceptance
from .confirmation import handle_customer_message, is_affirmative
from .desk import SalesDesk
from .quotes import DEFAULT_ZONE, expire_due_quotes

log = logging.getLogger(__name__)

# Message types that can carry a yes: a typed text, a template quick-reply, an interactive reply button.
CHECKED_TYPES = frozenset({'text', 'button', 'interactive'})
CONCURRENT_CHECKS = 4


class QuoteAcceptanceWorker(BackgroundWorker):
    name = 'quote-acceptances'

    def __init__(
        self,
        desk: SalesDesk,
        *,
        sweep_seconds: float = 30.0,
        sweep_window: timedelta = timedelta(minutes=10),
        sweep_limit: int = 200,
    ) -> None:
        super().__init__(idle_poll_seconds=sweep_seconds)
        self.desk = desk
        self.sweep_window = sweep_window
        self.sweep_limit = sweep_limit
        self._tasks: set[asyncio.Task[Acceptance | None]] = set()
        # A few checks at a time: a burst of "sí" must not take every pooled connection from ingest and pages.
        # One semaphore per event loop (a semaphore with waiters belongs to the loop it first ran on).
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    # --- events ---

    def on_event(self, event: Event) -> None:
        """Subscribe to `message.created`: every inbound customer text/button/interactive gets its own task."""
        data = event.data
        if data.get('direction') != Direction.INBOUND or data.get('sender_kind') != SenderKind.CUSTOMER:
            return
        if data.get('type') not in CHECKED_TYPES or not isinstance(data.get('message_id'), int):
            return
        # A text that is no "sí" cannot accept anything: decided from the event, without a database read. Under
        # a burst of webhooks one read per customer message (a task each) took most of the process's CPU and
        # its connection pool (bench/ingest.py: 2,100 → 630 msg/s).
        if data.get('type') == 'text' and 'text' in data and not is_affirmative(data.get('text') or ''):
            return
        with contextlib.suppress(RuntimeError):  # no running loop (a synchronous caller): the sweep catches it
            task = asyncio.get_running_loop().create_task(
                self.check(data['message_id']), name=f'quote-acceptance-{data["message_id"]}'
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def check(self, message_id: int) -> Acceptance | None:
        """Accept the conversation's sent quote if this message is the customer's yes (logged, never raising:
        one failure must not stop the next message's check, and the sweep retries)."""
        try:
            async with self._semaphore():
                return await handle_customer_message(self.desk, message_id=message_id)
        except Exception:
            log.exception('quote acceptance check of message %s failed', message_id)
            return None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._running is None or self._running[0] is not loop:
            self._running = (loop, asyncio.Semaphore(CONCURRENT_CHECKS))
        return self._running[1]

    async def drain(self) -> None:
        """Wait for the checks already started (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- the safety net ---

    async def run_round(self) -> None:
        for message_id in await self.unchecked_candidates():
            await self.check(message_id)

    async def unchecked_candidates(self) -> list[int]:
        """Recent customer messages of conversations with a sent quote that was sent before them."""
        since = utcnow() - self.sweep_window
        async with self.desk.db.session() as session:
            rows = (
                await session.exec(
                    select(Message.id)
                    .join(Quote, col(Quote.conversation_id) == col(Message.conversation_id))
                    .where(
                        Message.direction == Direction.INBOUND,
                        Message.sender_kind == SenderKind.CUSTOMER,
                        col(Message.type).in_(sorted(CHECKED_TYPES)),
                        col(Message.created_at) >= since,
                        col(Quote.status) == QuoteStatus.SENT,
                        col(Quote.sent_at) <= col(Message.created_at),
                    )
                    .distinct()
                    .order_by(col(Message.id))
                    .limit(self.sweep_limit)
                )
            ).all()
        return [message_id for message_id in rows if message_id is not None]  # never None: a primary key

    # --- the bot's claim hook ---

    async def answered(self, message_id: int) -> bool:
        """True when this customer message is (or raced) a quote's acceptance: the ticket answers it."""
        if await self.check(message_id) is not None:
            return True
        async with self.desk.db.session() as session:
            message = await session.get(Message, message_id)
            if message is None:
                return False
            decided = (
                await session.exec(
                    select(Quote.id)
                    .where(
                        Quote.conversation_id == message.conversation_id,
                        col(Quote.status) == QuoteStatus.ACCEPTED,
                        col(Quote.decided_at) >= message.created_at,
                    )
                    .limit(1)
                )
            ).first()
        return decided is not None


class QuoteExpiryWorker(BackgroundWorker):
    """Writes `expired` on sent quotes past their date, every few minutes (the services already treat them
    as expired before that; this keeps lists, filters and the database honest)."""

    name = 'quote-expiry'

    def __init__(self, db: Database, *, zone: ZoneInfo = DEFAULT_ZONE, every_seconds: float = 600.0) -> None:
        super().__init__(idle_poll_seconds=every_seconds)
        self.db = db
        self.zone = zone

    async def run_round(self) -> None:
        await expire_due_quotes(self.db, zone=self.zone)
