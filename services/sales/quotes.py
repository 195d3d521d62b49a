"""Quotes (S3): create, edit while draft, read, list, reject, expire. Branch isolation in every query.

A quote belongs to one branch (the conversation's). States: draft → sent → accepted / rejected / expired.
Only a draft can be edited; a sent quote past its valid-until date is *expired* whether or not the sweeper
(`expire_due_quotes`) has already written so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Branch, Contact, Conversation, Product, Quote, QuoteLine, QuoteStatus, Sale, User
from ..models.types import utcnow
from .money import ZERO
from .numbering import QUOTE, next_number, parse_quote_code, quote_code, ticket_code
from .totals import DEFAULT_IVA_RATE, LineAmounts, LineInput, QuoteTotals, compute_totals

DEFAULT_ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
OPEN_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.SENT)


def today_in(zone: ZoneInfo = DEFAULT_ZONE, *, now: datetime | None = None) -> date:
    """The branch's calendar day: validity and daily reports follow Argentine days, not UTC ones."""
    return (now or utcnow()).astimezone(zone).date()


@dataclass(frozen=True)
class LineDraft:
    """One line as an agent or the AI asks for it. With a product, description, SKU, price and IVA come from
    the catalog; without one (shipping, labour) description and unit price are required."""

    quantity: int = 1
    product_id: int | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    iva_rate: Decimal | None = None
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO


@dataclass(frozen=True)
class QuoteLineView:
    position: int
    product_id: int | None
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    iva_rate: Decimal
    amounts: LineAmounts


@dataclass(frozen=True)
class QuoteView:
    id: int
    code: str  # SUC1-000123
    number: int
    branch_id: int
    branch_code: str
    branch_name: str
    branch_address: str
    branch_city: str
    conversation_id: int | None
    contact_id: int | None
    contact_name: str
    status: QuoteStatus  # effective: a sent quote past its date reads `expired`
    valid_until: date
    notes: str
    discount_percent: Decimal
    discount_amount: Decimal
    lines: tuple[QuoteLineView, ...]
    totals: QuoteTotals
    created_at: datetime
    created_by_id: int | None
    created_by_name: str
    drafted_by_ai: bool
    sent_at: datetime | None = None
    sent_by_id: int | None = None
    decided_at: datetime | None = None
    decision_source: str = ''
    sale_id: int | None = None
    ticket_code: str | None = None
    warnings: tuple[str, ...] = field(default=())
    # The branch's IVA for a line typed by hand (a catalog line carries its product's): what an editor proposes.
    default_iva_rate: Decimal = DEFAULT_IVA_RATE

    @property
    def editable(self) -> bool:
        return self.status == QuoteStatus.DRAFT


@dataclass(frozen=True)
class QuoteSummary:
    id: int
    code: str
    branch_id: int
    branch_code: str
    contact_name: str
    status: QuoteStatus
    total: Decimal
    valid_until: date
    created_at: datetime
    conversation_id: int | None


def effective_status(status: QuoteStatus | str, valid_until: date, today: date) -> QuoteStatus:
    status = QuoteStatus(status)
    if status in OPEN_STATUSES and valid_until < today:
        return QuoteStatus.EXPIRED
    return status


# --- building lines ---------------------------------------------------------------------------------------


def unpriced_message(sku: str, position: int | None = None) -> str:
    # Imported without a price (a MercadoLibre export has none): searchable, but a quote needs a real price.
    where = f'line {position}: ' if position is not None else ''
    return f'{where}product {sku} has no price yet; import its price (a catalog file with prices) before quoting it'


def _line_rows(
    drafts: Sequence[LineDraft], products: dict[int, Product], *, default_iva_rate: Decimal = DEFAULT_IVA_RATE
) -> list[QuoteLine]:
    """A catalog line takes its product's IVA rate; a free line the branch's default (`Branch.iva_default_rate`)."""
    rows: list[QuoteLine] = []
    for position, draft in enumerate(drafts, start=1):
        if draft.product_id is not None:
            product = products.get(draft.product_id)
            if product is None or not product.active:
                raise NotFound(f'line {position}: no active product {draft.product_id}')
            if not product.priced:
                raise InvalidInput(unpriced_message(product.sku, position))
            description = (draft.description or product.title).strip()
            sku, unit_price = product.sku, product.price
            iva_rate = product.iva_rate if draft.iva_rate is None else draft.iva_rate
        else:
            description = (draft.description or '').strip()
            if not description or draft.unit_price is None:
                raise InvalidInput(f'line {position}: a line without a product needs a description and a price')
            sku, unit_price = '', draft.unit_price
            iva_rate = default_iva_rate if draft.iva_rate is None else draft.iva_rate
        if len(description) > 200:
            raise InvalidInput(f'line {position}: the description is longer than 200 characters')
        rows.append(
            QuoteLine(
                quote_id=0,
                position=position,
                product_id=draft.product_id,
                sku=sku,
                description=description,
                quantity=draft.quantity,
                unit_price=unit_price,
                discount_percent=draft.discount_percent,
                discount_amount=draft.discount_amount,
                iva_rate=iva_rate,
            )
        )
    return rows


