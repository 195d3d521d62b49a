"""Closing a sale (S4): an accepted quote becomes a sale with a ticket, stock and a commission.

Acceptance is one conditional UPDATE (`sent → accepted`, only while valid) followed, in the same transaction,
by the sale row, its ticket number, the stock decrement (database provider) and the commission. The unique
`sales.quote_id` and the conditional update make it idempotent: a second "sí", a double click or two
processes racing all end with the one sale, and only the first acceptance sends a ticket.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer, branch_scope
from ..errors import Conflict, NotFound
from ..models import (
    Branch,
    Contact,
    Conversation,
    MessageTemplate,
    Quote,
    QuoteLine,
    QuoteStatus,
    Sale,
    SenderKind,
    TemplateStatus,
    User,
)
from ..models.types import utcnow
from ..whatsapp import outbox
from .commissions import commission_for
from .day_totals import add_to_day, business_day
from .desk import SalesDesk
from .money import format_ars
from .numbering import TICKET, next_number, quote_code, ticket_code
from .quotes import customer_snapshot, effective_status, get_quote
from .render_pdf import ticket_pdf
from .render_text import TicketView, ticket_messages

log = logging.getLogger(__name__)

# Outside the 24 h window (an agent closing a sale agreed by phone days later), the ticket goes as this
# approved template; registered per number like `presupuesto_enviado` (docs/sales.md).
TICKET_TEMPLATE = 'venta_confirmada'
TICKET_TEMPLATE_BODY = 'Hola {{1}}, confirmamos tu compra {{2}} en {{3}} por un total de {{4}}. ¡Gracias!'

AGENT = 'agent'
CUSTOMER_TEXT = 'customer_text'
CUSTOMER_BUTTON = 'customer_button'


class QuoteExpired(Conflict):
    code = 'quote_expired'


@dataclass(frozen=True)
class SaleView:
    id: int
    ticket_code: str
    branch_id: int
    branch_code: str
    quote_id: int | None
    quote_code: str
    agent_id: int | None
    agent_name: str
    contact_name: str
    net_total: Decimal
    iva_total: Decimal
    total: Decimal
    commission_rate: Decimal
    commission_amount: Decimal
    sold_at: datetime
    ticket_sent_at: datetime | None


@dataclass(frozen=True)
class Acceptance:
    sale: SaleView
    created: bool  # False: the quote had been accepted before (a repeated "sí"): nothing new happened
    ticket_sent: bool
    ticket_note: str = ''  # why the ticket was not sent, for the agent


async def accept_quote(
    desk: SalesDesk, *, quote_id: int, viewer: Viewer | None, source: str = AGENT, now: datetime | None = None
) -> Acceptance:
    """Accept a quote and create its sale. `viewer` is the agent accepting by hand (a sent quote, or a draft
    the customer agreed to by other means); None with a customer `source` is the customer's own "sí"."""
    db = desk.db
    now = now or utcnow()
    today = desk.today()
    allowed = (QuoteStatus.DRAFT, QuoteStatus.SENT) if source == AGENT else (QuoteStatus.SENT,)
    async with db.session() as session:
        # First statement a write: SQLite cannot upgrade a reading transaction to a writing one under load.
        statement = update(Quote).where(
            col(Quote.id) == quote_id, col(Quote.status).in_(allowed), col(Quote.valid_until) >= today
        )
        if viewer is not None:
            statement = statement.where(branch_scope(Quote.branch_id, viewer))
        result = await session.exec(
            statement.values(
                status=QuoteStatus.ACCEPTED,
                decided_at=now,
                decision_source=source,
                updated_at=now,
                decided_by_id=viewer.user_id if viewer else None,
            )
        )
        if result.rowcount == 0:
            await session.rollback()
            return await _not_accepted(desk, quote_id=quote_id, viewer=viewer)
        quote = await session.get(Quote, quote_id)
        assert quote is not None
        if quote.sent_at is None or not quote.customer_name:
            # A draft accepted by hand is issued now: it keeps the customer as they are at this moment.
            contact = await session.get(Contact, quote.contact_id) if quote.contact_id else None
            for field_name, value in customer_snapshot(contact).items():
                setattr(quote, field_name, value)
        branch = await session.get(Branch, quote.branch_id)
        assert branch is not None
        lines = (await session.exec(select(QuoteLine).where(QuoteLine.quote_id == quote_id))).all()
        agent_id = await _selling_agent(session, quote, viewer)
        agent = await session.get(User, agent_id) if agent_id else None
        rate, commission = commission_for(
            quote.net_total,
            agent_rate=agent.commission_rate if agent else None,
            branch_rate=branch.commission_rate,
            has_agent=agent is not None,
        )
        sale = Sale(
            quote_id=quote_id,
            branch_id=quote.branch_id,
            agent_id=agent_id,
            contact_id=quote.contact_id,
            conversation_id=quote.conversation_id,
            customer_name=quote.customer_name,
            customer_phone=quote.customer_phone,
            customer_email=quote.customer_email,
            ticket_number=await next_number(session, branch_id=quote.branch_id, kind=TICKET),
            net_total=quote.net_total,
            iva_total=quote.iva_total,
            total=quote.total,
            commission_rate=rate,
            commission_amount=commission,
            sold_at=now,
        )
        session.add(sale)
        await desk.inventory.record_sale(
            session,
            branch_id=quote.branch_id,
            lines=[(line.product_id, line.quantity) for line in lines if line.product_id is not None],
        )
        await add_to_day(
            session,
            branch_id=quote.branch_id,
            agent_id=agent_id,
            day=business_day(now, desk.zone),
            sales=1,
            net_total=quote.net_total,
            iva_total=quote.iva_total,
            total=quote.total,
            commission_amount=commission,
        )
        if quote.sent_at is not None:  # conversion counts on the day the quote was sent
            await add_to_day(
                session,
                branch_id=quote.branch_id,
                agent_id=quote.sent_by_id or quote.created_by_id,
                day=business_day(quote.sent_at, desk.zone),
                quotes_accepted=1,
            )
        await session.flush()
        audit.record(
            session,
            action='sale.created',
            actor=viewer,
            actor_label='' if viewer else 'customer',
            target_type='sale',
            target_id=sale.id or '',
            quote_id=quote_id,
            source=source,
        )
        await session.commit()
        sale_id = sale.id or 0
    sent, note = await _send_ticket(desk, sale_id=sale_id, viewer=viewer)
    made = await get_sale(desk, sale_id=sale_id, viewer=None)
    await desk.quote_updated(
        branch_id=made.branch_id,
        conversation_id=sale.conversation_id,
        quote_id=quote_id,
        status=QuoteStatus.ACCEPTED,
        sale_id=sale_id,
        ticket=made.ticket_code,
    )
    return Acceptance(sale=made, created=True, ticket_sent=sent, ticket_note=note)


