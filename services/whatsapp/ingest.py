"""From journaled webhook bodies to contacts, conversations, messages and statuses (M1, M7).

Journaled deliveries are processed in batches, in one transaction per batch: messages, contacts and
conversations set-wise (a few statements per batch, not per message); statuses one conditional UPDATE each,
in timestamp order. Events are published after the commit. Duplicates are stopped by the unique WhatsApp message
id (`ON CONFLICT DO NOTHING`), which stays correct with several processes.

Nothing acknowledged is lost to one bad message (issue 19, F1):
- Text is made storable first (`services.storable`: NUL and lone surrogates become U+FFFD), and a message breaking
  a limit of ours (an id longer than its column) goes to the dead letters without being tried.
- A batch that fails anyway is retried delivery by delivery, and a delivery that fails is retried message by
  message, each in its own transaction: what fails is kept as a dead letter (`DeadLetter`, kind unstorable) with
  its error and raw JSON, visible to admins and replayable; its neighbours are stored. Replaying is safe: what
  was stored is recognised by its WhatsApp id, statuses only move forward.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, or_, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import metrics
from ..database import Database, select_columns
from ..errors import InvalidInput
from ..events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event, EventPublisher
from ..log_context import log_ids
from ..models import (
    Contact,
    Conversation,
    ConversationStatus,
    DeadLetter,
    DeadLetterKind,
    DeliveryStatus,
    Direction,
    Media,
    Message,
    MessageStatus,
    SenderKind,
    WebhookDelivery,
    WhatsAppNumber,
    table_of,
)
from ..models.types import UTCDateTime, utcnow
from ..phones import normalize_phone
from ..sessions.service import note_events, record_gateway_status
from ..sessions.states import reason_for
from ..storable import json_text_may_be_unstorable, storable_json, storable_text
from .payloads import InboundMessage, MediaRef, ParsedWebhook, StatusUpdate, parse_webhook
from .waha_ingest import SessionReport, WahaDelivery, parse_waha_body

log = logging.getLogger(__name__)

# Statuses only move forward; a late "delivered" after "read" is ignored. Unknown to us = lowest.
STATUS_RANK: dict[str, int] = {
    MessageStatus.RECEIVED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNCONFIRMED: 3,
    MessageStatus.SENT: 4,
    MessageStatus.DELIVERED: 5,
    MessageStatus.READ: 6,
    MessageStatus.PLAYED: 7,
    MessageStatus.FAILED: 8,
    MessageStatus.CANCELLED: 9,
}
WEBHOOK_STATUSES = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.PLAYED,
    MessageStatus.FAILED,
}
CALLBACK_PREFIX = 'lm:'  # biz_opaque_callback_data = 'lm:<our message id>' (see outbox)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, TimeoutError)
# Column limits of what identifies a message (services/models): a longer value cannot be stored, and cutting it
# would make another message's id (or nobody's) of it.
ID_LIMITS = {'WhatsApp message id': 128, 'sender wa_id': 32, 'sender user id': 64, 'media id': 128}
INT32_MAX = 2**31 - 1
# A batch that deadlocked with another worker process is tried again this many times before being split up.
BATCH_ATTEMPTS = 3


def insert_ignoring_duplicates(dialect: str, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the two databases we run on."""
    return (postgresql_insert if dialect == 'postgresql' else sqlite_insert)(table).on_conflict_do_nothing()


def among(column: Any, values: Iterable[Any], dialect: str) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL `column = ANY($1)` with one array parameter: the same statement text for
    any number of values, so it is parsed and planned once per connection. An IN list of 200 values was a new
    statement per batch size (parse + plan each time: ~10 ms per batch of 200)."""
    ordered = sorted(set(values))
    if dialect == 'postgresql':
        # IN (SELECT unnest(…)), not = ANY(…): the planner joins the array to the column's index, where a generic
        # plan of = ANY compared every row of the table with every element.
        return column.in_(select(func.unnest(literal(ordered, ARRAY(column.type)))).scalar_subquery())
    return column.in_(ordered)


def retry_whole_batch(exc: BaseException) -> bool:
    """A deadlock or serialization failure between two worker processes storing the same conversations at once
    (SQLSTATE 40P01, 40001): nobody's data is at fault, so the batch is tried again as a whole, not split."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, 'sqlstate', None) in {'40P01', '40001'}


def preview_of(message: InboundMessage) -> str:
    """What the conversation list shows; media without caption shows its type, e.g. '[image]'."""
    return (message.text or f'[{message.type}]')[:200]


@dataclass(frozen=True)
class Route:
    number_id: int
    branch_id: int


class NumberDirectory:
    """phone_number_id → number and branch (B1). Numbers change rarely, so they are cached and looked up
    again only on a miss or when the cache is older than a minute (a number moved to another branch)."""

    def __init__(self, *, max_age_seconds: float = 60.0) -> None:
        self._routes: dict[str, Route] = {}
        self._loaded_at = 0.0
        self._max_age = max_age_seconds

    def forget(self) -> None:
        self._routes.clear()

    async def lookup(self, session: AsyncSession, phone_number_ids: Iterable[str]) -> dict[str, Route]:
        wanted = set(phone_number_ids)
        if time.monotonic() - self._loaded_at > self._max_age:
            self._routes.clear()
            self._loaded_at = time.monotonic()
        missing = wanted - self._routes.keys()
        if missing:
            rows = await session.exec(
                select(WhatsAppNumber.phone_number_id, WhatsAppNumber.id, WhatsAppNumber.branch_id).where(
                    col(WhatsAppNumber.phone_number_id).in_(sorted(missing)), col(WhatsAppNumber.active).is_(True)
                )
            )
            for phone_number_id, number_id, branch_id in rows.all():
                self._routes[phone_number_id] = Route(number_id or 0, branch_id)
        return {key: self._routes[key] for key in wanted if key in self._routes}


