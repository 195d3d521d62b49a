"""The assistant's background workers: `AssistantWorker` answers customers of AI-mode conversations through the
outbox (A1); `SummaryWorker` keeps every active conversation's summary fresh (A3, C4).

The bot (`AssistantWorker`):

- Woken by inbound `message.created` events (and every few seconds as a safety net), never on the ingest path.
- Waits `reply_delay_seconds` after the customer's newest message, like a person reading and typing; a burst of
  messages gets one answer, to the newest, covering the others.
- Idempotent in the database: a turn is claimed by inserting the `assistant_turns` row of the newest inbound
  message (unique). Whoever inserts it answers; a duplicate event, a second worker or a second process gets a
  unique violation and stays silent. A claimed turn holds a lease (`turn_lease`); a crash after the claim leaves it
  `working` until the lease ends, and it is never re-run (a reply that may already be queued is never doubled).
- The watchdog (issue 18: every customer message in AI mode gets a reply or a visible handoff): every few seconds it
  expires the `working` turns past their lease, then looks at the AI-mode conversations whose customer has waited
  longer than `unanswered_after` with no one asked for: a message no turn took (a lost event, a restart, a release
  back to the AI) is answered now; one the bot cannot answer (its turn was lost or stayed silent, the message is
  too old, the assistant is off) is handed to a person (`unanswered`), which the branch's agents see at once.
- Only in AI mode: checked before thinking and again before queueing; the outbox checks a third time at send time.
- Handoff: the customer is told first, then the injected `handoff` hook runs (takeover's `request_human`).
- Other desk features may answer a customer message themselves (a "sí" that accepted a quote is answered by the
  ticket): the injected `claims` hooks are asked after the turn is claimed and before the engine thinks; any True
  ends the turn silent.
- Photos are the VIN reader's: a photo message never anchors a text turn. When its reading lands (`vin.read`), the
  bot answers it once with what was found (`vin_reply_text`), claimed like any turn by the photo's message id
  (engine `vin`); later turns see the photo's VIN and vehicle as part of what the customer said.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import metrics
from ..access import Viewer
from ..database import Database
from ..errors import ServiceError
from ..events import CONVERSATION_UPDATED, Event, EventPublisher
from ..log_context import log_ids
from ..models import (
    AssignmentEvent,
    Branch,
    Contact,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Direction,
    Media,
    Message,
    Role,
    SenderKind,
)
from ..models.assistant import AssistantTurn, ConversationSummary
from ..models.types import utcnow
from ..models.vin import VinReading
from ..secrets import Keyring
from ..vin.readings import VIN_READ, VinReadingPublic, latest_good_reading, reading_for_message
from ..vin.replies import vin_reply_text
from ..whatsapp.outbox import queue_text
from ..workers import BackgroundWorker
from .branch_engines import BranchEngines
from .engine import HANDOFF_PURCHASE_INTENT, AssistantEngine, EngineReply, HistoryMessage, TurnContext
from .quotes import QuoteDrafter
from .summary import refresh_summary

log = logging.getLogger(__name__)

HISTORY_LIMIT = 30
VIN_ENGINE = 'vin'  # `assistant_turns.engine` of a photo's answer; such turns do not count as text turns
HANDOFF_UNANSWERED = 'unanswered'  # the watchdog's handoff: the bot could not answer in time
WATCHDOG_ANSWERS_PER_ROUND = 10
# Moves that give a conversation back to the AI: a customer message from before them counts from the move, not
# from when it was written (the agent let it go unanswered; the bot answers it). A release to the queue is not one.
_BACK_TO_AI_REASONS = {'release': 'to_ai', 'ai_on': None}
# The bot reads photos' readings of the conversations it answers, whatever the branch (it is the system).
_SYSTEM = Viewer(
    user_id=None, username='assistant', full_name='assistant', role=Role.ADMIN, branch_id=None, branch_ids=None
)


class HandoffHook(Protocol):
    def __call__(
        self, db: Database, *, conversation_id: int, reason: str, publisher: EventPublisher
    ) -> Awaitable[object]: ...


# "Another desk feature answered this customer message" (by its id): the bot then stays silent on it.
ClaimHook = Callable[[int], Awaitable[bool]]


def _is_photo() -> ColumnElement[bool]:  # over Message outer-joined with Media
    # The VIN reader's messages: images, and documents that are images (as `services.vin.readings` reads them).
    return or_(
        col(Message.type) == 'image',
        (col(Message.type) == 'document') & func.coalesce(Media.mime_type, '').startswith('image/'),
    )


class AssistantWorker(BackgroundWorker):
    name = 'assistant'

    def __init__(
        self,
        db: Database,
        *,
        engine: AssistantEngine,
        publisher: EventPublisher,
        handoff: HandoffHook | None = None,
        claims: Sequence[ClaimHook] = (),
        quotes: QuoteDrafter | None = None,
        reply_delay_seconds: float = 1.5,
        max_age: timedelta = timedelta(minutes=10),
        enabled: bool = True,
        concurrency: int = 4,
        idle_poll_seconds: float = 5.0,
        sweep_every_seconds: float = 30.0,
        turn_lease: timedelta = timedelta(seconds=150),
        unanswered_after: timedelta = timedelta(seconds=45),
        watchdog_every_seconds: float = 10.0,
        clock: Callable[[], float] | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.engine = engine
        # A branch may switch the bot off, or answer with another engine or LLM endpoint (its stored key needs the
        # secrets `keyring`); see branch_engines.py.
        self.branch_engines = BranchEngines(db, default=engine, keyring=keyring)
        self.publisher = publisher
        self.handoff = handoff
        self.claims = list(claims)
        self.quotes = quotes
        self.reply_delay = timedelta(seconds=reply_delay_seconds)
        self.max_age = max_age
        self.enabled = enabled
        self._pending: set[int] = set()
        self._photos: set[int] = set()  # photo message ids whose reading arrived, to answer
        self._semaphore = asyncio.Semaphore(concurrency)
        self._sweep_every = sweep_every_seconds
        self._last_sweep = float('-inf')
        self.turn_lease = turn_lease
        self.unanswered_after = unanswered_after
        self._watchdog_every = watchdog_every_seconds
        self._last_watchdog = float('-inf')
        self._clock = clock or (lambda: asyncio.get_running_loop().time())

    async def stop(self) -> None:
        await super().stop()
        await self.branch_engines.aclose()  # the LLM clients of branches with their own endpoint

    # --- events ---

    def on_event(self, event: Event) -> None:
        """Subscribe to `message.created` (a customer's message makes its conversation due after the delay) and
        to `vin.read` (a photo's reading is ready to be told)."""
        if not self.enabled or event.conversation_id is None:
            return
        if event.kind == CONVERSATION_UPDATED:
            # Given back to the AI (released to it, AI switched on): a pending question is answered.
            if event.data.get('phase') == 'ai' and event.data.get('reason') in _BACK_TO_AI_REASONS:
                self._pending.add(event.conversation_id)
                self.wake()
            return
        if event.kind == VIN_READ:
            # An agent's correction is not announced to the customer: the agent is talking to them already.
            if (
                not event.data.get('corrected')
                and isinstance(event.data.get('message_id'), int)
                and event.data.get('state') in {'done', 'failed'}
            ):
                self._photos.add(event.data['message_id'])
                self.wake()
            return
        if event.data.get('direction') != Direction.INBOUND or event.data.get('sender_kind') != SenderKind.CUSTOMER:
            return
        self._pending.add(event.conversation_id)
        self.wake()
        # Without a running loop (a synchronous caller) the periodic round picks it up.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(self.reply_delay.total_seconds() + 0.05, self.wake)

    # --- rounds ---

    async def run_round(self) -> None:
        # The watchdog runs with the assistant off too: then every AI-mode customer is handed to a person.
        if self._clock() - self._last_watchdog >= self._watchdog_every:
            self._last_watchdog = self._clock()
            await self.watchdog()
        if not self.enabled:
            return
        if self._clock() - self._last_sweep >= self._sweep_every:
            self._last_sweep = self._clock()
            self._pending |= set(await self._recent_ai_conversations())
            self._photos |= set(await self._recent_untold_photos())
        await self.drain()

    async def drain(self) -> int:
        """Answer every conversation that is due now, and every photo whose reading arrived; returns how many
        replies were queued."""
        pending, self._pending = self._pending, set()
        photos, self._photos = self._photos, set()
        outcomes = await asyncio.gather(
            *(self._guarded(self.answer, conversation_id) for conversation_id in sorted(pending))
        )
        photo_outcomes = await asyncio.gather(
            *(self._guarded(self.answer_photo, message_id) for message_id in sorted(photos))
        )
        not_due = {
            conversation_id
            for conversation_id, outcome in zip(sorted(pending), outcomes, strict=True)
            if outcome == 'not_due'
        }
        self._pending |= not_due
        return sum(1 for outcome in [*outcomes, *photo_outcomes] if outcome == 'replied')

    async def _guarded(self, turn: Callable[[int], Awaitable[str]], key: int) -> str:
        ids = {'conversation_id': key} if turn.__name__ == 'answer' else {'message_id': key}
        async with self._semaphore:
            started = time.monotonic()
            try:
                with log_ids(**ids):
                    outcome = await turn(key)
            except Exception:  # one conversation's failure must not stop the others
                log.exception('assistant turn %s(%s) failed', turn.__name__, key)
                outcome = 'failed'
            if outcome != 'not_due':  # a turn that only found it was too early is no turn
                metrics.record_assistant_turn(outcome, time.monotonic() - started)
            return outcome

    async def _recent_ai_conversations(self) -> list[int]:
        since = utcnow() - self.max_age
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Conversation.id).where(
                        Conversation.status == ConversationStatus.OPEN,
                        Conversation.mode == ConversationMode.AI,
                        col(Conversation.last_inbound_at) >= since,
                    )
                )
            ).all()
        return [conversation_id for conversation_id in rows if conversation_id is not None]  # a primary key

    async def _recent_untold_photos(self) -> list[int]:
        """Photos read recently in AI-mode conversations that got no answer (the `vin.read` event went to another
        process, or this one restarted in between)."""
        since = utcnow() - self.max_age
        async with self.db.session() as session:
            return list(
                (
                    await session.exec(
                        select(VinReading.message_id)
                        .join(Conversation, col(Conversation.id) == col(VinReading.conversation_id))
                        .outerjoin(AssistantTurn, col(AssistantTurn.inbound_message_id) == col(VinReading.message_id))
                        .where(
                            col(VinReading.state).in_(['done', 'failed']),
                            VinReading.source != 'manual',
                            col(VinReading.created_at) >= since,
                            col(AssistantTurn.id).is_(None),
                            Conversation.status == ConversationStatus.OPEN,
                            Conversation.mode == ConversationMode.AI,
                        )
                        .limit(100)
                    )
                ).all()
            )

    # --- the watchdog ---

    async def watchdog(self, now: datetime | None = None) -> WatchdogReport:
        """Expire lost turns; answer or hand off every AI-mode customer left waiting past `unanswered_after`.
        Safe in several processes: the expiry is one conditional UPDATE, a turn's claim is unique and a handoff of
        a conversation already waiting for a person changes nothing."""
        now = now or utcnow()
        report = WatchdogReport()
        async with self.db.session() as session:
            expired = await session.exec(
                update(AssistantTurn)
                .where(
                    col(AssistantTurn.status).in_(['working', 'sending']),
                    or_(
                        col(AssistantTurn.lease_until) < now,
                        # Claimed before leases existed: by age.
                        and_(
                            col(AssistantTurn.lease_until).is_(None),
                            col(AssistantTurn.created_at) < now - self.turn_lease,
                        ),
                    ),
                )
                .values(status='expired', finished_at=now)
            )
            await session.commit()
        report.expired_turns = expired.rowcount or 0
        answers_left = WATCHDOG_ANSWERS_PER_ROUND
        for waiting in await self._unanswered(now):
            if waiting.turn_status in {'working', 'sending'} or waiting.answered_elsewhere:
                continue  # being answered right now, within its lease; or another desk feature answered it
            if (
                waiting.is_photo
                and waiting.turn_status is None
                and waiting.created_at > now - 3 * self.unanswered_after
            ):
                continue  # its VIN reading is still coming (the photo's answer waits for it)
            if waiting.turn_status is None and self.enabled and not waiting.is_photo and answers_left > 0:
                # No turn took it (an event lost, a restart, a release back to the AI): answer it now. A few per
                # round: the rest next round, so the customers writing now are not kept waiting behind them.
                answers_left -= 1
                outcome = await self._guarded(self.answer, waiting.conversation_id)
                if outcome == 'replied':
                    report.answered += 1
                    continue
                if outcome in {'human_mode', 'closed', 'answered_elsewhere', 'answered'}:
                    continue  # a person has it or answered it, or another desk feature did
                if await self._turn_status(waiting.message_id) in {'working', 'sending', 'replied'}:
                    continue  # another process's turn took this very message meanwhile
            elif waiting.turn_status is None and self.enabled and not waiting.is_photo:
                continue  # its turn to be answered comes next round
            log.warning(
                'conversation %s: customer message %s (%s) unanswered since %s; handing off',
                waiting.conversation_id,
                waiting.message_id,
                waiting.turn_status or 'no turn',
                waiting.created_at,
            )
            if self.handoff is not None:
                try:
                    await self.handoff(
                        self.db,
                        conversation_id=waiting.conversation_id,
                        reason=HANDOFF_UNANSWERED,
                        publisher=self.publisher,
                    )
                except Exception:  # one conversation's failure must not stop the others, nor the bot's round
                    log.exception('handoff of unanswered conversation %s failed', waiting.conversation_id)
                    continue
                report.handed_off += 1
        if report.expired_turns or report.answered or report.handed_off:
            log.info(
                'assistant watchdog: %d lost turns expired, %d customers answered, %d handed to a person',
                report.expired_turns,
                report.answered,
                report.handed_off,
            )
        return report

    async def _turn_status(self, message_id: int) -> str | None:
        async with self.db.session() as session:
            return (
                await session.exec(select(AssistantTurn.status).where(AssistantTurn.inbound_message_id == message_id))
            ).first()

    async def _unanswered(self, now: datetime) -> list[_Waiting]:
        """The AI-mode conversations waiting past `unanswered_after` with no person asked for yet, each with its
        newest customer message and the turn that took it (if any)."""
        async with self.db.session() as session:
            waiting = (
                await session.exec(
                    select(Conversation.id)
                    .where(
                        Conversation.status == ConversationStatus.OPEN,
                        Conversation.mode == ConversationMode.AI,
                        col(Conversation.human_requested_at).is_(None),
                        col(Conversation.waiting_since) < now - self.unanswered_after,
                    )
                    .order_by(col(Conversation.waiting_since))
                    .limit(100)
                )
            ).all()
            found: list[_Waiting] = []
            for conversation_id in waiting:
                newest = (
                    await session.exec(
                        select(Message.id, Message.created_at, _is_photo(), AssistantTurn.status)
                        .outerjoin(Media, col(Media.id) == col(Message.media_id))
                        .outerjoin(AssistantTurn, col(AssistantTurn.inbound_message_id) == col(Message.id))
                        .where(
                            Message.conversation_id == conversation_id,
                            Message.direction == Direction.INBOUND,
                            Message.sender_kind == SenderKind.CUSTOMER,
                        )
                        .order_by(col(Message.id).desc())
                        .limit(1)
                    )
                ).first()
                if newest is None or conversation_id is None or newest[0] is None:
                    continue
                message_id, created_at, is_photo, turn_status = newest
                detail: Mapping[str, object] = {}
                if turn_status == 'silent':
                    detail = (
                        await session.exec(
                            select(AssistantTurn.detail).where(AssistantTurn.inbound_message_id == message_id)
                        )
                    ).first() or {}
                found.append(
                    _Waiting(
                        conversation_id=conversation_id,
                        message_id=message_id,
                        created_at=created_at,
                        is_photo=bool(is_photo),
                        turn_status=turn_status,
                        answered_elsewhere=detail.get('silent_because') == 'answered_elsewhere',
                    )
                )
        return found

    # --- one turn ---

    async def answer(self, conversation_id: int) -> str:
        """One turn for one conversation: 'replied', 'not_due' (wait for the delay), or why it stayed silent."""
        now = utcnow()
        async with self.db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.status != ConversationStatus.OPEN:
                return 'closed'
            if conversation.mode != ConversationMode.AI:
                return 'human_mode'
            if not await _branch_assistant_on(session, conversation.branch_id):
                return 'assistant_off'  # the watchdog hands the customer to a person
            newest = (
                await session.exec(
                    select(Message)
                    .outerjoin(Media, col(Media.id) == col(Message.media_id))
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == Direction.INBOUND,
                        Message.sender_kind == SenderKind.CUSTOMER,
                        ~_is_photo(),
                    )
                    .order_by(col(Message.id).desc())
                    .limit(1)
                )
            ).first()
            if newest is None or newest.id is None:
                return 'nothing'
            replied_after = (
                await session.exec(
                    select(Message.id)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == Direction.OUTBOUND,
                        # A person's reply only: the bot's own replies are its turns (a reply to an earlier message
                        # queued after this one arrived does not answer it).
                        Message.sender_kind == SenderKind.AGENT,
                        col(Message.id) > newest.id,
                    )
                    .limit(1)
                )
            ).first()
            if replied_after is not None:
                return 'answered'  # a person already answered it, e.g. before giving the conversation back
            if newest.created_at < now - self.max_age and not await _back_to_ai_since(
                session, conversation_id, now - self.max_age
            ):
                return 'too_old'  # e.g. after downtime: a person answers old messages better than a late bot
            if newest.created_at > now - self.reply_delay:
                return 'not_due'
            answered = (
                await session.exec(
                    select(func.max(AssistantTurn.inbound_message_id)).where(
                        AssistantTurn.conversation_id == conversation_id, AssistantTurn.engine != VIN_ENGINE
                    )
                )
            ).one()
            if answered is not None and answered >= newest.id:
                return 'answered'
            # The claim: only one inserter of this row, ever, answers this message.
            turn_row = AssistantTurn(
                conversation_id=conversation_id, inbound_message_id=newest.id, lease_until=now + self.turn_lease
            )
            session.add(turn_row)
            try:
                await session.commit()
            except IntegrityError:
                return 'answered'
            context = await self._context(session, conversation, answered or 0)
        turn_id = turn_row.id or 0
        claimed_by = await self._claimed_elsewhere(context)
        if claimed_by is not None:
            await self._finish_silent(turn_id, {'silent_because': 'answered_elsewhere', 'message_id': claimed_by})
            return 'answered_elsewhere'
        engine = await self.branch_engines.engine_for(context.branch_id)
        reply = await engine.reply(context)
        send_quote_id = None
        if self.quotes is not None:
            try:
                prepared = await self.quotes.prepare(
                    conversation_id=conversation_id, history=context.history, reply=reply
                )
                reply, send_quote_id = prepared.reply, prepared.send_quote_id
            except Exception:  # the customer is answered all the same; the agent quotes by hand
                log.exception('the AI quote of conversation %s failed', conversation_id)
        return await self._deliver(turn_id, conversation_id, reply, send_quote_id=send_quote_id)

    async def _claimed_elsewhere(self, context: TurnContext) -> int | None:
        """The first of this turn's customer messages another feature answered (e.g. a "sí" that accepted a
        quote), or None. A failing hook counts as "not answered": a silent bot is worse than a generic reply."""
        for message in context.new_messages:
            for claim in self.claims:
                try:
                    if await claim(message.message_id):
                        return message.message_id
                except Exception:
                    log.exception('claim hook failed for message %s', message.message_id)
        return None

    async def _finish_silent(self, turn_id: int, detail: dict[str, object]) -> None:
        async with self.db.session() as session:
            await session.exec(
                update(AssistantTurn)
                .where(col(AssistantTurn.id) == turn_id)
                .values(status='silent', detail=detail, finished_at=utcnow())
            )
            await session.commit()

    # --- a photo's answer ---

    async def answer_photo(self, message_id: int) -> str:
        """Tell the customer what their photo's VIN reading found, once per photo, only in AI mode."""
        now = utcnow()
        async with self.db.session() as session:
            message = await session.get(Message, message_id)
            if message is None or message.direction != Direction.INBOUND:
                return 'nothing'
            conversation = await session.get(Conversation, message.conversation_id)
            if conversation is None or conversation.status != ConversationStatus.OPEN:
                return 'closed'
            if conversation.mode != ConversationMode.AI:
                return 'human_mode'  # the agent sees the reading under the photo and answers
            if not await _branch_assistant_on(session, conversation.branch_id):
                return 'assistant_off'
            if message.created_at < now - self.max_age:
                return 'too_old'
            # Same claim as a text turn, keyed by the photo: a repeated event or another process stays silent.
            turn_row = AssistantTurn(
                conversation_id=conversation.id or 0,
                inbound_message_id=message_id,
                engine=VIN_ENGINE,
                intent='vin',
                lease_until=now + self.turn_lease,
            )
            session.add(turn_row)
            try:
                await session.commit()
            except IntegrityError:
                return 'answered'
        reading = await reading_for_message(self.db, viewer=_SYSTEM, message_id=message_id)
        reply = EngineReply(
            text=vin_reply_text(reading),
            intent='vin',
            engine=VIN_ENGINE,
            detail={'vin': reading.vin if reading else None, 'status': str(reading.status) if reading else None},
        )
        return await self._deliver(turn_row.id or 0, conversation.id or 0, reply)

    async def _context(self, session: AsyncSession, conversation: Conversation, answered_up_to: int) -> TurnContext:
        rows = (
            await session.exec(
                select(Message.id, Message.sender_kind, Message.text, Message.direction)
                .where(Message.conversation_id == conversation.id)
                .order_by(col(Message.id).desc())
                .limit(HISTORY_LIMIT)
            )
        ).all()
        photo = await latest_good_reading(self.db, conversation_id=conversation.id or 0)
        history = [
            HistoryMessage(
                message_id=row[0] or 0,  # a primary key: never None
                sender_kind=row[1],
                text=with_reading(row[2] or '', photo if photo and photo.message_id == row[0] else None),
            )
            for row in reversed(rows)
        ]
        new = [m for m in history if m.from_customer and m.message_id > answered_up_to]
        contact = await session.get(Contact, conversation.contact_id)
        branch = await session.get(Branch, conversation.branch_id)
        previous = (
            await session.exec(
                select(AssistantTurn.intent)
                .where(AssistantTurn.conversation_id == conversation.id, AssistantTurn.status != 'working')
                .order_by(col(AssistantTurn.id).desc())
                .limit(3)
            )
        ).all()
        return TurnContext(
            conversation_id=conversation.id or 0,
            branch_id=conversation.branch_id,
            branch_name=branch.name if branch else '',
            customer_name=(contact.display_name or contact.profile_name) if contact else '',
            history=history,
            new_messages=new,
            previous_intents=list(reversed(previous)),
        )

    async def _deliver(
        self, turn_id: int, conversation_id: int, reply: EngineReply, *, send_quote_id: int | None = None
    ) -> str:
        """Queue the reply (still in AI mode, still this worker's turn), then send the AI's quote when the branch
        lets it (after the reply that announces it), then hand off when the reply says so."""
        detail = {**reply.detail, 'products': reply.products}
        async with self.db.session() as session:
            mode = (await session.exec(select(Conversation.mode).where(Conversation.id == conversation_id))).first()
        if mode != ConversationMode.AI:
            await self._finish(turn_id, 'silent', reply, None, {**detail, 'silent_because': 'human_mode'})
            return 'human_mode'
        # The turn must still be this worker's: past its lease the watchdog expired it and asked for a person, and
        # a late reply would then answer a customer a person is about to answer.
        async with self.db.session() as session:
            held = await session.exec(
                update(AssistantTurn)
                .where(col(AssistantTurn.id) == turn_id, col(AssistantTurn.status) == 'working')
                .values(status='sending')
            )
            await session.commit()
        if not held.rowcount:
            log.warning('assistant turn %s expired before its reply was queued; reply dropped', turn_id)
            return 'expired'
        try:
            message = await queue_text(
                self.db,
                conversation_id=conversation_id,
                text=reply.text,
                publisher=self.publisher,
                sender_kind=SenderKind.AI,
            )
        except ServiceError as exc:  # outside the window, a listen-only number, an over-long text...
            await self._finish(
                turn_id, 'silent', reply, None, {**detail, 'silent_because': exc.code, 'error': str(exc)[:300]}
            )
            return exc.code
        await self._finish(turn_id, 'replied', reply, message.id, detail)
        handoff = reply.handoff
        if send_quote_id is not None and self.quotes is not None:
            try:
                await self.quotes.send(send_quote_id)
            except Exception:  # the reply promised it: a person sends it instead
                log.exception('the AI could not send quote %s of conversation %s', send_quote_id, conversation_id)
                handoff = handoff or HANDOFF_PURCHASE_INTENT
        if handoff and self.handoff is not None:
            try:
                await self.handoff(self.db, conversation_id=conversation_id, reason=handoff, publisher=self.publisher)
            except Exception:  # the reply is out; a failed flag must not undo it, and the log tells the lead
                log.exception('handoff of conversation %s (%s) failed', conversation_id, handoff)
        return 'replied'

    async def _finish(
        self, turn_id: int, status: str, reply: EngineReply, message_id: int | None, detail: dict[str, object]
    ) -> None:
        async with self.db.session() as session:
            await session.exec(
                update(AssistantTurn)
                .where(col(AssistantTurn.id) == turn_id)
                .values(
                    status=status,
                    engine=reply.engine,
                    intent=reply.intent[:24],
                    handoff_reason=reply.handoff or '',
                    reply_message_id=message_id,
                    detail=detail,
                    finished_at=utcnow(),
                )
            )
            await session.commit()