async def _not_accepted(desk: SalesDesk, *, quote_id: int, viewer: Viewer | None) -> Acceptance:
    async with desk.db.session() as session:
        quote = await session.get(Quote, quote_id)
        if quote is None or (viewer is not None and not viewer.can_see_branch(quote.branch_id)):
            raise NotFound(f'no quote {quote_id}')
        sale = (await session.exec(select(Sale).where(Sale.quote_id == quote_id))).first()
    if sale is not None:
        return Acceptance(
            sale=await get_sale(desk, sale_id=sale.id or 0, viewer=None),
            created=False,
            ticket_sent=sale.ticket_sent_at is not None,
        )
    status = effective_status(quote.status, quote.valid_until, desk.today())
    if status == QuoteStatus.EXPIRED:
        raise QuoteExpired(f'quote {quote.number} expired on {quote.valid_until:%d/%m/%Y}')
    raise Conflict(f'quote {quote.number} is {status}; it cannot be accepted')


async def _selling_agent(session: AsyncSession, quote: Quote, viewer: Viewer | None) -> int | None:
    """Who gets the sale (and its commission): the agent accepting by hand; else whoever sent the quote, else
    whoever made it, else the conversation's agent. An AI quote nobody touched is a sale without an agent."""
    if viewer is not None and viewer.user_id is not None:
        return viewer.user_id
    if quote.sent_by_id or quote.created_by_id:
        return quote.sent_by_id or quote.created_by_id
    if quote.conversation_id:
        conversation = await session.get(Conversation, quote.conversation_id)
        return conversation.assigned_user_id if conversation else None
    return None


# --- tickets ----------------------------------------------------------------------------------------------


async def ticket_for(desk: SalesDesk, *, sale_id: int, viewer: Viewer | None) -> TicketView:
    sale = await get_sale(desk, sale_id=sale_id, viewer=viewer)
    if sale.quote_id is None:
        raise NotFound(f'sale {sale_id} has no quote to print')
    quote = await get_quote(desk.db, viewer=None, quote_id=sale.quote_id, zone=desk.zone)
    return TicketView(
        sale_id=sale.id, ticket_code=sale.ticket_code, sold_at=sale.sold_at, agent_name=sale.agent_name, quote=quote
    )


