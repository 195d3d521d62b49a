"""Closing sales (S4): acceptance creates one sale with its ticket, stock and commission, however often it is
asked for — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from services.access import Viewer
from services.database import Database
from services.errors import Conflict, NotFound
from services.models import Branch, Conversation, Message, ProductStock, Quote, QuoteStatus, Sale, User
from services.models.types import utcnow
from services.sales import quotes
from services.sales.closing import CUSTOMER_TEXT, QuoteExpired, accept_quote
from services.sales.desk import QUOTE_UPDATED, SalesDesk
from services.sales.quotes import LineDraft
from services.sales.sending import send_quote
from tests.conftest import World

from .conftest import Catalog, Recorder


async def sent_quote(desk: SalesDesk, viewer: Viewer | None, chat: int, catalog: Catalog) -> int:
    """2 pads + 1 filter: net 57699.99, total 68871.99 (see test_sending)."""
    quote = await quotes.create_quote(
        desk.db,
        viewer=viewer,
        conversation_id=chat,
        drafted_by_ai=viewer is None,
        lines=[LineDraft(product_id=catalog.pads.id, quantity=2), LineDraft(product_id=catalog.filter.id)],
    )
    if viewer is not None:
        await send_quote(desk, viewer=viewer, quote_id=quote.id)
    else:
        async with desk.db.session() as session:  # the AI sent it where the branch allows it
            await session.exec(
                update(Quote).where(col(Quote.id) == quote.id).values(status=QuoteStatus.SENT, sent_at=utcnow())
            )
            await session.commit()
    return quote.id


async def stock(db: Database, branch_id: int, product_id: int) -> int | None:
    async with db.session() as session:
        return (
            await session.exec(
                select(ProductStock.quantity).where(
                    ProductStock.branch_id == branch_id, ProductStock.product_id == product_id
                )
            )
        ).first()


async def outbound_types(db: Database, chat: int) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message.type)
                    .where(Message.conversation_id == chat, Message.direction == 'out')
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def sales_count(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Sale))).one()


async def test_an_agent_accepts_by_hand(
    *, db: Database, world: World, desk: SalesDesk, recorder: Recorder, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)
    async with db.session() as session:
        await session.exec(
            update(Branch).where(col(Branch.id) == world.central.id).values(commission_rate=Decimal('2.50'))
        )
        await session.commit()

    result = await accept_quote(desk, quote_id=quote_id, viewer=ana)

    sale = result.sale
    assert result.created and result.ticket_sent, result.ticket_note
    [event] = [event for event in recorder.events if event.kind == QUOTE_UPDATED and event.data['status'] == 'accepted']
    assert (event.conversation_id, event.data['ticket']) == (chat, 'SUC1-T-000001')
    assert (sale.ticket_code, sale.agent_name, sale.contact_name) == ('SUC1-T-000001', 'Ana Gómez', 'José Núñez')
    assert (sale.net_total, sale.iva_total, sale.total) == (
        Decimal('57699.99'),
        Decimal('11172.00'),
        Decimal('68871.99'),
    )
    # the branch's 2.5 % of the net: 1442.49975 → 1442.50
    assert (sale.commission_rate, sale.commission_amount) == (Decimal('2.50'), Decimal('1442.50'))
    assert await stock(db, world.central.id or 0, catalog.pads.id or 0) == 10
    assert await stock(db, world.central.id or 0, catalog.filter.id or 0) == 4
    assert await stock(db, world.rosario.id or 0, catalog.pads.id or 0) == 3  # other branches untouched
    quote = await quotes.get_quote(db, viewer=ana, quote_id=quote_id)
    assert quote.status == QuoteStatus.ACCEPTED and quote.ticket_code == 'SUC1-T-000001'
    assert quote.decision_source == 'agent'
    # quote text + PDF, then ticket text + PDF
    assert await outbound_types(db, chat) == ['text', 'document', 'text', 'document']


async def test_the_agents_own_rate_wins_over_the_branch_rate(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    async with db.session() as session:
        await session.exec(
            update(Branch).where(col(Branch.id) == world.central.id).values(commission_rate=Decimal('2.50'))
        )
        await session.exec(update(User).where(col(User.id) == world.ana.id).values(commission_rate=Decimal('4.00')))
        await session.commit()
    quote_id = await sent_quote(desk, ana, chat, catalog)

    # The customer's "sí": the sale goes to the agent who sent the quote.
    result = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)

    assert result.sale.agent_id == world.ana.id
    assert (result.sale.commission_rate, result.sale.commission_amount) == (Decimal('4.00'), Decimal('2308.00'))


async def test_accepting_twice_makes_one_sale_and_one_ticket(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    first = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)
    second = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)
    by_hand = await accept_quote(desk, quote_id=quote_id, viewer=ana)

    assert first.created and not second.created and not by_hand.created
    assert first.sale.id == second.sale.id == by_hand.sale.id
    assert await sales_count(db) == 1
    assert (await outbound_types(db, chat)).count('document') == 2  # the quote's PDF and one ticket


async def test_concurrent_acceptances_race_to_one_sale(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    results = await asyncio.gather(
        *(accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT) for _ in range(5))
    )

    assert sum(result.created for result in results) == 1
    assert len({result.sale.id for result in results}) == 1
    assert await sales_count(db) == 1
    assert await stock(db, world.central.id or 0, catalog.pads.id or 0) == 10  # decremented once


async def test_expired_rejected_and_draft_quotes_are_not_accepted_by_the_customer(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    expired = await sent_quote(desk, ana, chat, catalog)
    async with db.session() as session:
        await session.exec(
            update(Quote).where(col(Quote.id) == expired).values(valid_until=quotes.today_in() - timedelta(days=1))
        )
        await session.commit()
    with pytest.raises(QuoteExpired):
        await accept_quote(desk, quote_id=expired, viewer=None, source=CUSTOMER_TEXT)

    rejected = await sent_quote(desk, ana, chat, catalog)
    await quotes.reject_quote(desk.db, viewer=ana, quote_id=rejected)
    with pytest.raises(Conflict, match='rejected'):
        await accept_quote(desk, quote_id=rejected, viewer=ana)

    draft = (
        await quotes.create_quote(db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)])
    ).id
    with pytest.raises(Conflict, match='draft'):
        await accept_quote(desk, quote_id=draft, viewer=None, source=CUSTOMER_TEXT)
    assert await sales_count(db) == 0
    # …but an agent may close a draft the customer agreed to by phone.
    assert (await accept_quote(desk, quote_id=draft, viewer=ana)).created


async def test_another_branch_cannot_accept(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, bruno: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    with pytest.raises(NotFound):
        await accept_quote(desk, quote_id=quote_id, viewer=bruno)

    assert await sales_count(db) == 0
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote_id)).status == QuoteStatus.SENT


async def test_an_ai_sale_nobody_touched_has_no_agent_and_no_commission(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, chat: int
) -> None:
    async with db.session() as session:
        await session.exec(
            update(Branch).where(col(Branch.id) == world.central.id).values(commission_rate=Decimal('2.50'))
        )
        await session.commit()
    quote_id = await sent_quote(desk, None, chat, catalog)

    result = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)

    assert result.sale.agent_id is None and result.sale.commission_amount == Decimal('0.00')


async def test_the_conversations_agent_gets_an_ai_quote_they_hold(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, chat: int
) -> None:
    quote_id = await sent_quote(desk, None, chat, catalog)
    async with db.session() as session:
        await session.exec(
            update(Conversation).where(col(Conversation.id) == chat).values(assigned_user_id=world.ana.id)
        )
        await session.commit()

    result = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)

    assert result.sale.agent_name == 'Ana Gómez'


async def test_stock_can_go_below_zero_and_a_missing_row_is_created(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote = await quotes.create_quote(
        db,
        viewer=ana,
        conversation_id=chat,
        lines=[
            LineDraft(product_id=catalog.battery.id, quantity=2),
            LineDraft(product_id=catalog.filter.id, quantity=7),
        ],
    )

    await accept_quote(desk, quote_id=quote.id, viewer=ana)

    assert await stock(db, world.central.id or 0, catalog.battery.id or 0) == -2
    assert await stock(db, world.central.id or 0, catalog.filter.id or 0) == -2


async def test_a_ticket_that_cannot_go_out_does_not_undo_the_sale(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == chat)
            .values(last_inbound_at=utcnow() - timedelta(days=3))
        )
        await session.commit()

    result = await accept_quote(desk, quote_id=quote_id, viewer=ana)

    assert result.created and not result.ticket_sent
    assert 'venta_confirmada' in result.ticket_note
    assert await sales_count(db) == 1