@dataclass(frozen=True)
class _Waiting:
    conversation_id: int
    message_id: int
    created_at: datetime
    is_photo: bool
    turn_status: str | None
    answered_elsewhere: bool


@dataclass
class WatchdogReport:
    expired_turns: int = 0
    answered: int = 0
    handed_off: int = 0


async def _back_to_ai_since(session: AsyncSession, conversation_id: int, since: datetime) -> bool:
    """Whether the conversation was given back to the AI (released to it, AI switched on) after `since`."""
    moved = (
        await session.exec(
            select(AssignmentEvent.id)
            .where(
                AssignmentEvent.conversation_id == conversation_id,
                or_(
                    and_(col(AssignmentEvent.action) == 'release', col(AssignmentEvent.reason) == 'to_ai'),
                    col(AssignmentEvent.action) == 'ai_on',
                ),
                col(AssignmentEvent.at) >= since,
            )
            .limit(1)
        )
    ).first()
    return moved is not None


def with_reading(text: str, reading: VinReadingPublic | None) -> str:
    """A photo's text for the engine: its caption plus what its VIN reading found, in words the rules understand
    ("Volkswagen Gol / Voyage / Saveiro 2015, VIN 9BW…"), so "pastillas de freno" after a photo needs no vehicle."""
    if reading is None or not reading.found or not reading.vin:
        return text
    said = f'{reading.vehicle_label}, VIN {reading.vin}' if reading.vehicle_label else f'VIN {reading.vin}'
    return f'{text}\n{said}' if text else said