def _line_views(rows: Sequence[QuoteLine], totals: QuoteTotals) -> tuple[QuoteLineView, ...]:
    """The quote's lines as shown, numbered from 1, each with its computed amounts."""
    return tuple(
        QuoteLineView(
            position=index,
            product_id=row.product_id,
            sku=row.sku,
            description=row.description,
            quantity=row.quantity,
            unit_price=row.unit_price,
            discount_percent=row.discount_percent,
            discount_amount=row.discount_amount,
            iva_rate=row.iva_rate,
            amounts=amounts,
        )
        for index, (row, amounts) in enumerate(zip(rows, totals.lines, strict=True), start=1)
    )


def _totals_of(rows: Sequence[QuoteLine], discount_percent: Decimal, discount_amount: Decimal) -> QuoteTotals:
    return compute_totals(
        [
            LineInput(
                quantity=row.quantity,
                unit_price=row.unit_price,
                iva_rate=row.iva_rate,
                discount_percent=row.discount_percent,
                discount_amount=row.discount_amount,
            )
            for row in rows
        ],
        discount_percent=discount_percent,
        discount_amount=discount_amount,
    )


async def _products_for(session: AsyncSession, drafts: Iterable[LineDraft]) -> dict[int, Product]:
    ids = sorted({draft.product_id for draft in drafts if draft.product_id is not None})
    if not ids:
        return {}
    rows = (await session.exec(select(Product).where(col(Product.id).in_(ids)))).all()
    return {product.id or 0: product for product in rows}


def _check_notes(notes: str) -> str:
    notes = notes.strip()
    if len(notes) > 2000:
        raise InvalidInput('notes are limited to 2000 characters')
    return notes


class CustomerColumns(TypedDict):
    customer_name: str
    customer_phone: str
    customer_email: str


def customer_snapshot(contact: Contact | None) -> CustomerColumns:
    """The customer's facts as a document records them when issued (`Quote.customer_*`, `Sale.customer_*`)."""
    if contact is None:
        return {'customer_name': '', 'customer_phone': '', 'customer_email': ''}
    return {
        'customer_name': contact.name[:120] if contact.name != '?' else '',
        'customer_phone': contact.phone_e164 or '',
        'customer_email': contact.email or '',
    }


def customer_name(quote: Quote, contact: Contact | None) -> str:
    """An issued quote shows the customer it was issued to; a draft, the contact as it is now (it may still be
    corrected before sending)."""
    if quote.status != QuoteStatus.DRAFT and quote.customer_name:
        return quote.customer_name
    return contact.name if contact else quote.customer_name


# --- commands ---------------------------------------------------------------------------------------------


async def _quoting_for(
    session: AsyncSession, viewer: Viewer | None, *, conversation_id: int | None, branch_id: int | None
) -> tuple[Branch, Contact | None]:
    """The branch and customer a new quote is for: a conversation's (the viewer must see it) or a branch's."""
    contact_id = None
    if conversation_id is not None:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or (viewer is not None and not viewer.can_see_branch(conversation.branch_id)):
            raise NotFound(f'no conversation {conversation_id}')
        if branch_id is not None and branch_id != conversation.branch_id:
            raise InvalidInput('the conversation belongs to another branch')
        branch_id, contact_id = conversation.branch_id, conversation.contact_id
    if branch_id is None:
        raise InvalidInput('a quote needs a conversation or a branch')
    branch = await session.get(Branch, branch_id)
    if branch is None or (viewer is not None and not viewer.can_see_branch(branch_id)):
        raise NotFound(f'no branch {branch_id}')
    contact = await session.get(Contact, contact_id) if contact_id else None
    return branch, contact