async def _send_ticket(desk: SalesDesk, *, sale_id: int, viewer: Viewer | None) -> tuple[bool, str]:
    """Ticket text + PDF to the customer. A failure here never undoes the sale: it is reported instead."""
    try:
        ticket = await ticket_for(desk, sale_id=sale_id, viewer=None)
        conversation_id = ticket.quote.conversation_id
        if conversation_id is None:
            return False, 'la venta no está asociada a una conversación'
        async with desk.db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            window_open = outbox.window_state(conversation).open
            template = (
                None
                if window_open
                else (
                    await session.exec(
                        select(MessageTemplate).where(
                            MessageTemplate.number_id == conversation.number_id,
                            MessageTemplate.name == TICKET_TEMPLATE,
                            MessageTemplate.status == TemplateStatus.APPROVED,
                        )
                    )
                ).first()
            )
        # Who sends it: the agent closing the sale by hand, else the system (the customer's own "sí" closed it).
        # Never the default: a ticket without its sender read as the customer's own message in the thread.
        sender = SenderKind.AGENT if viewer is not None else SenderKind.SYSTEM
        if window_open:
            for text in ticket_messages(ticket, zone=desk.zone):
                await outbox.queue_text(
                    desk.db,
                    conversation_id=conversation_id,
                    text=text,
                    publisher=desk.publisher,
                    viewer=viewer,
                    sender_kind=sender,
                )
            content = await asyncio.to_thread(ticket_pdf, ticket, zone=desk.zone)
            await outbox.queue_media(
                desk.db,
                conversation_id=conversation_id,
                store=desk.store,
                content=content,
                mime_type='application/pdf',
                filename=f'Ticket-{ticket.ticket_code}.pdf',
                caption=f'Ticket {ticket.ticket_code}',
                publisher=desk.publisher,
                viewer=viewer,
                sender_kind=sender,
                max_bytes=desk.max_media_bytes,
            )
        elif template is not None:
            quote = ticket.quote
            await outbox.queue_template(
                desk.db,
                conversation_id=conversation_id,
                template_name=TICKET_TEMPLATE,
                variables=[
                    quote.contact_name or 'cliente',
                    ticket.ticket_code,
                    quote.branch_name,
                    format_ars(quote.totals.total),
                ],
                publisher=desk.publisher,
                viewer=viewer,
                sender_kind=sender,
            )
        else:
            return False, f'fuera de la ventana de 24 h y sin plantilla aprobada {TICKET_TEMPLATE!r}'
    except Exception as exc:  # the sale stands; the agent sees why the ticket did not go out
        log.warning('ticket of sale %s not sent: %s', sale_id, exc)
        return False, str(exc)
    async with desk.db.session() as session:
        await session.exec(update(Sale).where(col(Sale.id) == sale_id).values(ticket_sent_at=utcnow()))
        await session.commit()
    return True, ''


async def resend_ticket(desk: SalesDesk, *, sale_id: int, viewer: Viewer) -> tuple[bool, str]:
    await get_sale(desk, sale_id=sale_id, viewer=viewer)  # visibility check
    return await _send_ticket(desk, sale_id=sale_id, viewer=viewer)


# --- reading sales ----------------------------------------------------------------------------------------


async def get_sale(desk: SalesDesk, *, sale_id: int, viewer: Viewer | None) -> SaleView:
    async with desk.db.session() as session:
        sale = await session.get(Sale, sale_id)
        if sale is None or (viewer is not None and not viewer.can_see_branch(sale.branch_id)):
            raise NotFound(f'no sale {sale_id}')
        branch = await session.get(Branch, sale.branch_id)
        agent = await session.get(User, sale.agent_id) if sale.agent_id else None
        quote = await session.get(Quote, sale.quote_id) if sale.quote_id else None
        contact = await session.get(Contact, sale.contact_id) if sale.contact_id else None
    assert branch is not None
    return SaleView(
        id=sale.id or 0,
        ticket_code=ticket_code(branch.code, sale.ticket_number),
        branch_id=branch.id or 0,
        branch_code=branch.code,
        quote_id=sale.quote_id,
        quote_code=quote_code(branch.code, quote.number) if quote else '',
        agent_id=sale.agent_id,
        agent_name=agent.full_name if agent else '',
        contact_name=sale.customer_name or (contact.name if contact else ''),
        net_total=sale.net_total,
        iva_total=sale.iva_total,
        total=sale.total,
        commission_rate=sale.commission_rate,
        commission_amount=sale.commission_amount,
        sold_at=sale.sold_at,
        ticket_sent_at=sale.ticket_sent_at,
    )
