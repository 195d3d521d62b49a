"""The event bus pages and workers subscribe to (C2, SPEC O6).

`InProcessEventBus` serves one process. `PostgresEventBus` is the same bus across every process that shares the
PostgreSQL database (web processes behind a sticky load balancer, the worker process): each publishes locally
and through LISTEN/NOTIFY, and delivers what the others published to its own subscribers. Events are
notifications, not the data: the data is committed before an event is published, so a process that missed events
(its listening connection dropped) is told so (`on_gap`) and re-reads, as pages do after a websocket reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.events import PROCESS_ORIGIN, SYSTEM_BRANCH, Event

log = logging.getLogger(__name__)

# What an async handler's awaitable returns is ignored (e.g. `takeover.renew`'s new deadline).
Handler = Callable[[Event], Awaitable[object] | None]
GapHandler = Callable[[], Awaitable[object] | None]
# A subscriber this far behind is stuck (a page whose handler never returns); say so once per this many events.
BACKLOG_WARNING = 1000


@dataclass(eq=False)
class Subscription:
    handler: Handler
    # None = every branch (admins); otherwise only events of these branches reach the handler.
    branch_ids: frozenset[int] | None
    kinds: frozenset[str] | None
    bus: InProcessEventBus | None = None
    # Called when events may have been missed (a cross-process bus lost its connection): re-read what is shown.
    on_gap: GapHandler | None = None
    # What an async handler still has to run, in publish order; one task at a time (`draining`) runs it.
    pending: deque[Awaitable[object]] = field(default_factory=deque)
    draining: asyncio.Task[None] | None = None
    active: bool = True

    def wants(self, event: Event) -> bool:
        if event.branch_id == SYSTEM_BRANCH:  # plumbing (wake-ups, presence): only for who names the kind
            return self.branch_ids is None and self.kinds is not None and event.kind in self.kinds
        return (self.branch_ids is None or event.branch_id in self.branch_ids) and (
            self.kinds is None or event.kind in self.kinds
        )

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

    def subscribe(
        self,
        handler: Handler,
        *,
        branch_ids: frozenset[int] | None,
        kinds: Sequence[str] | None = None,
        on_gap: GapHandler | None = None,
    ) -> Subscription:
        """The branch filter is applied here, before a handler runs, so a page can never
        receive another branch's event by mistake (B2)."""
        subscription = Subscription(handler, branch_ids, frozenset(kinds) if kinds else None, self, on_gap=on_gap)
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
        self.publish_nowait(events)

    def publish_nowait(self, events: Sequence[Event]) -> None:
        """`publish` for plain callbacks (e.g. the webhook journal's "new rows" signal)."""
        self._deliver(events)

    def _deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            for subscription in list(self._subscriptions):
                if subscription.wants(event):
                    subscription.deliver(event)

    def _announce_gap(self) -> None:
        """Tell every subscriber that asked that events may have been missed."""
        for subscription in list(self._subscriptions):
            if subscription.on_gap is None or not subscription.active:
                continue
            try:
                result = subscription.on_gap()
            except Exception:
                log.exception('gap handler failed')
                continue
            if inspect.isawaitable(result):
                subscription.pending.append(result)
                if subscription.draining is None:
                    subscription.draining = asyncio.get_running_loop().create_task(subscription._drain())

    async def start(self) -> None:
        """Nothing to connect in one process."""

    async def stop(self) -> None:
        """Nothing to close in one process."""

    async def drain(self) -> None:
        """Until every subscriber has handled what was published so far (tests, benchmarks, shutdown)."""
        while busy := [s.draining for s in self._subscriptions if s.draining is not None]:
            await asyncio.gather(*busy, return_exceptions=True)


# PostgreSQL refuses a notification payload of 8000 bytes or more; payloads are ASCII, so characters are bytes.
NOTIFY_PAYLOAD_LIMIT = 7900
PART_PREFIX = 'P'  # a payload holding one piece of an event too long for one notification: "P<key> <i> <n> <text>"
# Events waiting to cross while the database is unreachable; beyond this the oldest are dropped (they are only
# notifications: workers poll, pages re-read on the gap).
MAX_OUTGOING = 20_000


_part_keys = itertools.count(1)


@dataclass
class _Partial:
    started: float
    pieces: list[str | None]


