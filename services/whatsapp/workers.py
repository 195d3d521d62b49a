"""The WhatsApp channel's background workers: ingest, the outbox's sender, the media downloader.

- `IngestWorker` drains the webhook journal (`ingest.ingest_pending`); woken by the journal writer, polling as a
  safety net (rows journaled by another process, or left pending by a crash).
- `OutboxWorker` sends what `outbox.queue_*` wrote (M3). The state machine is queued → sending → sent/failed, plus
  `unconfirmed` for a send whose worker died mid-request:
  - `queued → sending` is a conditional UPDATE committed before the HTTP call, so two workers (or two processes)
    can never both send a row.
  - A row found in `sending` after its worker died is never resent blindly (Meta may have it): it becomes
    `unconfirmed`, and a later status webhook carrying our id in `biz_opaque_callback_data` moves it on.
  - Retryable errors (5xx, timeouts, throttling) go back to `queued` with exponential backoff and jitter in
    `next_attempt_at` (`outbox.retry_delay`); permanent ones (e.g. 131047) end in `failed` with Meta's code and
    a readable title. Rate limits (per number, per customer, per WA-Web session) are token buckets shared by every
    worker process on PostgreSQL (`services/rate_limits.py`), in memory on SQLite.
- `MediaWorker` downloads inbound media (M2): `GET /{media-id}` → short-lived URL → download with the bearer
  token, size limit enforced while streaming, SHA-256 checked, stored by content, thumbnail made. Meta's URLs
  expire after 5 minutes, so downloads start as soon as the message is stored (woken by `message.created`)
  instead of when someone opens the chat.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import case, exists, func, update
from sqlmodel import col, select

from .. import metrics
from ..database import Database
from ..events import MESSAGE_STATUS, Event, EventPublisher
from ..log_context import log_ids
from ..media_store import MediaStore
from ..models import (
    ChannelKind,
    Contact,
    Conversation,
    ConversationMode,
    Direction,
    Media,
    Message,
    MessagePriority,
    MessageStatus,
    SenderKind,
    SessionState,
    WaSession,
    WhatsAppNumber,
    table_of,
)
from ..models.types import utcnow
from ..phones import wa_digits
from ..rate_limits import RateLimits, number_bucket, rate_limits_for, recipient_bucket, session_bucket
from ..workers import BackgroundWorker
from .graph_client import GraphClient, GraphError
from .ingest import CALLBACK_PREFIX, STATUS_RANK, IngestOutcome, NumberDirectory, ingest_pending
from .outbox import blocked_title, gate_refusal, retry_delay
from .waha.client import WahaClient, WahaError, WahaUnreachable
from .waha.ids import LID_SUFFIX, chat_id_for_phone

log = logging.getLogger(__name__)


def sha256_matches(content: bytes, expected: str | None) -> bool:
    """Meta sends the hash hex-encoded in some places and base64-encoded in others; accept either."""
    if not expected:
        return True
    digest = hashlib.sha256(content).digest()
    return expected.strip() in {digest.hex(), base64.b64encode(digest).decode()}


class MediaWorker(BackgroundWorker):
    name = 'media-download'

    def __init__(
        self,
        db: Database,
        *,
        client: GraphClient,
        store: MediaStore,
        publisher: EventPublisher,
        max_bytes: int,
        attempts: int = 3,
        idle_poll_seconds: float = 5.0,
        waha: WahaClient | None = None,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.client = client
        self.waha = waha  # WA-Web media come from the gateway's URL (with its key), not from Meta
        self.store = store
        self.publisher = publisher
        self.max_bytes = max_bytes
        self.attempts = attempts

    async def on_start(self) -> None:
        # Rows a crash left mid-download go back to the queue (downloads are idempotent: content-addressed).
        async with self.db.session() as session:
            await session.exec(update(Media).where(col(Media.status) == 'downloading').values(status='pending'))
            await session.commit()

    async def run_round(self) -> None:
        await self.drain()

    async def drain(self) -> int:
        done = 0
        while True:
            claimed = await self._claim(limit=8)
            if not claimed:
                return done
            await asyncio.gather(*(self._download(media) for media in claimed))
            done += len(claimed)

    async def _claim(self, *, limit: int) -> list[Media]:
        """pending → downloading, one conditional UPDATE per row, so two processes never fetch the same file."""
        async with self.db.session() as session:
            pending = (
                await session.exec(
                    select(Media)
                    .where(Media.status == 'pending', col(Media.wa_media_id).is_not(None))
                    .order_by(col(Media.id))
                    .limit(limit)
                )
            ).all()
            claimed = []
            for media in pending:
                result = await session.exec(
                    update(Media)
                    .where(col(Media.id) == media.id, col(Media.status) == 'pending')
                    .values(status='downloading')
                )
                if result.rowcount:
                    claimed.append(media)
            await session.commit()
        return claimed

    async def _download(self, media: Media) -> None:
        try:
            await self._fetch_and_store(media)
        except Exception as exc:  # a crafted image or a disk error must not block every later download
            log.exception('media %s could not be stored', media.id)
            await self._record(media.id or 0, status='failed', error=f'{type(exc).__name__}'[:500])

    async def _fetch_and_store(self, media: Media) -> None:
        if media.download_url:
            await self._fetch_from_gateway(media)
            return
        error = ''
        for attempt in range(1, self.attempts + 1):
            try:
                info = await self.client.media_info(media.wa_media_id or '')
                content = await self.client.download_media(info.url, max_bytes=self.max_bytes)
            except GraphError as exc:
                error = f'{exc.title or exc}'
                if not exc.retryable:
                    break
                await asyncio.sleep(0.5 * attempt)
                continue
            if not sha256_matches(content, media.sha256 or info.sha256):
                error = 'el archivo descargado no coincide con su SHA-256'
                break
            stored = await self.store.save(content, mime_type=info.mime_type or media.mime_type)
            await self._record(
                media.id or 0,
                status='stored',
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                storage_path=stored.storage_path,
                thumbnail_path=stored.thumbnail_path,
                mime_type=(info.mime_type or media.mime_type)[:120],
                error='',
            )
            return
        log.warning('media %s (%s) not downloaded: %s', media.id, media.wa_media_id, error)
        await self._record(media.id or 0, status='failed', error=error[:500])

    async def _fetch_from_gateway(self, media: Media) -> None:
        error = 'no hay un gateway de WhatsApp Web configurado'
        for attempt in range(1, self.attempts + 1 if self.waha is not None else 1):
            assert self.waha is not None
            try:
                content, mime_type = await self.waha.download_media(media.download_url or '', max_bytes=self.max_bytes)
            except WahaError as exc:
                error = str(exc)
                if not exc.retryable:
                    break
                await asyncio.sleep(0.5 * attempt)
                continue
            mime_type = (media.mime_type or mime_type.split(';')[0].strip())[:120]
            stored = await self.store.save(content, mime_type=mime_type)
            await self._record(
                media.id or 0,
                status='stored',
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                storage_path=stored.storage_path,
                thumbnail_path=stored.thumbnail_path,
                mime_type=mime_type,
                error='',
            )
            return
        log.warning('media %s (from the gateway) not downloaded: %s', media.id, error)
        await self._record(media.id or 0, status='failed', error=error[:500])

    async def _record(self, media_id: int, **values: object) -> None:
        async with self.db.session() as session:
            await session.exec(update(Media).where(col(Media.id) == media_id).values(**values))
            rows = (
                await session.exec(
                    select(Message.id, Message.conversation_id, Conversation.branch_id)
                    .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                    .where(Message.media_id == media_id)
                )
            ).all()
            await session.commit()
        await self.publisher.publish(
            [
                Event(
                    MESSAGE_STATUS,
                    branch_id,
                    conversation_id,
                    {'message_id': message_id, 'media_id': media_id, 'media_status': values['status']},
                )
                for message_id, conversation_id, branch_id in rows
            ]
        )


class IngestWorker(BackgroundWorker):
    """Drains the journal; woken by the journal writer, polling as a safety net (rows journaled by another
    process, or left pending by a crash)."""

    name = 'webhook-ingest'

    def __init__(
        self,
        db: Database,
        *,
        publisher: EventPublisher,
        directory: NumberDirectory | None = None,
        batch_size: int = 200,
        idle_poll_seconds: float = 2.0,
        coalesce_seconds: float = 0.02,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.publisher = publisher
        self.directory = directory or NumberDirectory()
        self.batch_size = batch_size
        # During a burst, waiting a moment after a wake-up gathers more webhooks into one batch (per-message cost
        # falls with batch size). A lone message is not held: the last round found at most one delivery.
        self.coalesce_seconds = coalesce_seconds
        self.last_round_deliveries = 0

    async def run_round(self) -> None:
        if self.last_round_deliveries > 1:
            await asyncio.sleep(self.coalesce_seconds)
        self.last_round_deliveries = (await self.drain()).deliveries

    async def drain(self) -> IngestOutcome:
        """Process until nothing is pending; returns the totals (used by tests and the replay command)."""
        total = IngestOutcome()
        while True:
            outcome = await ingest_pending(
                self.db, directory=self.directory, publisher=self.publisher, limit=self.batch_size
            )
            if outcome.deliveries == 0:
                return total
            total.add(outcome, events=False)  # the events were published; the totals are what callers read


CONFIRMATION_WAIT_SECONDS = 60.0


PAUSED_RETRY_SECONDS = 300.0


RECONCILE_EVERY_SECONDS = 60.0


PRIORITY_ORDER = {MessagePriority.AGENT: 0, MessagePriority.BOT: 1, MessagePriority.BULK: 2}


@dataclass(frozen=True)
class _Job:
    message_id: int
    attempts: int


class OutboxWorker(BackgroundWorker):
    name = 'outbox'

    def __init__(
        self,
        db: Database,
        *,
        client: GraphClient,
        publisher: EventPublisher,
        store: MediaStore,
        rate_per_number: float = 80.0,
        max_attempts: int = 8,
        concurrency: int = 16,
        lease_seconds: float = 60.0,
        stale_sending_after: timedelta = timedelta(minutes=2),
        idle_poll_seconds: float = 1.0,
        recipient_burst: int = 10,
        recipient_period_seconds: float = 60.0,
        delay: Callable[[int, float | None], float] = lambda attempt, after: retry_delay(attempt, retry_after=after),
        waha: WahaClient | None = None,
        waha_messages_per_minute: float = 20.0,
        rate_limits: RateLimits | None = None,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.client = client
        self.waha = waha
        # Seed 001: one message every 60/rate seconds per WA-Web session, never a burst (a bot-like burst gets a
        # WhatsApp-Web number banned).
        self.waha_interval = 60.0 / waha_messages_per_minute
        # Shared by every worker process on PostgreSQL: two processes must not double a number's rate to Meta.
        self.rate_limits = rate_limits if rate_limits is not None else rate_limits_for(db)
        self.publisher = publisher
        self.store = store
        self.rate_per_number = rate_per_number
        self.max_attempts = max_attempts
        self.lease = timedelta(seconds=lease_seconds)
        self.stale_sending_after = stale_sending_after
        self.delay = delay
        self.concurrency = concurrency
        # Meta's pair rate limit (~1 message / 6 s per customer, with short bursts).
        self._recipient_burst = recipient_burst
        self._recipient_period = recipient_period_seconds
        # message id → its send task. Only as many rows are claimed as there are free slots, so a burst of
        # bulk messages cannot queue up in memory ahead of an agent reply queued a second later.
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._last_reconcile = 0.0

    async def stop(self) -> None:
        await super().stop()
        # A task cancelled while waiting for a rate limit leaves its row queued; one cancelled mid-request
        # leaves it `sending`, which the next start reconciles to `unconfirmed`.
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def run_round(self) -> None:
        if time.monotonic() - self._last_reconcile > RECONCILE_EVERY_SECONDS:
            self._last_reconcile = time.monotonic()
            await self.reconcile_stale_sends()  # also rows another, dead, process left behind
        while await self.run_once() > 0:
            pass

    async def run_once(self, *, limit: int = 50) -> int:
        """Claim due messages for the free send slots and start sending them; returns how many."""
        free = min(limit, self.concurrency - len(self._in_flight))
        if free <= 0:
            return 0
        jobs = await self._claim(free, exclude=set(self._in_flight))
        for job in jobs:
            task = asyncio.get_running_loop().create_task(self._deliver(job))
            self._in_flight[job.message_id] = task
            task.add_done_callback(partial(self._finished, job.message_id))
        return len(jobs)

    def _finished(self, message_id: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(message_id, None)
        self.wake()  # a slot is free: claim the next due message

    async def drain(self) -> None:
        """Send everything due now and wait for it (tests, CLI)."""
        while await self.run_once() > 0 or self._in_flight:
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)

    async def _claim(self, limit: int, *, exclude: Collection[int] = ()) -> list[_Job]:
        now = utcnow()
        table = table_of(Message)
        priority = case(dict(PRIORITY_ORDER), value=table.c.priority, else_=9)
        query = (
            select(table.c.id, table.c.attempts)
            .where(
                table.c.status == MessageStatus.QUEUED,
                table.c.direction == Direction.OUTBOUND,
                (table.c.next_attempt_at.is_(None)) | (table.c.next_attempt_at <= now),
                (table.c.leased_until.is_(None)) | (table.c.leased_until < now),
            )
            .order_by(priority, table.c.id)
            .limit(limit)
        )
        if exclude:  # our own tasks still waiting on a rate limit after their lease ran out
            query = query.where(table.c.id.not_in(sorted(exclude)))
        if self.db.dialect == 'postgresql':
            query = query.with_for_update(skip_locked=True)
        async with self.db.session() as session:
            rows = (await session.exec(query)).all()
            if not rows:
                return []
            await session.exec(
                update(table).where(table.c.id.in_([row[0] for row in rows])).values(leased_until=now + self.lease)
            )
            await session.commit()
        return [_Job(message_id, attempts) for message_id, attempts in rows]

    async def _deliver(self, job: _Job) -> None:
        try:
            with log_ids(message_id=job.message_id):
                await self._send(job)
        except Exception:  # the lease expires and the row is retried later
            log.exception('outbox send of message %s crashed', job.message_id)

    async def _send(self, job: _Job) -> None:
        async with self.db.session() as session:
            message = await session.get(Message, job.message_id)
            if message is None or message.status != MessageStatus.QUEUED:
                return
            conversation = await session.get(Conversation, message.conversation_id)
            assert conversation is not None
            number = await session.get(WhatsAppNumber, conversation.number_id)
            contact = await session.get(Contact, conversation.contact_id)
            media = await session.get(Media, message.media_id) if message.media_id else None
        assert number is not None and contact is not None
        branch_id = conversation.branch_id

        if number.channel == ChannelKind.WAHA:
            await self._send_waha(
                job, message=message, conversation=conversation, number=number, contact=contact, media=media
            )
            return
        recipient = contact.wa_id or (wa_digits(contact.phone_e164) if contact.phone_e164 else None)
        if recipient is None:
            await self._finish(
                job.message_id,
                branch_id,
                message.conversation_id,
                MessageStatus.FAILED,
                error_title='No se puede enviar a este destinatario por este canal',
            )
            return

        if message.sender_kind != SenderKind.AI or conversation.mode != ConversationMode.HUMAN:
            await self.rate_limits.acquire(
                [
                    number_bucket(number.phone_number_id, per_second=self.rate_per_number),
                    recipient_bucket(recipient, burst=self._recipient_burst, period_seconds=self._recipient_period),
                ]
            )
        if not await self._mark_sending(message):
            if await self._silenced(message):
                await self._finish(
                    job.message_id,
                    branch_id,
                    message.conversation_id,
                    MessageStatus.CANCELLED,
                    error_title='Cancelado: un agente tomó la conversación',
                )
            return  # otherwise another worker got there first
        started = time.monotonic()
        try:
            wa_message_id = await self._call_graph(message, number.phone_number_id, recipient, media)
        except GraphError as error:
            will_retry = (error.retryable or error.code == 190) and job.attempts + 1 < self.max_attempts
            metrics.record_send(
                result='retry' if will_retry else 'failed',
                code=error.code or error.status_code,
                seconds=time.monotonic() - started,
            )
            await self._failed_attempt(job, branch_id, message.conversation_id, error)
            return
        except ValueError as error:  # refused by the client before any HTTP call: it can never succeed
            await self._finish(
                job.message_id,
                branch_id,
                message.conversation_id,
                MessageStatus.FAILED,
                error_title='Mensaje inválido para WhatsApp',
                error_details=str(error),
            )
            return
        metrics.record_send(result='sent', code=None, seconds=time.monotonic() - started)
        await self._finish(
            job.message_id, branch_id, message.conversation_id, MessageStatus.SENT, wa_message_id=wa_message_id
        )

    async def _call_graph(self, message: Message, phone_number_id: str, recipient: str, media: Media | None) -> str:
        callback = f'{CALLBACK_PREFIX}{message.id}'
        if message.type == 'template':
            template = message.payload['template']
            return await self.client.send_template(
                phone_number_id,
                to=recipient,
                name=template['name'],
                language=template['language'],
                body_parameters=template['variables'],
                callback_data=callback,
            )
        if media is not None:
            if not media.wa_media_id:
                content = await self.store.read(media.storage_path or '')
                media.wa_media_id = await self.client.upload_media(
                    phone_number_id, content=content, mime_type=media.mime_type, filename=media.filename or 'archivo'
                )
                async with self.db.session() as session:
                    await session.exec(
                        update(Media).where(col(Media.id) == media.id).values(wa_media_id=media.wa_media_id)
                    )
                    await session.commit()
            return await self.client.send_media(
                phone_number_id,
                to=recipient,
                kind=message.type,
                media_id=media.wa_media_id,
                caption=message.text,
                filename=media.filename if message.type == 'document' else '',
                callback_data=callback,
            )
        return await self.client.send_text(phone_number_id, to=recipient, body=message.text, callback_data=callback)

    async def _send_waha(
        self,
        job: _Job,
        *,
        message: Message,
        conversation: Conversation,
        number: WhatsAppNumber,
        contact: Contact,
        media: Media | None,
    ) -> None:
        """A send through a WA-Web session (M6): only when an admin allowed sending on it and it is READY, at the
        session's human pace, never twice after a crash (the same `sending` → `unconfirmed` rule as the Cloud API)."""
        branch_id, conversation_id = conversation.branch_id, message.conversation_id
        refusal = ''
        if self.waha is None:
            refusal = 'No hay un gateway de WhatsApp Web configurado'
        elif not number.sending_enabled:
            refusal = 'Esta sesión de WhatsApp Web solo escucha: un admin debe permitir el envío'
        elif message.type == 'template':
            refusal = 'Las plantillas son de la API oficial de WhatsApp; una sesión de WhatsApp Web no las envía'
        chat_id = _waha_chat_id(contact)
        if not refusal and chat_id is None:
            refusal = 'No se puede enviar a este destinatario por este canal'
        if refusal:
            await self._finish(job.message_id, branch_id, conversation_id, MessageStatus.FAILED, error_title=refusal)
            return
        assert self.waha is not None and chat_id is not None
        session_name = number.phone_number_id
        async with self.db.session() as session:
            state = (await session.exec(select(WaSession.state).where(col(WaSession.name) == session_name))).first()
        if state != SessionState.READY:
            # Not the message's fault: it waits, queued and without spending an attempt, until the session is back
            # (a QR scanned, the phone online again); the probes and the alerts tell the admins meanwhile.
            async with self.db.session() as session:
                await session.exec(
                    update(Message)
                    .where(col(Message.id) == job.message_id, col(Message.status) == MessageStatus.QUEUED)
                    .values(
                        next_attempt_at=utcnow() + timedelta(seconds=SESSION_WAIT_SECONDS),
                        leased_until=None,
                        error_title=f'Esperando la sesión de WhatsApp Web ({state or "desconocida"})'[:200],
                    )
                )
                await session.commit()
            return
        if message.sender_kind != SenderKind.AI or conversation.mode != ConversationMode.HUMAN:
            await self.rate_limits.acquire([session_bucket(session_name, interval_seconds=self.waha_interval)])
        if not await self._mark_sending(message):
            if await self._silenced(message):
                await self._finish(
                    job.message_id,
                    branch_id,
                    conversation_id,
                    MessageStatus.CANCELLED,
                    error_title='Cancelado: un agente tomó la conversación',
                )
            return
        started = time.monotonic()
        try:
            wa_message_id = await self._call_waha(message, session_name, chat_id, media)
        except WahaError as error:
            will_retry = error.retryable and job.attempts + 1 < self.max_attempts
            metrics.record_send(
                result='retry' if will_retry else 'failed', code=error.status_code, seconds=time.monotonic() - started
            )
            await self._failed_attempt(
                job,
                branch_id,
                conversation_id,
                GraphError(
                    str(error),
                    status_code=error.status_code,
                    title=f'WhatsApp Web: {error.waha_message or error}'[:200],
                    retryable=error.retryable,
                    # The request went out and no answer came back (a timeout, a cut connection), or WAHA took it
                    # without an id: it may be on its way, so wait for its echo before sending again. A gateway never
                    # reached has nothing.
                    may_have_arrived=error.accepted
                    or (error.status_code is None and not isinstance(error, WahaUnreachable)),
                ),
            )
            return
        metrics.record_send(result='sent', code=None, seconds=time.monotonic() - started)
        await self._finish(job.message_id, branch_id, conversation_id, MessageStatus.SENT, wa_message_id=wa_message_id)

    async def _call_waha(self, message: Message, session_name: str, chat_id: str, media: Media | None) -> str:
        assert self.waha is not None
        reply_to = message.reply_to_wa_message_id
        if media is None:
            return await self.waha.send_text(session_name, chat_id=chat_id, text=message.text, reply_to=reply_to)
        content = await self.store.read(media.storage_path or '')
        send = self.waha.send_image if message.type == 'image' else self.waha.send_file
        return await send(
            session_name,
            chat_id=chat_id,
            content=content,
            mime_type=media.mime_type,
            filename=media.filename or 'archivo',
            caption=message.text or None,
            reply_to=reply_to,
        )

    async def _mark_sending(self, message: Message) -> bool:
        """queued → sending, atomically; for an AI message only while the conversation is in AI mode (T1:
        checked in the same statement, so an agent taking over a moment earlier always wins).

        Only when due: a copy of this row claimed by another process after this one's lease ran out (it slept on a
        shared rate limit) may have put it back to wait (`next_attempt_at`, e.g. for a lost answer's echo); sending
        it now would send it twice. A campaign's message (BULK) is sent only while its contact still passes the send
        gate: it decided when the message was queued, and since then a "BAJA" may have arrived, a person may have
        rejected the contact, or a failed send may have lowered the score; such a message becomes blocked."""
        table = table_of(Message)
        conversations = table_of(Conversation)
        now = utcnow()
        conditions = [
            table.c.id == message.id,
            table.c.status == MessageStatus.QUEUED,
            (table.c.next_attempt_at.is_(None)) | (table.c.next_attempt_at <= now),
        ]
        if message.sender_kind == SenderKind.AI:
            conditions.append(
                ~exists().where(
                    conversations.c.id == table.c.conversation_id, conversations.c.mode == ConversationMode.HUMAN
                )
            )
        async with self.db.session() as session:
            if message.priority == MessagePriority.BULK:
                contact = (
                    await session.exec(
                        select(Contact.score_contactabilidad, Contact.validado_tecnicamente, Contact.opted_out_at)
                        .join(Conversation, col(Conversation.contact_id) == col(Contact.id))
                        .where(Conversation.id == message.conversation_id)
                    )
                ).first()
                reason = None
                if contact is not None:
                    reason = gate_refusal(score=contact[0], validated=contact[1], opted_out_at=contact[2])
                if contact is not None and reason is not None:
                    blocked = await session.exec(
                        update(table)
                        .where(table.c.id == message.id, table.c.status == MessageStatus.QUEUED)
                        .values(
                            status=MessageStatus.BLOCKED,
                            error_title=blocked_title(reason, score=contact[0]),
                            status_updated_at=now,
                        )
                    )
                    await session.commit()
                    if blocked.rowcount:
                        return False
            result = await session.exec(
                update(table)
                .where(*conditions)
                .values(status=MessageStatus.SENDING, status_updated_at=now, attempts=table.c.attempts + 1)
            )
            await session.commit()
            return bool(result.rowcount)

    async def _silenced(self, message: Message) -> bool:
        """An AI message still queued whose conversation a human now holds."""
        if message.sender_kind != SenderKind.AI:
            return False
        async with self.db.session() as session:
            row = (
                await session.exec(
                    select(Message.status, Conversation.mode)
                    .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                    .where(Message.id == message.id)
                )
            ).first()
        return row is not None and row[0] == MessageStatus.QUEUED and row[1] == ConversationMode.HUMAN

    async def _failed_attempt(self, job: _Job, branch_id: int, conversation_id: int, error: GraphError) -> None:
        attempts = job.attempts + 1
        # An expired token (190) pauses the channel rather than burning every queued reply to `failed`.
        paused = error.code == 190 or error.status_code == 401
        if (error.retryable or paused) and attempts < self.max_attempts:
            delay = self.delay(attempts, error.retry_after)
            if paused:
                delay = max(delay, PAUSED_RETRY_SECONDS)
            if error.may_have_arrived:
                # Meta may have the message: wait for its status webhook (it carries our id and moves the row
                # out of `queued`) before sending again, so a lost answer does not become a duplicate.
                delay = max(delay, CONFIRMATION_WAIT_SECONDS)
            retry_at = utcnow() + timedelta(seconds=delay)
            log.info(
                'message %s: retryable error %s, retry at %s', job.message_id, error.code or error.status_code, retry_at
            )
            async with self.db.session() as session:
                await session.exec(
                    update(Message)
                    .where(col(Message.id) == job.message_id, col(Message.status) == MessageStatus.SENDING)
                    .values(
                        status=MessageStatus.QUEUED,
                        next_attempt_at=retry_at,
                        leased_until=None,
                        error_code=error.code,
                        error_title=error.title[:200],
                        error_details=(error.details or str(error))[:1000],
                        status_updated_at=utcnow(),
                    )
                )
                await session.commit()
            await self.publisher.publish(
                [
                    Event(
                        MESSAGE_STATUS,
                        branch_id,
                        conversation_id,
                        {
                            'message_id': job.message_id,
                            'status': MessageStatus.QUEUED,
                            'retry_at': retry_at.isoformat(),
                        },
                    )
                ]
            )
            return
        await self._finish(
            job.message_id,
            branch_id,
            conversation_id,
            MessageStatus.FAILED,
            error_code=error.code,
            error_title=error.title,
            error_details=error.details or str(error),
        )

    async def _finish(
        self,
        message_id: int,
        branch_id: int,
        conversation_id: int,
        status: MessageStatus,
        *,
        wa_message_id: str | None = None,
        error_code: int | None = None,
        error_title: str = '',
        error_details: str = '',
    ) -> None:
        table = table_of(Message)
        values: dict[str, Any] = {'leased_until': None, 'status_updated_at': utcnow()}
        if status == MessageStatus.SENT:
            # A status webhook may already have moved it further (matched by our callback id): never go back.
            rank = case(dict(STATUS_RANK), value=table.c.status, else_=0)
            values.update(
                status=case((rank < STATUS_RANK[MessageStatus.SENT], MessageStatus.SENT), else_=table.c.status),
                wa_message_id=func.coalesce(table.c.wa_message_id, wa_message_id),
                error_code=None,
                error_title='',
                error_details='',
            )
        else:
            values.update(
                status=status, error_code=error_code, error_title=error_title[:200], error_details=error_details[:1000]
            )
        async with self.db.session() as session:
            result = await session.exec(
                update(table).where(table.c.id == message_id).values(**values).returning(table.c.status)
            )
            final_status = result.scalar_one()
            await session.commit()
        data: dict[str, Any] = {'message_id': message_id, 'status': final_status}
        if error_title:
            data.update(error_code=error_code, error_title=error_title)
        await self.publisher.publish([Event(MESSAGE_STATUS, branch_id, conversation_id, data)])

    async def reconcile_stale_sends(self) -> int:
        """Rows left in `sending` by a dead worker become `unconfirmed` (never resent automatically)."""
        cutoff = utcnow() - self.stale_sending_after
        table = table_of(Message)
        async with self.db.session() as session:
            result = await session.exec(
                update(table)
                .where(table.c.status == MessageStatus.SENDING, table.c.status_updated_at < cutoff)
                .values(
                    status=MessageStatus.UNCONFIRMED,
                    leased_until=None,
                    status_updated_at=utcnow(),
                    error_title='Envío sin confirmar: el proceso se detuvo durante el envío; no se reenvía '
                    'solo para no duplicarlo',
                )
                .returning(table.c.id, table.c.conversation_id)
            )
            rows = result.all()
            branches = (
                dict(
                    (
                        await session.exec(
                            select(Conversation.id, Conversation.branch_id).where(
                                col(Conversation.id).in_([conversation_id for _, conversation_id in rows])
                            )
                        )
                    ).all()
                )
                if rows
                else {}
            )
            await session.commit()
        if rows:
            log.warning('%d outbound messages were mid-send when a worker died; marked unconfirmed', len(rows))
            await self.publisher.publish(
                [
                    Event(
                        MESSAGE_STATUS,
                        branches[conversation_id],
                        conversation_id,
                        {'message_id': message_id, 'status': MessageStatus.UNCONFIRMED},
                    )
                    for message_id, conversation_id in rows
                ]
            )
        return len(rows)


# A send through a WA-Web session that is not READY looks again after this long.
SESSION_WAIT_SECONDS = 30.0


def _waha_chat_id(contact: Contact) -> str | None:
    """Where WAHA delivers to this contact: their `@lid` when WhatsApp hides their number, else their phone."""
    if contact.wa_user_id and contact.wa_user_id.endswith(LID_SUFFIX):
        return contact.wa_user_id
    digits = contact.wa_id or (wa_digits(contact.phone_e164) if contact.phone_e164 else None)
    return chat_id_for_phone(digits) if digits else None