@dataclass
class IngestOutcome:
    deliveries: int = 0
    messages_stored: int = 0
    duplicates: int = 0
    statuses_applied: int = 0
    unroutable: int = 0
    unattributable: int = 0  # messages naming no sender at all (flagged on their delivery)
    unstorable: int = 0  # messages and statuses kept as dead letters instead (their neighbours were stored)
    failed: int = 0
    events: list[Event] = field(default_factory=list)

    def add(self, other: IngestOutcome, *, events: bool = True) -> None:
        """Add another outcome's counts (and its events, unless `events` is False) to this one."""
        for name in (
            'deliveries',
            'messages_stored',
            'duplicates',
            'statuses_applied',
            'unroutable',
            'unattributable',
            'unstorable',
            'failed',
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if events:
            self.events.extend(other.events)


async def ingest_pending(
    db: Database,
    *,
    directory: NumberDirectory,
    publisher: EventPublisher,
    limit: int = 200,
) -> IngestOutcome:
    """Process up to `limit` pending journal rows; publish their events after commit."""
    outcome: IngestOutcome | None = None
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        async with db.session() as session:
            deliveries = await _claim(session, db.dialect, limit=limit)
            if not deliveries:
                return IngestOutcome()
            ids = [delivery.id for delivery in deliveries]
            try:
                outcome = await _ingest(session, db.dialect, deliveries, directory)
                await session.commit()
                break
            except Exception as exc:  # isolate the bad delivery below instead of blocking the batch
                await session.rollback()
                outcome = None
                if retry_whole_batch(exc) and attempt < BATCH_ATTEMPTS:
                    log.warning('ingest batch of %d deliveries met another worker (%s); trying again', len(ids), exc)
                    continue
                log.exception('ingest batch of %d deliveries failed; retrying one by one', len(ids))
                break
    if outcome is None:
        outcome = IngestOutcome()
        for delivery_id in ids:
            outcome.add(await _ingest_one(db, delivery_id, directory))
    metrics.record_ingest(
        stored=outcome.messages_stored,
        duplicates=outcome.duplicates,
        dead_letters=outcome.unstorable,
        unroutable=outcome.unroutable,
        statuses=outcome.statuses_applied,
    )
    if outcome.events:
        await publisher.publish(outcome.events)
    return outcome


@dataclass(frozen=True)
class _Delivery:
    id: int
    body: str
    attempts: int
    source: str = 'cloud'  # cloud and simulator: Meta's shape; waha: a WAHA event (waha_ingest.py)


async def _claim(session: AsyncSession, dialect: str, *, limit: int, delivery_id: int | None = None) -> list[_Delivery]:
    table = table_of(WebhookDelivery)
    query = select(table.c.id, table.c.body, table.c.attempts, table.c.source).where(
        table.c.status == DeliveryStatus.PENDING
    )
    if delivery_id is not None:
        query = query.where(table.c.id == delivery_id)
    query = query.order_by(table.c.id).limit(limit)
    if dialect == 'postgresql':
        # Several app processes may drain the journal; each row goes to exactly one of them.
        query = query.with_for_update(skip_locked=True)
    return [_Delivery(*row) for row in (await session.exec(query)).all()]


async def _ingest_one(db: Database, delivery_id: int, directory: NumberDirectory) -> IngestOutcome:
    with log_ids(delivery_id=delivery_id):
        return await _ingest_one_bound(db, delivery_id, directory)


async def _ingest_one_bound(db: Database, delivery_id: int, directory: NumberDirectory) -> IngestOutcome:
    for isolate in (False, True):
        async with db.session() as session:
            deliveries = await _claim(session, db.dialect, limit=1, delivery_id=delivery_id)
            if not deliveries:
                return IngestOutcome()
            try:
                # The second time, each message and status is written in a transaction of its own (`db`): one
                # that cannot be stored becomes a dead letter, and the others are kept.
                outcome = await _ingest(session, db.dialect, deliveries, directory, each_alone=db if isolate else None)
                await session.commit()
                return outcome
            except TRANSIENT_ERRORS:
                # The database went away or a lock timed out: not this delivery's fault. It stays pending and
                # the worker's next round (after a pause) tries again.
                await session.rollback()
                raise
            except Exception as exc:  # recorded on the journal row, replayable later
                if retry_whole_batch(exc):  # a deadlock with another worker: pending, tried again next round
                    await session.rollback()
                    raise
                log.exception('webhook delivery %s failed%s', delivery_id, ' message by message' if isolate else '')
                await session.rollback()
                error = storable_text(f'{type(exc).__name__}: {exc}'[:4000])
    async with db.session() as session:
        await session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id)
            .values(status=DeliveryStatus.FAILED, error=error, attempts=WebhookDelivery.attempts + 1)
        )
        await session.commit()
    return IngestOutcome(deliveries=1, failed=1)


def load_body(body: str) -> Any:
    """A journaled body as JSON, its strings made storable when the text says some may not be."""
    payload = json.loads(body)
    return storable_json(payload) if json_text_may_be_unstorable(body) else payload