async def new_quote_preview(
    db: Database,
    *,
    viewer: Viewer | None,
    lines: Sequence[LineDraft] = (),
    conversation_id: int | None = None,
    branch_id: int | None = None,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> QuoteView:
    """What a new quote would be, written nowhere: no number is taken until it is saved (`create_quote`). Its
    `id` and `number` are 0 and its `code` empty."""
    today = today_in(zone)
    async with db.session() as session:
        branch, contact = await _quoting_for(session, viewer, conversation_id=conversation_id, branch_id=branch_id)
        products = await _products_for(session, lines)
    rows = _line_rows(lines, products, default_iva_rate=branch.iva_default_rate)
    totals = _totals_of(rows, ZERO, ZERO)
    return QuoteView(
        id=0,
        code='',
        number=0,
        branch_id=branch.id or 0,
        branch_code=branch.code,
        branch_name=branch.name,
        branch_address=branch.address,
        branch_city=branch.city,
        conversation_id=conversation_id,
        contact_id=contact.id if contact else None,
        contact_name=contact.name if contact else '',
        status=QuoteStatus.DRAFT,
        valid_until=today + timedelta(days=branch.quote_valid_days),
        notes='',
        discount_percent=ZERO,
        discount_amount=ZERO,
        lines=_line_views(rows, totals),
        totals=totals,
        created_at=utcnow(),
        created_by_id=viewer.user_id if viewer else None,
        created_by_name=viewer.full_name if viewer else '',
        drafted_by_ai=False,
        default_iva_rate=branch.iva_default_rate,
    )


async def create_quote(
    db: Database,
    *,
    viewer: Viewer | None,
    lines: Sequence[LineDraft],
    conversation_id: int | None = None,
    branch_id: int | None = None,
    discount_percent: Decimal = ZERO,
    discount_amount: Decimal = ZERO,
    notes: str = '',
    drafted_by_ai: bool = False,
    zone: ZoneInfo = DEFAULT_ZONE,
    now: datetime | None = None,
) -> QuoteView:
    """A new draft quote for a conversation (its branch and customer) or for a branch alone.

    `viewer` None is the system acting (the AI's draft, the CLI); a viewer may only quote in a branch they see.
    """
    now = now or utcnow()
    notes = _check_notes(notes)
    # Validate before the write transaction: that one must start by taking its number (see numbering.py).
    async with db.session() as session:
        branch, contact = await _quoting_for(session, viewer, conversation_id=conversation_id, branch_id=branch_id)
        branch_id, contact_id = branch.id or 0, contact.id if contact else None
        customer = customer_snapshot(contact)
        rows = _line_rows(lines, await _products_for(session, lines), default_iva_rate=branch.iva_default_rate)
        totals = _totals_of(rows, discount_percent, discount_amount)
    async with db.session() as session:
        number = await next_number(session, branch_id=branch_id, kind=QUOTE)
        quote = Quote(
            branch_id=branch_id,
            number=number,
            conversation_id=conversation_id,
            contact_id=contact_id,
            **customer,
            created_by_id=viewer.user_id if viewer else None,
            drafted_by_ai=drafted_by_ai,
            valid_until=today_in(zone, now=now) + timedelta(days=branch.quote_valid_days),
            discount_percent=discount_percent,
            discount_amount=discount_amount,
            notes=notes,
            net_total=totals.net_total,
            iva_total=totals.iva_total,
            total=totals.total,
            created_at=now,
            updated_at=now,
        )
        session.add(quote)
        await session.flush()
        for row in rows:
            row.quote_id = quote.id or 0
        session.add_all(rows)
        audit.record(
            session,
            action='quote.created',
            actor=viewer,
            actor_label='' if viewer else 'system',
            target_type='quote',
            target_id=quote.id or '',
            code=quote_code(branch.code, number),
            ai=drafted_by_ai,
        )
        await session.commit()
        quote_id = quote.id or 0
    return await get_quote(db, viewer=viewer, quote_id=quote_id, zone=zone)


async def update_quote(
    db: Database,
    *,
    viewer: Viewer | None,
    quote_id: int,
    lines: Sequence[LineDraft],
    discount_percent: Decimal = ZERO,
    discount_amount: Decimal = ZERO,
    notes: str = '',
    zone: ZoneInfo = DEFAULT_ZONE,
) -> QuoteView:
    """Replace a draft's lines, discounts and notes. Sent quotes are final: make a new one instead."""
    notes = _check_notes(notes)
    async with db.session() as session:
        quote = await _visible_quote(session, viewer, quote_id)
        branch = await session.get(Branch, quote.branch_id)
        default_iva_rate = branch.iva_default_rate if branch else DEFAULT_IVA_RATE
        rows = _line_rows(lines, await _products_for(session, lines), default_iva_rate=default_iva_rate)
        totals = _totals_of(rows, discount_percent, discount_amount)
        # Conditional on still being a draft, so an edit racing a send cannot change what the customer got.
        result = await session.exec(
            update(Quote)
            .where(col(Quote.id) == quote_id, col(Quote.status) == QuoteStatus.DRAFT)
            .values(
                discount_percent=discount_percent,
                discount_amount=discount_amount,
                notes=notes,
                net_total=totals.net_total,
                iva_total=totals.iva_total,
                total=totals.total,
                updated_at=utcnow(),
            )
        )
        if result.rowcount == 0:
            raise Conflict(f'quote {quote.number} is {quote.status}; only drafts can be edited')
        await session.exec(delete(QuoteLine).where(col(QuoteLine.quote_id) == quote_id))
        for row in rows:
            row.quote_id = quote_id
        session.add_all(rows)
        await session.commit()
    return await get_quote(db, viewer=viewer, quote_id=quote_id, zone=zone)


async def add_products(
    db: Database,
    *,
    viewer: Viewer | None,
    quote_id: int,
    items: Sequence[tuple[int, int]],
    zone: ZoneInfo = DEFAULT_ZONE,
) -> QuoteView:
    """Add (product id, quantity) to a draft; a product already on it gets the quantities added."""
    current = await get_quote(db, viewer=viewer, quote_id=quote_id, zone=zone)
    drafts = [draft_of(line) for line in current.lines]
    for product_id, quantity in items:
        for index, draft in enumerate(drafts):
            if draft.product_id == product_id:
                drafts[index] = LineDraft(**{**draft.__dict__, 'quantity': draft.quantity + quantity})
                break
        else:
            drafts.append(LineDraft(product_id=product_id, quantity=quantity))
    return await update_quote(
        db,
        viewer=viewer,
        quote_id=quote_id,
        lines=drafts,
        discount_percent=current.discount_percent,
        discount_amount=current.discount_amount,
        notes=current.notes,
        zone=zone,
    )


def draft_of(line: QuoteLineView) -> LineDraft:
    """A stored line as a draft again (for editing). Catalog lines keep following the catalog price."""
    return LineDraft(
        quantity=line.quantity,
        product_id=line.product_id,
        description=line.description,
        unit_price=None if line.product_id else line.unit_price,
        iva_rate=line.iva_rate,
        discount_percent=line.discount_percent,
        discount_amount=line.discount_amount,
    )


async def reject_quote(
    db: Database, *, viewer: Viewer | None, quote_id: int, zone: ZoneInfo = DEFAULT_ZONE
) -> QuoteView:
    """The customer said no (told the agent); a draft can be discarded the same way."""
    async with db.session() as session:
        quote = await _visible_quote(session, viewer, quote_id)
        result = await session.exec(
            update(Quote)
            .where(col(Quote.id) == quote_id, col(Quote.status).in_(OPEN_STATUSES))
            .values(
                status=QuoteStatus.REJECTED,
                decided_at=utcnow(),
                decided_by_id=viewer.user_id if viewer else None,
                decision_source='agent',
                updated_at=utcnow(),
            )
        )
        if result.rowcount == 0:
            raise Conflict(f'quote {quote.number} is already {quote.status}')
        audit.record(session, action='quote.rejected', actor=viewer, target_type='quote', target_id=quote_id)
        await session.commit()
    return await get_quote(db, viewer=viewer, quote_id=quote_id, zone=zone)


async def expire_due_quotes(db: Database, *, today: date | None = None, zone: ZoneInfo = DEFAULT_ZONE) -> int:
    """Write `expired` on open quotes whose valid-until date has passed; returns how many."""
    today = today or today_in(zone)
    async with db.session() as session:
        result = await session.exec(
            update(Quote)
            .where(col(Quote.status).in_(OPEN_STATUSES), col(Quote.valid_until) < today)
            .values(status=QuoteStatus.EXPIRED, decided_at=utcnow(), decision_source='expiry', updated_at=utcnow())
        )
        await session.commit()
        return int(result.rowcount or 0)


# --- queries ----------------------------------------------------------------------------------------------


async def _visible_quote(session: AsyncSession, viewer: Viewer | None, quote_id: int) -> Quote:
    quote = await session.get(Quote, quote_id)
    if quote is None or (viewer is not None and not viewer.can_see_branch(quote.branch_id)):
        # Same answer for absent and another branch's: existence does not leak across branches.
        raise NotFound(f'no quote {quote_id}')
    return quote


async def get_quote(
    db: Database, *, viewer: Viewer | None, quote_id: int, zone: ZoneInfo = DEFAULT_ZONE, today: date | None = None
) -> QuoteView:
    async with db.session() as session:
        quote = await _visible_quote(session, viewer, quote_id)
        return await load_view(session, quote, today=today or today_in(zone))


async def get_quote_by_code(
    db: Database, *, viewer: Viewer | None, code: str, zone: ZoneInfo = DEFAULT_ZONE
) -> QuoteView:
    """A quote by its printed number, e.g. `SUC1-000123`."""
    branch_code, number = parse_quote_code(code)
    async with db.session() as session:
        query = (
            select(Quote)
            .join(Branch, col(Branch.id) == col(Quote.branch_id))
            .where(Branch.code == branch_code, Quote.number == number)
        )
        if viewer is not None:
            query = query.where(branch_scope(Quote.branch_id, viewer))
        quote = (await session.exec(query)).first()
        if quote is None:
            raise NotFound(f'no quote {code.strip().upper()}')
        return await load_view(session, quote, today=today_in(zone))


async def load_view(session: AsyncSession, quote: Quote, *, today: date) -> QuoteView:
    branch = await session.get(Branch, quote.branch_id)
    assert branch is not None
    contact = await session.get(Contact, quote.contact_id) if quote.contact_id else None
    creator = await session.get(User, quote.created_by_id) if quote.created_by_id else None
    rows = list(
        (
            await session.exec(
                select(QuoteLine)
                .where(QuoteLine.quote_id == quote.id)
                .order_by(col(QuoteLine.position), col(QuoteLine.id))
            )
        ).all()
    )
    sale = (await session.exec(select(Sale).where(Sale.quote_id == quote.id))).first()
    totals = _totals_of(rows, quote.discount_percent, quote.discount_amount)
    lines = _line_views(rows, totals)
    return QuoteView(
        id=quote.id or 0,
        code=quote_code(branch.code, quote.number),
        number=quote.number,
        branch_id=branch.id or 0,
        branch_code=branch.code,
        branch_name=branch.name,
        branch_address=branch.address,
        branch_city=branch.city,
        conversation_id=quote.conversation_id,
        contact_id=quote.contact_id,
        contact_name=customer_name(quote, contact),
        status=effective_status(quote.status, quote.valid_until, today),
        valid_until=quote.valid_until,
        notes=quote.notes,
        discount_percent=quote.discount_percent,
        discount_amount=quote.discount_amount,
        lines=lines,
        totals=totals,
        created_at=quote.created_at,
        created_by_id=quote.created_by_id,
        created_by_name=creator.full_name if creator else '',
        drafted_by_ai=quote.drafted_by_ai,
        sent_at=quote.sent_at,
        sent_by_id=quote.sent_by_id,
        decided_at=quote.decided_at,
        decision_source=quote.decision_source,
        sale_id=sale.id if sale else None,
        ticket_code=ticket_code(branch.code, sale.ticket_number) if sale else None,
        default_iva_rate=branch.iva_default_rate,
    )


async def list_quotes(
    db: Database,
    *,
    viewer: Viewer,
    branch_id: int | None = None,
    conversation_id: int | None = None,
    statuses: Sequence[QuoteStatus] | None = None,
    limit: int = 200,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> list[QuoteSummary]:
    """Newest first, only the branches the viewer sees (narrowed to `branch_id` when given)."""
    today = today_in(zone)
    async with db.session() as session:
        query = (
            select(Quote, Branch, Contact)
            .join(Branch, col(Branch.id) == col(Quote.branch_id))
            .outerjoin(Contact, col(Contact.id) == col(Quote.contact_id))
            .where(branch_scope(Quote.branch_id, viewer, only=branch_id))
            .order_by(col(Quote.created_at).desc(), col(Quote.id).desc())
            .limit(limit)
        )
        if conversation_id is not None:
            query = query.where(Quote.conversation_id == conversation_id)
        rows = (await session.exec(query)).all()
    summaries = [
        QuoteSummary(
            id=quote.id or 0,
            code=quote_code(branch.code, quote.number),
            branch_id=branch.id or 0,
            branch_code=branch.code,
            contact_name=customer_name(quote, contact),
            status=effective_status(quote.status, quote.valid_until, today),
            total=quote.total,
            valid_until=quote.valid_until,
            created_at=quote.created_at,
            conversation_id=quote.conversation_id,
        )
        for quote, branch, contact in rows
    ]
    if statuses:
        wanted = set(statuses)
        summaries = [summary for summary in summaries if summary.status in wanted]
    return summaries