class SummaryWorker(BackgroundWorker):
    name = 'assistant-summary'

    def __init__(
        self,
        db: Database,
        *,
        publisher: EventPublisher,
        refresh_seconds: float = 30.0,
        active_window: timedelta = timedelta(hours=24),
        sweep_limit: int = 300,
        pause_seconds: float = 0.0,
    ) -> None:
        super().__init__(idle_poll_seconds=min(refresh_seconds, 5.0))
        # A pause after each summary bounds the worker's share of the process: a summary is ~8 statements and
        # some CPU, and under a burst of webhooks one per message took the time acknowledgements need. Due
        # conversations wait in `_dirty` meanwhile, so ten messages of one burst still cost one summary.
        self.pause_seconds = pause_seconds
        self.db = db
        self.publisher = publisher
        self.refresh_seconds = refresh_seconds
        self.active_window = active_window
        self.sweep_limit = sweep_limit
        self._dirty: set[int] = set()
        self._last_sweep = float('-inf')

    def on_event(self, event: Event) -> None:
        """Subscribe to `message.created` (every new message, in or out) and `vin.read` (a photo's vehicle):
        either makes the conversation's summary due."""
        if event.conversation_id is not None:
            self._dirty.add(event.conversation_id)
            self.wake()

    async def run_round(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_sweep >= self.refresh_seconds:
            self._last_sweep = now
            self._dirty |= set(await self._active_conversations())
        await self.drain()

    async def drain(self) -> int:
        dirty, self._dirty = self._dirty, set()
        changed = 0
        for conversation_id in sorted(dirty):
            try:
                before = await self._version(conversation_id)
                view = await refresh_summary(self.db, conversation_id=conversation_id, publisher=self.publisher)
                changed += int(view is not None and view.version != before)
            except Exception:  # one bad thread must not stop the others' summaries
                log.exception('summary of conversation %s failed', conversation_id)
            if self.pause_seconds:
                await asyncio.sleep(self.pause_seconds)
        return changed

    async def _version(self, conversation_id: int) -> int:
        async with self.db.session() as session:
            return (
                await session.exec(
                    select(func.coalesce(func.max(ConversationSummary.version), 0)).where(
                        ConversationSummary.conversation_id == conversation_id
                    )
                )
            ).one()

    async def _active_conversations(self) -> list[int]:
        since = utcnow() - self.active_window
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Conversation.id)
                    .where(Conversation.status == ConversationStatus.OPEN, col(Conversation.last_message_at) >= since)
                    .order_by(col(Conversation.last_message_at).desc())
                    .limit(self.sweep_limit)
                )
            ).all()
        return [conversation_id for conversation_id in rows if conversation_id is not None]  # a primary key


async def _branch_assistant_on(session: AsyncSession, branch_id: int) -> bool:
    """The branch lets the bot answer its customers (services/branch_settings.py; on unless switched off)."""
    enabled = (await session.exec(select(Branch.assistant_enabled).where(Branch.id == branch_id))).first()
    return enabled is not False
