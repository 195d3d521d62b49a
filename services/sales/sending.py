"""Sending a quote to the customer (S3): WhatsApp text (split when longer than 4096 characters) plus the PDF,
through the durable outbox; outside the 24 h window, the approved template `presupuesto_enviado`.

The AI may send a quote on its own only where the branch allows it (`branch.ai_sends_quotes`); otherwise its
drafts wait for a human.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from .. import audit
from ..access import Viewer
from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ..models import Branch, Contact, Conversation, MessageTemplate, Quote, QuoteStatus, SenderKind, TemplateStatus
from ..models.types import utcnow
from ..whatsapp import outbox
from .day_totals import add_to_day, business_day
from .desk import SalesDesk
from .money import format_ars
from .quotes import QuoteView, customer_snapshot, get_quote
from .render_pdf import quote_pdf
from .render_text import quote_messages

# Registered per number (docs/sales.md): Meta approves it once, in the UTILITY category.
QUOTE_TEMPLATE = 'presupuesto_enviado'
QUOTE_TEMPLATE_BODY = (
    'Hola {{1}}, te enviamos el presupuesto {{2}} de {{3}} por un total de {{4}}, válido hasta '
    'el {{5}}. Respondé SÍ para confirmarlo o escribinos si tenés alguna consulta.'
)
# Reply buttons sent with a quote carry this id; the customer's tap comes back as `interactive.button_reply.id`.
ACCEPT_BUTTON_PREFIX = 'quote:accept:'


def accept_button_id(quote_id: int) -> str:
    return f'{ACCEPT_BUTTON_PREFIX}{quote_id}'


class NoTemplate(InvalidInput):
    code = 'no_template'


@dataclass(frozen=True)
class SendResult:
    quote: QuoteView
    message_ids: tuple[int, ...]
    via_template: bool


def quote_template_values(quote: QuoteView) -> list[str]:
    return [
        quote.contact_name or 'cliente',
        quote.code,
        quote.branch_name,
        format_ars(quote.totals.total),
        f'{quote.valid_until:%d/%m/%Y}',
    ]


async def send_quote(desk: SalesDesk, *, viewer: Viewer | None, quote_id: int, as_ai: bool = False) -> SendResult:
    """Send a draft (or resend a sent quote). `viewer` None with `as_ai` is the assistant sending."""
    db = desk.db
    if viewer is None and not as_ai:
        raise PermissionDenied('a quote is sent by an agent or, where the branch allows it, by the AI')
    quote = await get_quote(db, viewer=viewer, quote_id=quote_id, zone=desk.zone)
    if quote.status not in {QuoteStatus.DRAFT, QuoteStatus.SENT}:
        raise Conflict(f'quote {quote.code} is {quote.status}; it cannot be sent')
    if not quote.lines:
        raise InvalidInput(f'quote {quote.code} has no lines')
    if quote.conversation_id is None:
        raise InvalidInput(f'quote {quote.code} is not linked to a conversation')
    async with db.session() as session:
        branch = await session.get(Branch, quote.branch_id)
        conversation = await session.get(Conversation, quote.conversation_id)
        assert branch is not None and conversation is not None
        window_open = outbox.window_state(conversation).open
        template = None
        if not window_open:
            template = (
                await session.exec(
                    select(MessageTemplate).where(
                        MessageTemplate.number_id == conversation.number_id,
                        MessageTemplate.name == QUOTE_TEMPLATE,
                        MessageTemplate.status == TemplateStatus.APPROVED,
                    )
                )
            ).first()
    if as_ai and not branch.ai_sends_quotes:
        raise PermissionDenied(f'{branch.code} does not let the AI send quotes; an agent must confirm the draft')
    if not window_open and template is None:
        raise NoTemplate(
            f'more than 24 h since the customer wrote and no approved template {QUOTE_TEMPLATE!r} '
            f'for this number: register it (docs/sales.md) or wait for the customer to write'
        )

    sent_at = utcnow()
    first_send = quote.status == QuoteStatus.DRAFT
    if first_send:
        await _mark(desk, quote, sent_at=sent_at, sent_by_id=viewer.user_id if viewer else None)
    try:
        message_ids = await _queue(desk, quote, viewer=viewer, as_ai=as_ai, window_open=window_open)
    except Exception:
        if first_send:  # nothing reached the outbox: the quote is still a draft
            await _unmark(desk, quote, sent_at=sent_at, sent_by_id=viewer.user_id if viewer else None)
        raise
    async with db.session() as session:
        audit.record(
            session,
            action='quote.sent',
            actor=viewer,
            actor_label='' if viewer else 'ai',
            target_type='quote',
            target_id=quote_id,
            template=not window_open,
            resend=not first_send,
        )
        await session.commit()
    sent = await get_quote(db, viewer=viewer, quote_id=quote_id, zone=desk.zone)
    await desk.quote_updated(
        branch_id=sent.branch_id, conversation_id=sent.conversation_id, quote_id=quote_id, status=sent.status
    )
    return SendResult(quote=sent, message_ids=tuple(message_ids), via_template=not window_open)


async def _mark(desk: SalesDesk, quote: QuoteView, *, sent_at: datetime, sent_by_id: int | None) -> None:
    # Issued now: the quote keeps the customer as they are at this moment (read before the write transaction,
    # whose first statement must be its write on SQLite).
    async with desk.db.session() as session:
        contact = await session.get(Contact, quote.contact_id) if quote.contact_id else None
        customer = customer_snapshot(contact)
    async with desk.db.session() as session:
        # Conditional: two agents pressing "send" at once send it once.
        result = await session.exec(
            update(Quote)
            .where(col(Quote.id) == quote.id, col(Quote.status) == QuoteStatus.DRAFT)
            .values(status=QuoteStatus.SENT, sent_at=sent_at, sent_by_id=sent_by_id, updated_at=sent_at, **customer)
        )
        if result.rowcount == 0:
            raise Conflict('the quote was sent or changed meanwhile; reload it')
        await add_to_day(
            session,
            branch_id=quote.branch_id,
            agent_id=sent_by_id or quote.created_by_id,
            day=business_day(sent_at, desk.zone),
            quotes_sent=1,
        )
        await session.commit()


async def _unmark(desk: SalesDesk, quote: QuoteView, *, sent_at: datetime, sent_by_id: int | None) -> None:
    async with desk.db.session() as session:
        result = await session.exec(
            update(Quote)
            .where(col(Quote.id) == quote.id, col(Quote.status) == QuoteStatus.SENT, col(Quote.sent_at) == sent_at)
            .values(status=QuoteStatus.DRAFT, sent_at=None, sent_by_id=None)
        )
        if result.rowcount:
            await add_to_day(
                session,
                branch_id=quote.branch_id,
                agent_id=sent_by_id or quote.created_by_id,
                day=business_day(sent_at, desk.zone),
                quotes_sent=-1,
            )
        await session.commit()


async def _queue(
    desk: SalesDesk, quote: QuoteView, *, viewer: Viewer | None, as_ai: bool, window_open: bool
) -> list[int]:
    conversation_id = quote.conversation_id or 0
    sender = SenderKind.AI if as_ai else SenderKind.AGENT
    if not window_open:
        try:
            message = await outbox.queue_template(
                desk.db,
                conversation_id=conversation_id,
                template_name=QUOTE_TEMPLATE,
                variables=quote_template_values(quote),
                publisher=desk.publisher,
                viewer=viewer,
                sender_kind=sender,
            )
        except NotFound as exc:
            raise NoTemplate(str(exc)) from exc
        return [message.id or 0]
    ids = []
    for text in quote_messages(quote):
        message = await outbox.queue_text(
            desk.db,
            conversation_id=conversation_id,
            text=text,
            publisher=desk.publisher,
            viewer=viewer,
            sender_kind=sender,
        )
        ids.append(message.id or 0)
    # fpdf2 is pure Python (~50 ms a quote): off the event loop, so other pages keep answering.
    content = await asyncio.to_thread(quote_pdf, quote)
    message = await outbox.queue_media(
        desk.db,
        conversation_id=conversation_id,
        store=desk.store,
        content=content,
        mime_type='application/pdf',
        filename=f'Presupuesto-{quote.code}.pdf',
        caption=f'Presupuesto {quote.code}',
        publisher=desk.publisher,
        viewer=viewer,
        sender_kind=sender,
        max_bytes=desk.max_media_bytes,
    )
    ids.append(message.id or 0)
    return ids