class PostgresEventBus(InProcessEventBus):
    """The bus of SPEC O6: LISTEN/NOTIFY on one channel of the shared PostgreSQL database.

    Publishing delivers to this process's subscribers at once (as in one process), then queues the events for a
    sender task that packs whatever has queued into as few notifications as fit (one round trip per batch, so a
    burst of ingest events costs a handful of statements). A listener connection receives the other processes'
    events and delivers them here. Its own notifications come back too and are recognised by the sender id that
    starts every payload (random per bus: a backend pid would be reused after a PostgreSQL restart, and another
    process's events would then be taken for our own and silently dropped).

    Events are notifications: one may be lost (a listener that reconnects calls every subscription's `on_gap`
    instead) and, rarely, arrive twice (a batch whose commit succeeded but whose answer was lost is sent again);
    handlers re-read the data, so a second delivery shows the same.
    """

    CHANNEL = 'leadmaster_events'

    def __init__(
        self, dsn: str, *, channel: str = CHANNEL, keepalive_seconds: float = 10.0, send_timeout_seconds: float = 5.0
    ) -> None:
        super().__init__()
        self.dsn = dsn
        self.channel = channel
        self.keepalive_seconds = keepalive_seconds
        # A send that takes longer is given up and retried on a new connection: a connection cut silently (a NAT's
        # idle timeout, a failover) would otherwise hold every event of this process until TCP gives up (~15 min).
        self.send_timeout_seconds = send_timeout_seconds
        self.sender_id = secrets.token_hex(4)  # starts every payload this bus sends; its own echoes are skipped
        self.listening = asyncio.Event()
        self.listener_pid: int | None = None  # the listening connection's backend, for operators and tests
        self.reconnects = 0
        self._outgoing: deque[str] = deque()
        self._outgoing_ready = asyncio.Event()
        self._sent_all = asyncio.Event()
        self._sent_all.set()  # nothing queued yet
        self._dropping = False
        self.sender_pid: int | None = None  # the sending connection's backend, for operators and tests
        self._partials: dict[str, _Partial] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_sqlalchemy_url(cls, url: str, **options: Any) -> PostgresEventBus:
        from sqlalchemy.engine import make_url

        dsn = make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)
        return cls(dsn, **options)

    async def start(self, *, wait_seconds: float = 5.0) -> None:
        """Start listening and sending; waits (a little) until this process hears the others, so that what they
        publish right after start-up is not missed."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name='event-bus-listen'),
            loop.create_task(self._send(), name='event-bus-send'),
        ]
        try:
            await asyncio.wait_for(self.listening.wait(), timeout=wait_seconds)
        except TimeoutError:
            log.warning('event bus: not listening after %.0f s; retrying in the background', wait_seconds)

    async def stop(self) -> None:
        """Send what is queued or being sent (briefly), then close."""
        if not self._sent_all.is_set() and self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_all.wait(), timeout=2.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.listening.clear()

    def publish_nowait(self, events: Sequence[Event]) -> None:
        self._deliver(events)
        for event in events:
            try:
                self._outgoing.append(event.wire_json())
            except (TypeError, ValueError):  # a non-JSON value in `data` (a bug); local subscribers still got it
                log.exception('event %s cannot cross processes', event.kind)
        if len(self._outgoing) > MAX_OUTGOING:
            if not self._dropping:  # once per outage, not once per event
                log.warning('event bus: %d events wait for the database; dropping the oldest', MAX_OUTGOING)
                self._dropping = True
            while len(self._outgoing) > MAX_OUTGOING:
                self._outgoing.popleft()
        if self._outgoing:
            self._sent_all.clear()  # set again once everything queued, and the batch in flight, is sent
            self._outgoing_ready.set()

    # --- sending ---------------------------------------------------------------------------------------------

    def _payloads(self, events: list[str]) -> list[str]:
        """Pack event JSON texts into notification payloads, each "<sender id> " and then a JSON array of events
        or a piece of a long one."""
        prefix = f'{self.sender_id} '
        limit = NOTIFY_PAYLOAD_LIMIT - len(prefix)
        payloads: list[str] = []
        batch: list[str] = []
        size = 2
        for text in events:
            if len(text) + 2 > limit:
                if batch:  # what was published before it goes before it
                    payloads.append('[' + ','.join(batch) + ']')
                    batch, size = [], 2
                key = f'{PROCESS_ORIGIN}-{next(_part_keys)}'
                room = limit - len(key) - 40
                pieces = [text[start : start + room] for start in range(0, len(text), room)]
                payloads.extend(
                    f'{PART_PREFIX}{key} {index} {len(pieces)} {piece}' for index, piece in enumerate(pieces)
                )
                continue
            if batch and size + len(text) + 1 > limit:
                payloads.append('[' + ','.join(batch) + ']')
                batch, size = [], 2
            batch.append(text)
            size += len(text) + 1
        if batch:
            payloads.append('[' + ','.join(batch) + ']')
        return [prefix + payload for payload in payloads]

    async def _send(self) -> None:
        connection: asyncpg.Connection | None = None
        backoff = 0.2
        last_used = time.monotonic()
        try:
            while True:
                await self._outgoing_ready.wait()
                self._outgoing_ready.clear()
                taken = list(self._outgoing)
                self._outgoing.clear()
                if not taken:
                    continue
                try:
                    if connection is not None and time.monotonic() - last_used > self.keepalive_seconds:
                        # Idle for a while (the worker overnight): a connection cut meanwhile must fail fast here,
                        # not hold the first events of the morning.
                        await connection.fetchval('SELECT 1', timeout=self.send_timeout_seconds)
                    if connection is None or connection.is_closed():
                        connection = await asyncpg.connect(self.dsn, timeout=self.send_timeout_seconds)
                        self.sender_pid = connection.get_server_pid()
                    # One statement, one transaction: the notifications arrive together and in this order.
                    await connection.execute(
                        'SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload',
                        self.channel,
                        self._payloads(taken),
                        timeout=self.send_timeout_seconds,
                    )
                    last_used = time.monotonic()
                except Exception as exc:  # whatever the driver raises, the sender must live on
                    log.warning(
                        'event bus: could not send %d events (%r); retrying in %.1f s', len(taken), exc, backoff
                    )
                    if connection is not None:
                        connection.terminate()
                        connection = None
                    self._outgoing.extendleft(reversed(taken))  # they go first once the database answers
                    self._outgoing_ready.set()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                self._dropping = False
                if not self._outgoing:
                    self._sent_all.set()
        finally:
            if connection is not None:
                connection.terminate()

    # --- listening -------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.2
        heard_before = False
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=self.keepalive_seconds)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(self.channel, self._on_notification)
                self.listener_pid = connection.get_server_pid()
                self.listening.set()
                backoff = 0.2
                if heard_before:  # whatever was published while we were deaf is lost to us
                    self.reconnects += 1
                    log.warning('event bus: listening again; pages and workers re-read what they show')
                    self._announce_gap()
                heard_before = True
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=self.keepalive_seconds)
                    if not lost.is_set():  # a half-open TCP connection tells nothing: ask
                        await connection.fetchval('SELECT 1', timeout=self.keepalive_seconds)
            except Exception as exc:  # whatever the driver raises, the listener must live on
                log.warning('event bus: listening connection lost (%r); reconnecting in %.1f s', exc, backoff)
            finally:
                self.listening.clear()
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, message: str) -> None:
        sender, _, payload = message.partition(' ')
        if sender == self.sender_id:
            return  # published here and already delivered here
        try:
            if payload.startswith(PART_PREFIX):
                whole = self._assemble(payload)
                if whole is None:
                    return
                wires = [json.loads(whole)]
            else:
                wires = json.loads(payload)
            events = [Event.from_wire(wire) for wire in wires]
        except (ValueError, KeyError, TypeError):
            log.warning('event bus: ignoring a malformed notification (%d characters)', len(payload))
            return
        self._deliver(events)

    def _assemble(self, payload: str) -> str | None:
        key, index, count, piece = payload[len(PART_PREFIX) :].split(' ', 3)
        now = time.monotonic()
        for stale in [k for k, partial in self._partials.items() if now - partial.started > 60]:
            del self._partials[stale]  # its other pieces never came (the sender died mid-way)
        partial = self._partials.setdefault(key, _Partial(now, [None] * int(count)))
        partial.pieces[int(index)] = piece
        if any(p is None for p in partial.pieces):
            return None
        del self._partials[key]
        return ''.join(p or '' for p in partial.pieces)


def build_event_bus(*, kind: str, database_url: str, listen_url: str = '') -> InProcessEventBus:
    """The bus settings ask for (`Settings.effective_event_bus`); on PostgreSQL through `listen_url` when given
    (`Settings.event_bus_url`: a direct connection beside a transaction pooler, which cannot keep a LISTEN)."""
    if kind == 'postgres':
        return PostgresEventBus.from_sqlalchemy_url(listen_url or database_url)
    return InProcessEventBus()
