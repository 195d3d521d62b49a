"""Journaling webhook bodies before the 200 (M1), with group commit.

Every acknowledged body must survive a crash, so each one is committed before its request is answered.
Committing one row per request caps throughput at one fsync per message; instead concurrent requests
wait for a shared writer that inserts whatever has queued up in one transaction. Under load that is one
commit for dozens of bodies; alone, a request waits for exactly one commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from .. import audit
from ..access import Viewer
from ..database import Database
from ..events import SYSTEM_BRANCH, WEBHOOK_JOURNALED, Event
from ..models import DeadLetter, DeliveryStatus, WebhookDelivery
from ..models.types import utcnow

log = logging.getLogger(__name__)


def journaled_event() -> Event:
    """Published when journal rows wait for the ingest worker, wherever it runs (this process or a worker process)."""
    return Event(WEBHOOK_JOURNALED, SYSTEM_BRANCH)


class JournalTimeout(TimeoutError):
    """The body was not committed within the writer's deadline: the webhook answers 503 and Meta sends it again."""


@dataclass(eq=False)  # identity: pending entries sit in a set
class _Pending:
    body: str
    source: str
    status: DeliveryStatus
    error: str
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    queued_at: float = field(default_factory=time.monotonic)


class JournalWriter:
    """With a `deadline_seconds`, a body not committed in that time fails with `JournalTimeout`: a stalled database
    must not hold Meta's requests (F7). One watchdog checks every waiting body a few times a second; a timer per
    request (`asyncio.timeout` around each append) cost a third of the throughput and put 200 ms in the p99, as
    thousands of cancelled timers a second kept the event loop's timer heap busy."""

    def __init__(
        self,
        db: Database,
        *,
        on_journaled: Callable[[], None] | None = None,
        max_batch: int = 500,
        deadline_seconds: float | None = None,
    ) -> None:
        self._db = db
        self._on_journaled = on_journaled
        self._max_batch = max_batch
        self._deadline = deadline_seconds
        self._waiting: set[_Pending] = set()  # appended, not yet answered (for the watchdog)
        self._watchdog: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._failing_since: float | None = None  # monotonic time of the first failed write of an outage
        self._last_said = 0.0
        self._failed_batches = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name='webhook-journal')
        if self._watchdog is None and self._deadline is not None:
            self._watchdog = asyncio.get_running_loop().create_task(
                self._watch(self._deadline), name='journal-deadline'
            )

    async def stop(self) -> None:
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._watchdog = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def append(
        self, body: str, *, source: str = 'cloud', status: DeliveryStatus = DeliveryStatus.PENDING, error: str = ''
    ) -> int:
        """Journal one body; returns its id once it is committed. Raises if the database refused it,
        in which case the caller must not acknowledge the webhook."""
        if self._task is None:
            # NiceGUI runs start-up handlers as tasks, so a webhook can arrive before start() was reached.
            self.start()
        pending = _Pending(body, source, status, error)
        self._waiting.add(pending)
        await self._queue.put(pending)
        try:
            return await pending.done
        finally:
            self._waiting.discard(pending)

    async def _watch(self, deadline: float) -> None:
        while True:
            await asyncio.sleep(deadline / 4)
            late = time.monotonic() - deadline
            for pending in [p for p in self._waiting if p.queued_at < late and not p.done.done()]:
                pending.done.set_exception(JournalTimeout(f'not journaled within {deadline:g} s'))

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # A request that gave up waiting (answered 503: Meta will send it again) is not written now.
            batch = [pending for pending in batch if not pending.done.done()]
            if not batch:
                continue
            try:
                ids = await self._write(batch)
            except Exception as exc:  # every waiting request must learn the write failed
                self._report_failure(len(batch))
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            if self._failing_since is not None:
                log.warning('webhook journal writes again after %d failed batches', self._failed_batches)
                self._failing_since, self._failed_batches = None, 0
            for pending, delivery_id in zip(batch, ids, strict=True):
                if not pending.done.done():
                    pending.done.set_result(delivery_id)
            if self._on_journaled is not None and any(p.status == DeliveryStatus.PENDING for p in batch):
                self._on_journaled()

    def _report_failure(self, bodies: int) -> None:
        """The first failure with its traceback, then one line every 30 s while it lasts: during an outage every
        batch fails, and a traceback per batch wrote megabytes of the same lines."""
        now = time.monotonic()
        self._failed_batches += 1
        if self._failing_since is None:
            self._failing_since = self._last_said = now
            log.exception('journal write of %d webhook bodies failed (answered 503; Meta sends them again)', bodies)
        elif now - self._last_said >= 30.0:
            self._last_said = now
            log.error(
                'webhook journal still failing: %d batches in %.0f s', self._failed_batches, now - self._failing_since
            )

    async def _write(self, batch: Sequence[_Pending]) -> list[int]:
        now = utcnow()
        if self._db.dialect == 'postgresql':
            return await self._write_postgresql(batch, now)
        async with self._db.session() as session:
            result = await session.exec(
                insert(WebhookDelivery).returning(col(WebhookDelivery.id), sort_by_parameter_order=True),
                params=[
                    {
                        'source': p.source,
                        'body': p.body,
                        'status': p.status,
                        'error': p.error,
                        'received_at': now,
                        'attempts': 0,
                        'message_count': 0,
                        'status_count': 0,
                    }
                    for p in batch
                ],
            )
            ids = list(result.scalars())
            await session.commit()
        return ids

    async def _write_postgresql(self, batch: Sequence[_Pending], now: datetime) -> list[int]:
        """One autocommitted statement on a connection the writer keeps: a single round trip per batch,
        where a pool checkout (pre-ping) plus BEGIN/INSERT/COMMIT took four, on every webhook's ack."""
        if self._connection is None:
            self._connection = await self._db.engine.connect()
        try:
            raw = (await self._connection.get_raw_connection()).driver_connection
            assert raw is not None  # None only once the pooled connection is invalidated; it was just checked out
            rows = await raw.fetch(
                'INSERT INTO webhook_deliveries '
                '(source, received_at, body, status, error, attempts, message_count, status_count) '
                'SELECT source, $1, body, status, error, 0, 0, 0 '
                'FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY '
                'AS t(source, body, status, error, position) ORDER BY position RETURNING id',
                now,
                [p.source for p in batch],
                [p.body for p in batch],
                [str(p.status) for p in batch],
                [p.error for p in batch],
            )
        except Exception:
            # A broken connection is replaced on the next batch (e.g. after a database restart).
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.invalidate()
            raise
        # Serial ids follow insertion order, which follows `position`.
        return sorted(row['id'] for row in rows)