async def _ingest(
    session: AsyncSession,
    dialect: str,
    deliveries: Sequence[_Delivery],
    directory: NumberDirectory,
    *,
    each_alone: Database | None = None,
) -> IngestOutcome:
    outcome = IngestOutcome(deliveries=len(deliveries))
    now = utcnow()
    parsed: list[tuple[_Delivery, ParsedWebhook]] = []
    results: list[dict[str, Any]] = []
    gateway = _GatewayNews()
    for delivery in deliveries:
        try:
            body = load_body(delivery.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
            results.append(_result(delivery, now, DeliveryStatus.FAILED, f'invalid JSON: {exc}'))
            outcome.failed += 1
            continue
        if delivery.source == 'waha':
            waha = parse_waha_body(body)
            gateway.add(waha)
            parsed.append((delivery, waha.webhook))
        else:
            parsed.append((delivery, parse_webhook(body)))

    routes = await directory.lookup(session, {pid for _, p in parsed for pid in p.phone_number_ids})
    inbound: list[tuple[InboundMessage, Route]] = []
    statuses: list[StatusUpdate] = []
    for delivery, webhook in parsed:
        sorted_out = _sort_out(delivery, webhook, routes)
        inbound += sorted_out.inbound
        statuses += sorted_out.statuses
        session.add_all(sorted_out.letters)
        outcome.unroutable += sorted_out.unroutable
        outcome.unstorable += len(sorted_out.letters) - sorted_out.unroutable_letters
        # Account-level errors (e.g. a number's messages cannot be delivered) need a human: flag them.
        notes = [
            *webhook.problems,
            *(f'account error {e.code}: {e.title} {e.details}'.strip() for e in webhook.account_errors),
            *sorted_out.notes,
        ]
        results.append(
            _result(
                delivery,
                now,
                DeliveryStatus.FLAGGED if notes else DeliveryStatus.PROCESSED,
                '\n'.join(notes),
                messages=len(webhook.messages),
                statuses=len(webhook.statuses),
            )
        )

    await gateway.record(session, now, outcome)
    if each_alone is None:
        if inbound:
            await _store_inbound(session, dialect, inbound, outcome)
        if statuses:
            await _apply_statuses(session, statuses, outcome)
    elif parsed:  # one delivery, retried message by message (`_ingest_one`)
        [(delivery, _)], [result] = parsed, results
        letters = [
            _unstorable(delivery, item, error)
            for item, error in await _store_each(each_alone, dialect, inbound, statuses, outcome)
        ]
        session.add_all(letters)
        outcome.unstorable += len(letters)
        if letters:  # the delivery is flagged, and says which of its messages became dead letters
            result['new_status'] = DeliveryStatus.FLAGGED
            result['new_error'] = '\n'.join([result['new_error'], *map(_note, letters)]).strip()[:4000]
    await _record_results(session, dialect, results)
    await session.flush()
    return outcome


# PostgreSQL: every delivery of a batch marked in one statement (arrays joined by id).
_RECORD_RESULTS_FROM_ARRAYS = """
UPDATE webhook_deliveries AS d SET
    status = v.status, error = v.error, attempts = v.attempts, message_count = v.messages,
    status_count = v.statuses, processed_at = CAST(:now AS timestamptz)
FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS text[]), CAST(:errors AS text[]), CAST(:attempts AS integer[]),
            CAST(:messages AS integer[]), CAST(:status_counts AS integer[]))
    AS v(id, status, error, attempts, messages, statuses)
WHERE d.id = v.id
"""


async def _record_results(session: AsyncSession, dialect: str, results: list[dict[str, Any]]) -> None:
    if not results:
        return
    results = sorted(results, key=lambda row: row['delivery_id'])
    if dialect == 'postgresql':
        await (await session.connection()).execute(
            text(_RECORD_RESULTS_FROM_ARRAYS).bindparams(
                ids=[row['delivery_id'] for row in results],
                statuses=[str(row['new_status']) for row in results],
                errors=[row['new_error'] for row in results],
                attempts=[row['new_attempts'] for row in results],
                messages=[row['messages'] for row in results],
                status_counts=[row['statuses'] for row in results],
                now=results[0]['now'],
            )
        )
        return
    table = table_of(WebhookDelivery)
    await session.exec(
        update(table)
        .where(table.c.id == bindparam('delivery_id'))
        .values(
            status=bindparam('new_status'),
            error=bindparam('new_error'),
            attempts=bindparam('new_attempts'),
            message_count=bindparam('messages'),
            status_count=bindparam('statuses'),
            processed_at=bindparam('now', type_=UTCDateTime()),
        ),
        params=results,
    )


@dataclass
class _Sorted:
    """One delivery's messages and statuses, sorted out: what to store, and the dead letters."""

    inbound: list[tuple[InboundMessage, Route]] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    unroutable: int = 0  # messages and statuses for numbers no branch owns
    unroutable_letters: int = 0  # the dead letters holding them: one per unknown number
    notes: list[str] = field(default_factory=list)


def _sort_out(delivery: _Delivery, webhook: ParsedWebhook, routes: dict[str, Route]) -> _Sorted:
    result = _Sorted()
    unroutable: dict[str, DeadLetter] = {}
    for message in webhook.messages:
        if (route := routes.get(message.phone_number_id)) is None:
            _unroutable(
                unroutable, delivery, message.phone_number_id, message.display_phone_number, message.raw
            ).message_count += 1
        elif (reason := _unstorable_reason(message)) is not None:
            result.letters.append(_unstorable(delivery, message, reason))
        else:
            result.inbound.append((message, route))
    for status in webhook.statuses:
        if status.phone_number_id not in routes:
            _unroutable(unroutable, delivery, status.phone_number_id, '', status.raw).status_count += 1
        elif len(status.wa_message_id) > ID_LIMITS['WhatsApp message id']:
            result.letters.append(_unstorable(delivery, status, 'WhatsApp message id longer than 128 characters'))
        else:
            result.statuses.append(status)
    result.notes = [_note(letter) for letter in result.letters]
    result.letters += unroutable.values()
    result.unroutable_letters = len(unroutable)
    result.unroutable = sum(change.message_count + change.status_count for change in unroutable.values())
    return result


def _note(letter: DeadLetter) -> str:
    return f'dead letter {letter.wa_message_id}: {letter.error}'


def _result(
    delivery: _Delivery, now: datetime, status: DeliveryStatus, error: str, *, messages: int = 0, statuses: int = 0
) -> dict[str, Any]:
    return {
        'delivery_id': delivery.id,
        'new_status': status,
        'new_error': error[:4000],
        'new_attempts': delivery.attempts + 1,
        'messages': messages,
        'statuses': statuses,
        'now': now,
    }


def _unroutable(
    changes: dict[str, DeadLetter],
    delivery: _Delivery,
    phone_number_id: str,
    display: str,
    sample: dict[str, Any],
) -> DeadLetter:
    if phone_number_id not in changes:
        log.warning('webhook for unknown phone_number_id %s kept as dead letter', phone_number_id[:64])
        changes[phone_number_id] = DeadLetter(
            delivery_id=delivery.id,
            kind=DeadLetterKind.UNROUTABLE,
            phone_number_id=phone_number_id[:64],
            display_phone_number=display[:32],
            error=f'no active number with phone_number_id {phone_number_id[:64]}',
            sample=sample,
        )
    return changes[phone_number_id]


def _unstorable_reason(message: InboundMessage) -> str | None:
    """Why a message cannot be stored as it is, before trying; None when it can."""
    values = {
        'WhatsApp message id': message.wa_message_id,
        'sender wa_id': message.from_wa_id,
        'sender user id': message.from_user_id,
        'media id': message.media.wa_media_id if message.media is not None else None,
    }
    for what, value in values.items():
        if value is not None and len(value) > ID_LIMITS[what]:
            return f'{what} longer than {ID_LIMITS[what]} characters'
    return None


def _unstorable(delivery: _Delivery, item: InboundMessage | StatusUpdate, error: str) -> DeadLetter:
    is_message = isinstance(item, InboundMessage)
    log.warning(
        '%s %s of delivery %s kept as dead letter: %s',
        'message' if is_message else 'status',
        item.wa_message_id[:128],
        delivery.id,
        error,
    )
    return DeadLetter(
        delivery_id=delivery.id,
        kind=DeadLetterKind.UNSTORABLE,
        phone_number_id=item.phone_number_id[:64],
        display_phone_number=item.display_phone_number[:32] if isinstance(item, InboundMessage) else '',
        wa_message_id=item.wa_message_id[:128],
        message_count=int(is_message),
        status_count=int(not is_message),
        error=storable_text(error[:4000]),
        sample=item.raw,
    )


async def _store_each(
    db: Database,
    dialect: str,
    inbound: list[tuple[InboundMessage, Route]],
    statuses: list[StatusUpdate],
    outcome: IngestOutcome,
) -> list[tuple[InboundMessage | StatusUpdate, str]]:
    """Each message and status in a transaction of its own, in timestamp order; returns those that failed, with
    their error. A transient error (the database went away) is raised: the delivery then stays pending."""
    failed: list[tuple[InboundMessage | StatusUpdate, str]] = []
    items: list[tuple[InboundMessage, Route] | StatusUpdate] = [*inbound, *statuses]
    for item in items:
        single = IngestOutcome()
        try:
            async with db.session() as session:
                if isinstance(item, StatusUpdate):
                    await _apply_statuses(session, [item], single)
                else:
                    await _store_inbound(session, dialect, [item], single)
                await session.commit()
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            failed.append((item if isinstance(item, StatusUpdate) else item[0], f'{type(exc).__name__}: {exc}'))
            continue
        outcome.add(single)
    return failed


def _contact_phone(message: InboundMessage) -> str | None:
    if not message.from_wa_id:
        return None
    try:
        return normalize_phone(message.from_wa_id)
    except InvalidInput:
        # Keep the message even if the number is odd: WhatsApp vouched for it.
        return '+' + ''.join(ch for ch in message.from_wa_id if ch.isdigit())[:19]


@dataclass
class _ContactRow:
    id: int
    phone_e164: str | None
    wa_user_id: str | None
    wa_id: str | None
    profile_name: str
    merged_into_id: int | None


async def _resolve_contacts(
    session: AsyncSession, dialect: str, messages: Sequence[InboundMessage]
) -> list[int | None]:
    """Contact id per message (None when a message names no sender at all), creating contacts as needed and
    keeping the latest WhatsApp profile name. A customer is found by phone, else by WhatsApp user id.
    Plain rows rather than ORM objects: this runs for every inbound message."""
    identities = [(_contact_phone(m), m.from_user_id) for m in messages]
    phones = {phone for phone, _ in identities if phone}
    user_ids = {user_id for _, user_id in identities if user_id}
    table = table_of(Contact)

    async def load() -> tuple[dict[str, _ContactRow], dict[str, _ContactRow]]:
        conditions = []
        if phones:
            conditions.append(among(table.c.phone_e164, phones, dialect))
        if user_ids:
            conditions.append(among(table.c.wa_user_id, user_ids, dialect))
        if not conditions:
            return {}, {}
        found = [
            _ContactRow(*row)
            for row in (
                await session.exec(
                    select_columns(
                        table.c.id,
                        table.c.phone_e164,
                        table.c.wa_user_id,
                        table.c.wa_id,
                        table.c.profile_name,
                        table.c.merged_into_id,
                    ).where(or_(*conditions))
                )
            ).all()
        ]
        return ({c.phone_e164: c for c in found if c.phone_e164}, {c.wa_user_id: c for c in found if c.wa_user_id})

    def find(phone: str | None, user_id: str | None) -> _ContactRow | None:
        return (by_phone.get(phone) if phone else None) or (by_user.get(user_id) if user_id else None)

    by_phone, by_user = await load()
    now = utcnow()
    new_rows: dict[str, dict[str, Any]] = {}
    claimed_user_ids: set[str] = set()
    for message, (phone, user_id) in zip(messages, identities, strict=True):
        key = phone or user_id
        if key is None or find(phone, user_id) is not None or key in new_rows:
            continue
        # A user id already on another contact stays there (unique); the new contact is known by phone.
        own_user_id = user_id if user_id and user_id not in by_user and user_id not in claimed_user_ids else None
        if own_user_id:
            claimed_user_ids.add(own_user_id)
        new_rows[key] = {
            'phone_e164': phone,
            'wa_id': message.from_wa_id,
            'wa_user_id': own_user_id,
            'profile_name': message.profile_name[:120],
            'display_name': '',
            'email': '',
            'notes': '',
            'created_at': now,
            'updated_at': now,
        }
    if new_rows:
        await session.exec(
            insert_ignoring_duplicates(dialect, table), params=[new_rows[key] for key in sorted(new_rows)]
        )
        by_phone, by_user = await load()

    contact_ids: list[int | None] = []
    changed: dict[int, _ContactRow] = {}
    for message, (phone, user_id) in zip(messages, identities, strict=True):
        contact = find(phone, user_id)
        if contact is None:
            log.warning('message %s names no sender (no from, no user id); not stored', message.wa_message_id)
            contact_ids.append(None)
            continue
        # A contact merged into another (services/leads/contacts.py) keeps its own conversations: the chat is with
        # its number, and a reply must go back to that number; the survivor's page shows them in its history.
        if message.profile_name and contact.profile_name != message.profile_name[:120]:
            contact.profile_name = message.profile_name[:120]
            changed[contact.id] = contact
        if message.from_wa_id and not contact.wa_id:
            contact.wa_id = message.from_wa_id
            changed[contact.id] = contact
        contact_ids.append(contact.id)
    if changed:
        await session.exec(
            update(table)
            .where(table.c.id == bindparam('contact_id'))
            .values(
                profile_name=bindparam('new_profile_name'),
                wa_id=bindparam('new_wa_id'),
                updated_at=bindparam('now', type_=UTCDateTime()),
            ),
            params=[
                {'contact_id': c.id, 'new_profile_name': c.profile_name, 'new_wa_id': c.wa_id, 'now': now}
                for c in sorted(changed.values(), key=lambda c: c.id)  # one lock order for every worker
            ],
        )
    return contact_ids


async def open_conversation_id(
    session: AsyncSession, dialect: str, *, contact_id: int, number_id: int, branch_id: int
) -> int:
    """The open conversation of a customer on a number, opened if there is none (the same rule as ingest: one
    open conversation per customer and number, safe when two requests race)."""
    found = await _resolve_conversations(session, dialect, {(contact_id, number_id, branch_id)})
    return found[(contact_id, number_id)]


async def _resolve_conversations(
    session: AsyncSession, dialect: str, keys: set[tuple[int, int, int]]
) -> dict[tuple[int, int], int]:
    """Open conversation id per (contact, number), opening new ones (one per customer and number)."""
    pairs = sorted({(contact_id, number_id) for contact_id, number_id, _ in keys})

    table = table_of(Conversation)
    if dialect == 'postgresql':  # the customers' open conversations (one prepared statement), narrowed below
        wanted: ColumnElement[bool] = among(table.c.contact_id, {c for c, _ in pairs}, dialect)
    else:
        wanted = tuple_(table.c.contact_id, table.c.number_id).in_(pairs)

    async def load() -> dict[tuple[int, int], int]:
        rows = await session.exec(
            select_columns(table.c.contact_id, table.c.number_id, table.c.id).where(
                wanted, table.c.status == ConversationStatus.OPEN
            )
        )
        found = {(contact_id, number_id): conversation_id for contact_id, number_id, conversation_id in rows.all()}
        return {pair: found[pair] for pair in pairs if pair in found}

    found = await load()
    missing = [(c, n, b) for c, n, b in sorted(keys) if (c, n) not in found]
    if missing:
        now = utcnow()
        await session.exec(
            insert_ignoring_duplicates(dialect, table_of(Conversation)),
            params=[
                {
                    'contact_id': c,
                    'number_id': n,
                    'branch_id': b,
                    'status': ConversationStatus.OPEN,
                    'mode': 'ai',
                    'unread_count': 0,
                    'last_message_preview': '',
                    'created_at': now,
                    'updated_at': now,
                }
                for c, n, b in missing
            ],
        )
        found = await load()
    return found


async def _store_inbound(
    session: AsyncSession, dialect: str, inbound: list[tuple[InboundMessage, Route]], outcome: IngestOutcome
) -> None:
    # One row per WhatsApp id even if Meta put the same message twice into this batch.
    unique: dict[str, tuple[InboundMessage, Route]] = {}
    for message, route in sorted(inbound, key=lambda item: item[0].timestamp):
        unique.setdefault(message.wa_message_id, (message, route))
    outcome.duplicates += len(inbound) - len(unique)
    if any(message.from_me for message, _ in unique.values()):
        for wa_id in await _attach_own_echoes(session, [item for item in unique.values() if item[0].from_me], outcome):
            del unique[wa_id]
        if not unique:
            return
    resolved = zip(
        await _resolve_contacts(session, dialect, [m for m, _ in unique.values()]), unique.values(), strict=True
    )
    attributed = [(contact_id, item) for contact_id, item in resolved if contact_id is not None]
    outcome.unattributable += len(unique) - len(attributed)
    contact_ids = [contact_id for contact_id, _ in attributed]
    items = [item for _, item in attributed]
    conversation_ids = await _resolve_conversations(
        session, dialect, {(cid, route.number_id, route.branch_id) for cid, (_, route) in attributed}
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    placed: dict[str, tuple[InboundMessage, Route, int]] = {}
    for contact_id, (message, route) in zip(contact_ids, items, strict=True):
        conversation_id = conversation_ids[(contact_id, route.number_id)]
        placed[message.wa_message_id] = (message, route, conversation_id)
        rows.append(
            {
                'conversation_id': conversation_id,
                'direction': _direction(message),
                'sender_kind': _sender_kind(message),
                'type': message.type,
                'text': message.text,
                'wa_message_id': message.wa_message_id,
                'reply_to_wa_message_id': _fits(message.reply_to_wa_message_id, 128),
                'payload': _stored_payload(message),
                'status': MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                'error_code': None,
                'error_title': '',
                'error_details': '',
                'sent_at': message.timestamp,
                'created_at': now,
                'priority': 'agent',
                'attempts': 0,
            }
        )
    # executemany: compiled once and cached, sent as multi-row batches ("insertmanyvalues") by SQLAlchemy.
    table = table_of(Message)
    result = await session.exec(
        insert_ignoring_duplicates(dialect, table).returning(table.c.id, table.c.wa_message_id),
        params=rows,
    )
    inserted = {wa_id: message_id for message_id, wa_id in result.all()}
    outcome.duplicates += len(rows) - len(inserted)
    outcome.messages_stored += len(inserted)
    if not inserted:
        return

    media_ids = await _create_media_rows(
        session, [(inserted[wa], media) for wa in inserted if (media := placed[wa][0].media) is not None]
    )
    await _update_conversations(
        session, [(placed[wa][0], placed[wa][2]) for wa in inserted if not placed[wa][0].from_me]
    )
    await _update_conversations_from_phone(
        session, [(placed[wa][0], placed[wa][2]) for wa in inserted if placed[wa][0].from_me]
    )

    for wa_id, message_id in inserted.items():
        message, route, conversation_id = placed[wa_id]
        outcome.events.append(
            Event(
                MESSAGE_CREATED,
                route.branch_id,
                conversation_id,
                {
                    'message_id': message_id,
                    'wa_message_id': wa_id,
                    'direction': _direction(message),
                    'sender_kind': _sender_kind(message),
                    'type': message.type,
                    'text': message.text,
                    'sent_at': message.timestamp.isoformat(),
                    'media_id': media_ids.get(message_id),
                    'status': MessageStatus.SENT if message.from_me else MessageStatus.RECEIVED,
                },
            )
        )
    for conversation_id, branch_id in {(placed[wa][2], placed[wa][1].branch_id) for wa in inserted}:
        outcome.events.append(Event(CONVERSATION_UPDATED, branch_id, conversation_id, {'reason': 'inbound'}))


async def _attach_own_echoes(
    session: AsyncSession, echoes: list[tuple[InboundMessage, Route]], outcome: IngestOutcome
) -> list[str]:
    """WA-Web repeats our own sends as `fromMe` messages. One that matches an outbound message of ours still
    without its WhatsApp id (its send answer lost: a worker killed mid-send, a timeout) gives that row its id and
    moves it to sent, instead of appearing as a second message typed on the phone: delivered once, shown once.
    Returns the WhatsApp ids so matched."""
    matched: list[str] = []
    table = table_of(Message)
    conversations = table_of(Conversation)
    contacts = table_of(Contact)
    for message, route in echoes:
        if message.raw.get('source') == 'app':
            continue  # typed on the phone: never one of our sends
        # The same chat: the customer's number, or the lid WhatsApp shows instead of it.
        same_chat = (
            contacts.c.wa_id == message.from_wa_id
            if message.from_wa_id
            else contacts.c.wa_user_id == message.from_user_id
        )
        row = (
            await session.exec(
                select_columns(table.c.id, table.c.conversation_id)
                .join(conversations, conversations.c.id == table.c.conversation_id)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .where(
                    same_chat,
                    conversations.c.number_id == route.number_id,
                    table.c.direction == Direction.OUTBOUND,
                    table.c.wa_message_id.is_(None),
                    # Queued again after a send whose answer never came (it waits for this very echo).
                    or_(
                        table.c.status.in_([MessageStatus.SENDING, MessageStatus.UNCONFIRMED]),
                        and_(table.c.status == MessageStatus.QUEUED, table.c.attempts > 0),
                    ),
                    table.c.text == message.text,
                )
                .order_by(table.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            if message.raw.get('source') == 'api':  # sent through the gateway by someone else: not a phone message
                matched.append(message.wa_message_id)
            continue
        message_id, conversation_id = row
        await session.exec(
            update(table)
            .where(table.c.id == message_id)
            .values(
                wa_message_id=message.wa_message_id,
                status=MessageStatus.SENT,
                error_code=None,
                error_title='',
                error_details='',
                next_attempt_at=None,
                leased_until=None,
                status_updated_at=utcnow(),
            )
        )
        matched.append(message.wa_message_id)
        outcome.events.append(
            Event(
                MESSAGE_STATUS,
                route.branch_id,
                conversation_id,
                {'message_id': message_id, 'status': MessageStatus.SENT},
            )
        )
    outcome.duplicates += len(matched)
    return matched


def _direction(message: InboundMessage) -> Direction:
    return Direction.OUTBOUND if message.from_me else Direction.INBOUND


def _sender_kind(message: InboundMessage) -> SenderKind:
    # Typed on the business's phone: a person of the business answered (it counts as an agent's reply; the
    # payload's `from_phone` says where it was typed, and the thread shows "desde el teléfono").
    return SenderKind.AGENT if message.from_me else SenderKind.CUSTOMER


async def _update_conversations_from_phone(session: AsyncSession, stored: list[tuple[InboundMessage, int]]) -> None:
    """Messages typed on the business's phone move the conversation's preview and time, not its unread count; a
    person of the business answered, so the customer no longer waits (as when an agent replies in the console)."""
    latest_of: dict[int, InboundMessage] = {}
    for message, conversation_id in stored:
        if conversation_id not in latest_of or latest_of[conversation_id].timestamp < message.timestamp:
            latest_of[conversation_id] = message
    if not latest_of:
        return
    table = table_of(Conversation)
    latest = bindparam('latest', type_=UTCDateTime())
    newer = or_(table.c.last_message_at.is_(None), table.c.last_message_at <= latest)
    await session.exec(
        update(table)
        .where(table.c.id == bindparam('conversation_id'))
        .values(
            last_message_preview=case((newer, bindparam('preview')), else_=table.c.last_message_preview),
            last_message_at=case((newer, latest), else_=table.c.last_message_at),
            waiting_since=None,
            updated_at=bindparam('now', type_=UTCDateTime()),
        ),
        params=[
            {'conversation_id': cid, 'latest': m.timestamp, 'preview': preview_of(m), 'now': utcnow()}
            for cid, m in latest_of.items()
        ],
    )


@dataclass
class _GatewayNews:
    """What WAHA deliveries of a batch said about their sessions: states to record, sessions heard from."""

    reports: list[SessionReport] = field(default_factory=list)
    heard: set[str] = field(default_factory=set)

    def add(self, delivery: WahaDelivery) -> None:
        self.reports += delivery.session_statuses
        self.heard |= delivery.sessions_heard

    async def record(self, session: AsyncSession, now: datetime, outcome: IngestOutcome) -> None:
        if not self.heard:
            return
        await note_events(session, names=self.heard, now=now)
        # In the gateway's order, whatever order the journal handed them over in.
        for report in sorted(self.reports, key=lambda r: r.observed_at or now):
            change = await record_gateway_status(
                session,
                name=report.session,
                gateway_status=report.status,
                reason=reason_for(report.status),
                now=now,
                me_id=report.me_id,
                me_name=report.me_name,
                observed_at=report.observed_at,
            )
            if change is not None:
                outcome.events.append(change.event())


def _stored_payload(message: InboundMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {'fields': message.fields, 'raw': message.raw}
    if message.forwarded or message.frequently_forwarded:
        payload['forwarded'] = True
        payload['frequently_forwarded'] = message.frequently_forwarded
    if message.media is not None:
        payload['media'] = {
            'wa_media_id': message.media.wa_media_id,
            'mime_type': message.media.mime_type,
            'filename': message.media.filename,
            'caption': message.media.caption,
            'voice': message.media.voice,
        }
    if message.errors:
        payload['errors'] = [
            {'code': e.code, 'title': e.title, 'message': e.message, 'details': e.details} for e in message.errors
        ]
    return payload


async def _create_media_rows(session: AsyncSession, items: list[tuple[int, MediaRef]]) -> dict[int, int]:
    """Media rows (status pending) for newly stored media messages (message id, its media); the media worker
    downloads them."""
    if not items:
        return {}
    now = utcnow()
    media_table = table_of(Media)
    result = await session.exec(
        media_table.insert().returning(media_table.c.id, sort_by_parameter_order=True),
        params=[
            {
                'wa_media_id': media.wa_media_id,
                'download_url': media.download_url,
                'mime_type': media.mime_type[:120],
                'filename': media.filename[:255],
                'sha256': _fits(media.sha256, 64),
                'status': 'pending',
                'error': '',
                'created_at': now,
            }
            for _, media in items
        ],
    )
    media_ids = dict(zip([message_id for message_id, _ in items], result.scalars(), strict=True))
    table = table_of(Message)
    await session.exec(
        update(table).where(table.c.id == bindparam('message_id')).values(media_id=bindparam('new_media_id')),
        params=[{'message_id': message_id, 'new_media_id': media_id} for message_id, media_id in media_ids.items()],
    )
    return media_ids


# PostgreSQL: the rows of `_update_conversations` in one statement (arrays joined by id) rather than one UPDATE per
# conversation; the same SET expressions, each reading the row's old values.
_UPDATE_CONVERSATIONS_FROM_ARRAYS = """
UPDATE conversations AS c SET
    unread_count = c.unread_count + v.count,
    last_message_preview = CASE WHEN c.last_message_at IS NULL OR c.last_message_at <= v.latest
        THEN v.preview ELSE c.last_message_preview END,
    last_message_at = CASE WHEN c.last_message_at IS NULL OR c.last_message_at <= v.latest
        THEN v.latest ELSE c.last_message_at END,
    last_inbound_at = CASE WHEN c.last_inbound_at IS NULL OR c.last_inbound_at < v.latest
        THEN v.latest ELSE c.last_inbound_at END,
    waiting_since = coalesce(c.waiting_since, v.earliest),
    updated_at = CAST(:now AS timestamptz)
FROM unnest(CAST(:ids AS integer[]), CAST(:counts AS integer[]), CAST(:latest AS timestamptz[]),
            CAST(:earliest AS timestamptz[]), CAST(:previews AS text[])) AS v(id, count, latest, earliest, preview)
WHERE c.id = v.id
"""


async def _update_conversations(session: AsyncSession, stored: list[tuple[InboundMessage, int]]) -> None:
    if not stored:
        return
    per_conversation: dict[int, list[InboundMessage]] = defaultdict(list)
    for message, conversation_id in stored:
        per_conversation[conversation_id].append(message)
    table = table_of(Conversation)
    latest = bindparam('latest', type_=UTCDateTime())
    earliest = bindparam('earliest', type_=UTCDateTime())
    newer = or_(table.c.last_message_at.is_(None), table.c.last_message_at <= latest)
    params: list[dict[str, Any]] = []
    for conversation_id, messages in per_conversation.items():
        last = max(messages, key=lambda m: m.timestamp)
        params.append(
            {
                'conversation_id': conversation_id,
                'count': len(messages),
                'latest': last.timestamp,
                'earliest': min(m.timestamp for m in messages),
                'preview': preview_of(last),
                'now': utcnow(),
            }
        )
    params.sort(key=lambda row: row['conversation_id'])  # one lock order for every worker process
    connection = await session.connection()
    if connection.dialect.name == 'postgresql':
        await connection.execute(
            text(_UPDATE_CONVERSATIONS_FROM_ARRAYS).bindparams(
                ids=[row['conversation_id'] for row in params],
                counts=[row['count'] for row in params],
                latest=[row['latest'] for row in params],
                earliest=[row['earliest'] for row in params],
                previews=[row['preview'] for row in params],
                now=utcnow(),
            )
        )
        return
    # Every SET expression reads the row's old values, on both databases.
    await session.exec(
        update(table)
        .where(table.c.id == bindparam('conversation_id'))
        .values(
            unread_count=table.c.unread_count + bindparam('count'),
            last_message_preview=case((newer, bindparam('preview')), else_=table.c.last_message_preview),
            last_message_at=case((newer, latest), else_=table.c.last_message_at),
            last_inbound_at=case(
                (or_(table.c.last_inbound_at.is_(None), table.c.last_inbound_at < latest), latest),
                else_=table.c.last_inbound_at,
            ),
            waiting_since=func.coalesce(table.c.waiting_since, earliest),
            updated_at=bindparam('now', type_=UTCDateTime()),
        ),
        params=params,
    )


async def _apply_statuses(session: AsyncSession, statuses: list[StatusUpdate], outcome: IngestOutcome) -> None:
    table = table_of(Message)
    rank = case(dict(STATUS_RANK), value=table.c.status, else_=0)
    changed: list[tuple[int, int, str, str]] = []
    for status in sorted(statuses, key=lambda s: s.timestamp):
        if status.status not in WEBHOOK_STATUSES:
            continue
        match = table.c.wa_message_id == status.wa_message_id
        own_id = _callback_message_id(status.biz_opaque_callback_data)
        if own_id is not None:
            # Our own id from biz_opaque_callback_data: matches even before the send response was stored,
            # and reconciles a send whose worker died (status 'unconfirmed').
            match = or_(match, and_(table.c.id == own_id, table.c.wa_message_id.is_(None)))
        values: dict[str, Any] = {
            'status': status.status,
            'status_updated_at': status.timestamp,
            'wa_message_id': func.coalesce(table.c.wa_message_id, status.wa_message_id),
        }
        if status.status == MessageStatus.FAILED and status.errors:
            error = status.errors[0]
            values.update(
                error_code=error.code if error.code is None or abs(error.code) <= INT32_MAX else None,
                error_title=error.title[:200],
                error_details=(error.details or error.message)[:1000],
            )
        result = await session.exec(
            update(table)
            .where(match, table.c.direction == Direction.OUTBOUND, rank < STATUS_RANK[status.status])
            .values(**values)
            .returning(table.c.id, table.c.conversation_id, table.c.status, table.c.error_title)
        )
        changed.extend(result.all())
    outcome.statuses_applied += len(changed)
    if not changed:
        return
    branches = dict(
        (
            await session.exec(
                select(Conversation.id, Conversation.branch_id).where(
                    col(Conversation.id).in_(sorted({conversation_id for _, conversation_id, _, _ in changed}))
                )
            )
        ).all()
    )
    latest: dict[int, tuple[int, str, str]] = {}
    for message_id, conversation_id, new_status, error_title in changed:
        latest[message_id] = (conversation_id, new_status, error_title)
    for message_id, (conversation_id, new_status, error_title) in latest.items():
        # The reason travels with the event: open pages show "No enviado: <reason>" without a read.
        data = {'message_id': message_id, 'status': new_status}
        if new_status == MessageStatus.FAILED:
            data['error_title'] = error_title
        outcome.events.append(Event(MESSAGE_STATUS, branches[conversation_id], conversation_id, data))


def _fits(value: str | None, limit: int) -> str | None:
    """A reference that fits its column, or None: cut, it would point at nothing (or at another row)."""
    return value if value and len(value) <= limit else None


def _callback_message_id(data: str | None) -> int | None:
    if not data or not data.startswith(CALLBACK_PREFIX):
        return None
    try:
        return int(data.removeprefix(CALLBACK_PREFIX))
    except ValueError:
        return None
