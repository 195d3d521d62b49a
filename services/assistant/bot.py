"""Bot replies (A1): a background worker that answers customers of AI-mode conversations through the outbox.

- Woken by inbound `message.created` events (and every few seconds as a safety net), never on the ingest path.
- Waits `reply_delay_seconds` after the customer's newest message, like a person reading and typing; a burst of
  messages gets one answer, to the newest, covering the others.
- Idempotent in the database: a turn is claimed by inserting the `assistant_turns` row of the newest inbound
  message (unique). Whoever inserts it answers; a duplicate event, a second worker or a second process gets a
  unique violation and stays silent. A crash after the claim leaves the turn `working`; it is never retried, so a
  reply that may already be queued is never doubled (the customer's next message gets a fresh turn).
- Only in AI mode: checked before thinking and again before queueing; the outbox checks a third time at send time.
- Handoff: the customer is told first, then the injected `handoff` hook runs (takeover's `request_human`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..database import Database
from ..errors import ServiceError
from ..events import Event, EventPublisher
from ..models import (
    Branch,
    Contact,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Direction,
    Message,
    SenderKind,
)
from ..models.assistant import AssistantTurn
from ..models.types import utcnow
from ..whatsapp.outbox import queue_text
from ..workers import BackgroundWorker
from .engine import AssistantEngine, EngineReply, HistoryMessage, TurnContext

log = logging.getLogger(__name__)

HISTORY_LIMIT = 30


class HandoffHook(Protocol):
    def __call__(self, db: Database, *, conversation_id: int, reason: str,
                 publisher: EventPublisher) -> Awaitable[object]: ...


class AssistantWorker(BackgroundWorker):
    name = 'assistant'

    def __init__(self, db: Database, *, engine: AssistantEngine, publisher: EventPublisher,
                 handoff: HandoffHook | None = None, reply_delay_seconds: float = 1.5,
                 max_age: timedelta = timedelta(minutes=10), enabled: bool = True, concurrency: int = 4,
                 idle_poll_seconds: float = 5.0, sweep_every_seconds: float = 30.0,
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.engine = engine
        self.publisher = publisher
        self.handoff = handoff
        self.reply_delay = timedelta(seconds=reply_delay_seconds)
        self.max_age = max_age
        self.enabled = enabled
        self._pending: set[int] = set()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._sweep_every = sweep_every_seconds
        self._last_sweep = float('-inf')
        self._clock = clock or (lambda: asyncio.get_running_loop().time())

    # --- events ---

    def on_event(self, event: Event) -> None:
        """Subscribe to `message.created`: a customer's message makes its conversation due after the delay."""
        if not self.enabled or event.conversation_id is None:
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
        if not self.enabled:
            return
        if self._clock() - self._last_sweep >= self._sweep_every:
            self._last_sweep = self._clock()
            self._pending |= set(await self._recent_ai_conversations())
        await self.drain()

    async def drain(self) -> int:
        """Answer every conversation that is due now; returns how many replies were queued."""
        pending, self._pending = self._pending, set()
        outcomes = await asyncio.gather(*(self._guarded(conversation_id) for conversation_id in sorted(pending)))
        not_due = {conversation_id for conversation_id, outcome in zip(sorted(pending), outcomes, strict=True)
                   if outcome == 'not_due'}
        self._pending |= not_due
        return sum(1 for outcome in outcomes if outcome == 'replied')

    async def _guarded(self, conversation_id: int) -> str:
        async with self._semaphore:
            try:
                return await self.answer(conversation_id)
            except Exception:  # one conversation's failure must not stop the others
                log.exception('assistant turn for conversation %s failed', conversation_id)
                return 'failed'

    async def _recent_ai_conversations(self) -> list[int]:
        since = utcnow() - self.max_age
        async with self.db.session() as session:
            return list((await session.exec(
                select(Conversation.id).where(Conversation.status == ConversationStatus.OPEN,
                                              Conversation.mode == ConversationMode.AI,
                                              col(Conversation.last_inbound_at) >= since))).all())

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
            newest = (await session.exec(
                select(Message).where(Message.conversation_id == conversation_id,
                                      Message.direction == Direction.INBOUND,
                                      Message.sender_kind == SenderKind.CUSTOMER)
                .order_by(col(Message.id).desc()).limit(1))).first()
            if newest is None or newest.id is None:
                return 'nothing'
            if newest.created_at < now - self.max_age:
                return 'too_old'  # e.g. after downtime: a person answers old messages better than a late bot
            if newest.created_at > now - self.reply_delay:
                return 'not_due'
            answered = (await session.exec(
                select(func.max(AssistantTurn.inbound_message_id))
                .where(AssistantTurn.conversation_id == conversation_id))).one()
            if answered is not None and answered >= newest.id:
                return 'answered'
            # The claim: only one inserter of this row, ever, answers this message.
            turn_row = AssistantTurn(conversation_id=conversation_id, inbound_message_id=newest.id)
            session.add(turn_row)
            try:
                await session.commit()
            except IntegrityError:
                return 'answered'
            context = await self._context(session, conversation, answered or 0)
        reply = await self.engine.reply(context)
        return await self._deliver(turn_row.id or 0, conversation_id, reply)

    async def _context(self, session: AsyncSession, conversation: Conversation, answered_up_to: int) -> TurnContext:
        rows = (await session.exec(
            select(Message.id, Message.sender_kind, Message.text, Message.direction)
            .where(Message.conversation_id == conversation.id)
            .order_by(col(Message.id).desc()).limit(HISTORY_LIMIT))).all()
        history = [HistoryMessage(message_id=row[0], sender_kind=row[1], text=row[2] or '') for row in reversed(rows)]
        new = [m for m in history if m.from_customer and m.message_id > answered_up_to]
        contact = await session.get(Contact, conversation.contact_id)
        branch = await session.get(Branch, conversation.branch_id)
        previous = (await session.exec(
            select(AssistantTurn.intent).where(AssistantTurn.conversation_id == conversation.id,
                                               AssistantTurn.status != 'working')
            .order_by(col(AssistantTurn.id).desc()).limit(3))).all()
        return TurnContext(conversation_id=conversation.id or 0, branch_id=conversation.branch_id,
                           branch_name=branch.name if branch else '',
                           customer_name=(contact.display_name or contact.profile_name) if contact else '',
                           history=history, new_messages=new, previous_intents=list(reversed(previous)))

    async def _deliver(self, turn_id: int, conversation_id: int, reply: EngineReply) -> str:
        detail = {**reply.detail, 'products': reply.products}
        async with self.db.session() as session:
            mode = (await session.exec(select(Conversation.mode).where(Conversation.id == conversation_id))).first()
        if mode != ConversationMode.AI:
            await self._finish(turn_id, 'silent', reply, None, {**detail, 'silent_because': 'human_mode'})
            return 'human_mode'
        try:
            message = await queue_text(self.db, conversation_id=conversation_id, text=reply.text,
                                       publisher=self.publisher, sender_kind=SenderKind.AI)
        except ServiceError as exc:  # outside the window, a listen-only number, an over-long text...
            await self._finish(turn_id, 'silent', reply, None, {**detail, 'silent_because': exc.code,
                                                                'error': str(exc)[:300]})
            return exc.code
        await self._finish(turn_id, 'replied', reply, message.id, detail)
        if reply.handoff and self.handoff is not None:
            try:
                await self.handoff(self.db, conversation_id=conversation_id, reason=reply.handoff,
                                   publisher=self.publisher)
            except Exception:  # the reply is out; a failed flag must not undo it, and the log tells the lead
                log.exception('handoff of conversation %s (%s) failed', conversation_id, reply.handoff)
        return 'replied'

    async def _finish(self, turn_id: int, status: str, reply: EngineReply, message_id: int | None,
                      detail: dict[str, object]) -> None:
        async with self.db.session() as session:
            await session.exec(update(AssistantTurn).where(col(AssistantTurn.id) == turn_id).values(
                status=status, engine=reply.engine, intent=reply.intent[:24], handoff_reason=reply.handoff or '',
                reply_message_id=message_id, detail=detail, finished_at=utcnow()))
            await session.commit()