async def journal_backlog(db: Database) -> tuple[int, datetime | None]:
    """(webhook bodies journaled and not yet ingested, when the oldest of them arrived): for `/metrics` and the
    admins' alerts."""
    async with db.autocommit_session() as session:
        pending, oldest = (
            await session.exec(
                select(func.count(), func.min(WebhookDelivery.received_at)).where(
                    col(WebhookDelivery.status) == DeliveryStatus.PENDING
                )
            )
        ).one()
    return pending, oldest


async def journal_once(
    db: Database, body: str, *, source: str = 'cloud', status: DeliveryStatus = DeliveryStatus.PENDING, error: str = ''
) -> int:
    """Journal a single body without the group-commit writer (CLI tools, tests)."""
    async with db.session() as session:
        delivery = WebhookDelivery(source=source, body=body, status=status, error=error)
        session.add(delivery)
        await session.commit()
        return delivery.id or 0


async def requeue_for_replay(
    db: Database,
    *,
    delivery_ids: Sequence[int] | None = None,
    include_dead_letters: bool = False,
    actor: Viewer | None = None,
) -> int:
    """Mark failed deliveries (or the given ones, and with `include_dead_letters` those holding unresolved dead
    letters) pending again so the ingest worker processes them; their dead letters are marked resolved (one that
    fails again becomes a new one). Safe to repeat: messages already stored are recognised by their WhatsApp id."""
    async with db.session() as session:
        if delivery_ids is not None:
            condition: ColumnElement[bool] = col(WebhookDelivery.id).in_(list(delivery_ids))
        else:
            statuses = [DeliveryStatus.FAILED]
            condition = col(WebhookDelivery.status).in_(statuses)
            if include_dead_letters:
                unresolved = select(DeadLetter.delivery_id).where(col(DeadLetter.resolved_at).is_(None))
                condition = condition | col(WebhookDelivery.id).in_(unresolved)
        result = await session.exec(
            update(WebhookDelivery).where(condition).values(status=DeliveryStatus.PENDING, error='')
        )
        if include_dead_letters or delivery_ids is not None:
            await session.exec(
                update(DeadLetter)
                .where(
                    col(DeadLetter.resolved_at).is_(None),
                    *([col(DeadLetter.delivery_id).in_(list(delivery_ids))] if delivery_ids else []),
                )
                .values(resolved_at=utcnow())
            )
        audit.record(
            session,
            action='webhooks.replayed',
            actor=actor,
            target_type='webhook_delivery',
            count=result.rowcount or 0,
            include_dead_letters=include_dead_letters,
        )
        await session.commit()
        return result.rowcount or 0


async def list_deliveries(
    db: Database, *, statuses: Sequence[DeliveryStatus], limit: int = 100
) -> list[WebhookDelivery]:
    """Newest first; for the admin page and `leadmaster webhooks list`."""
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(WebhookDelivery)
                    .where(col(WebhookDelivery.status).in_(list(statuses)))
                    .order_by(col(WebhookDelivery.id).desc())
                    .limit(limit)
                )
            ).all()
        )


async def list_dead_letters(db: Database, *, limit: int = 100) -> list[DeadLetter]:
    """Dead letters not replayed yet, newest first: for the admin page and `leadmaster webhooks dead-letters`."""
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(DeadLetter)
                    .where(col(DeadLetter.resolved_at).is_(None))
                    .order_by(col(DeadLetter.id).desc())
                    .limit(limit)
                )
            ).all()
        )
