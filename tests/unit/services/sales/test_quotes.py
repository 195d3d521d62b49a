"""Quotes (S3): drafts from the catalog, numbering per branch (also under concurrency), editing, expiry and
branch isolation — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.access import Viewer
from services.database import Database
from services.errors import Conflict, InvalidInput, NotFound
from services.models import Quote, QuoteStatus
from services.sales import quotes
from services.sales.quotes import LineDraft
from services.sales.totals import LineInput, compute_totals
from tests.conftest import World

from .conftest import Catalog


async def test_an_agent_drafts_a_quote_from_catalog_products(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote = await quotes.create_quote(
        db,
        viewer=ana,
        conversation_id=chat,
        lines=[
            LineDraft(product_id=catalog.pads.id, quantity=2),
            LineDraft(product_id=catalog.filter.id, quantity=1, discount_percent=Decimal('10')),
        ],
        notes='Retira en mostrador',
    )

    assert quote.code == 'SUC1-000001'
    assert quote.status == QuoteStatus.DRAFT
    assert quote.contact_name == 'José Núñez'
    assert quote.valid_until == quotes.today_in() + timedelta(days=7)
    assert [(line.sku, line.description, line.unit_price, line.iva_rate) for line in quote.lines] == [
        ('FRE-1001', 'Pastillas de freno delanteras Bosch', Decimal('24350.00'), Decimal('21.00')),
        ('FIL-2002', 'Filtro de aceite Mann W712', Decimal('8999.99'), Decimal('10.50')),
    ]
    # 48700 + (8999.99 − 900.00) = 56799.99; IVA 10227.00 + 850.50 (8099.99 × 10.5 % = 850.49895)
    assert (quote.totals.net_total, quote.totals.iva_total, quote.totals.total) == (
        Decimal('56799.99'),
        Decimal('11077.50'),
        Decimal('67877.49'),
    )
    async with db.session() as session:
        stored = await session.get(Quote, quote.id)
    assert stored is not None and (stored.net_total, stored.iva_total, stored.total) == (
        Decimal('56799.99'),
        Decimal('11077.50'),
        Decimal('67877.49'),
    )


async def test_numbers_are_per_branch(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer, bruno: Viewer
) -> None:
    first = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    second = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    rosario = await quotes.create_quote(
        db, viewer=bruno, branch_id=world.rosario.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )

    assert [first.code, second.code, rosario.code] == ['SUC1-000001', 'SUC1-000002', 'SUC2-000001']


async def test_concurrent_quotes_never_share_a_number(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer
) -> None:
    made = await asyncio.gather(
        *(
            quotes.create_quote(
                db,
                viewer=ana,
                branch_id=world.central.id,
                lines=[LineDraft(product_id=catalog.pads.id, quantity=index + 1)],
            )
            for index in range(12)
        )
    )

    assert sorted(quote.number for quote in made) == list(range(1, 13))


async def test_a_line_without_a_product_needs_description_and_price(*, db: Database, world: World, ana: Viewer) -> None:
    with pytest.raises(InvalidInput, match='description and a price'):
        await quotes.create_quote(db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(quantity=1)])

    quote = await quotes.create_quote(
        db,
        viewer=ana,
        branch_id=world.central.id,
        lines=[LineDraft(description='Envío a domicilio', unit_price=Decimal('3500.00'))],
    )
    assert quote.totals.total == Decimal('4235.00')


async def test_unknown_product_and_bad_discount_store_nothing(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer
) -> None:
    with pytest.raises(NotFound, match='no active product'):
        await quotes.create_quote(db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=999_999)])
    with pytest.raises(InvalidInput, match='larger than the line'):
        await quotes.create_quote(
            db,
            viewer=ana,
            branch_id=world.central.id,
            lines=[LineDraft(product_id=catalog.filter.id, discount_amount=Decimal('9000.00'))],
        )

    async with db.session() as session:
        assert (await session.exec(select(Quote))).all() == []


async def test_drafts_can_be_edited_sent_quotes_cannot(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer
) -> None:
    quote = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )

    edited = await quotes.update_quote(
        db,
        viewer=ana,
        quote_id=quote.id,
        lines=[LineDraft(product_id=catalog.pads.id, quantity=4)],
        discount_amount=Decimal('350.00'),
        notes='Precio especial',
    )

    expected = compute_totals(
        [LineInput(quantity=4, unit_price=Decimal('24350.00'))], discount_amount=Decimal('350.00')
    )
    assert (edited.totals.total, edited.notes) == (expected.total, 'Precio especial')
    async with db.session() as session:
        await session.exec(update(Quote).where(col(Quote.id) == quote.id).values(status=QuoteStatus.SENT))
        await session.commit()
    with pytest.raises(Conflict, match='only drafts'):
        await quotes.update_quote(db, viewer=ana, quote_id=quote.id, lines=[LineDraft(product_id=catalog.pads.id)])
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote.id)).totals.total == expected.total


async def test_the_ai_drafts_from_its_summary_products_and_more_are_merged(
    *, db: Database, world: World, catalog: Catalog, chat: int, ana: Viewer
) -> None:
    draft = await quotes.create_quote(
        db,
        viewer=None,
        conversation_id=chat,
        drafted_by_ai=True,
        lines=[LineDraft(product_id=catalog.pads.id, quantity=1)],
    )

    merged = await quotes.add_products(
        db, viewer=ana, quote_id=draft.id, items=[(catalog.pads.id or 0, 1), (catalog.filter.id or 0, 2)]
    )

    assert draft.drafted_by_ai and draft.created_by_id is None
    assert [(line.sku, line.quantity) for line in merged.lines] == [('FRE-1001', 2), ('FIL-2002', 2)]


async def test_other_branches_quotes_are_invisible(
    *, db: Database, world: World, catalog: Catalog, chat: int, ana: Viewer, bruno: Viewer, marta: Viewer, jorge: Viewer
) -> None:
    central = await quotes.create_quote(
        db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    await quotes.create_quote(
        db, viewer=bruno, branch_id=world.rosario.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )

    with pytest.raises(NotFound):
        await quotes.get_quote(db, viewer=bruno, quote_id=central.id)
    with pytest.raises(NotFound):
        await quotes.get_quote_by_code(db, viewer=bruno, code='SUC1-000001')
    with pytest.raises(NotFound):
        await quotes.update_quote(db, viewer=bruno, quote_id=central.id, lines=[])
    with pytest.raises(NotFound):
        await quotes.reject_quote(db, viewer=bruno, quote_id=central.id)
    with pytest.raises(NotFound):  # a Rosario agent cannot quote into Casa Central's conversation either
        await quotes.create_quote(db, viewer=bruno, conversation_id=chat, lines=[])
    assert [q.code for q in await quotes.list_quotes(db, viewer=bruno)] == ['SUC2-000001']
    assert [q.code for q in await quotes.list_quotes(db, viewer=marta)] == ['SUC1-000001']
    assert sorted(q.code for q in await quotes.list_quotes(db, viewer=jorge)) == ['SUC1-000001', 'SUC2-000001']
    assert [q.code for q in await quotes.list_quotes(db, viewer=jorge, branch_id=world.rosario.id)] == ['SUC2-000001']
    assert (await quotes.get_quote_by_code(db, viewer=marta, code='suc1-1')).id == central.id


async def test_a_sent_quote_past_its_date_is_expired(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer
) -> None:
    quote = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    async with db.session() as session:
        await session.exec(
            update(Quote)
            .where(col(Quote.id) == quote.id)
            .values(status=QuoteStatus.SENT, valid_until=quotes.today_in() - timedelta(days=1))
        )
        await session.commit()

    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote.id)).status == QuoteStatus.EXPIRED
    assert await quotes.expire_due_quotes(db) == 1
    assert await quotes.expire_due_quotes(db) == 0
    async with db.session() as session:
        stored = await session.get(Quote, quote.id)
    assert stored is not None and stored.status == QuoteStatus.EXPIRED


async def test_rejecting_is_final(*, db: Database, world: World, catalog: Catalog, ana: Viewer) -> None:
    quote = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )

    rejected = await quotes.reject_quote(db, viewer=ana, quote_id=quote.id)

    assert rejected.status == QuoteStatus.REJECTED
    with pytest.raises(Conflict, match='already rejected'):
        await quotes.reject_quote(db, viewer=ana, quote_id=quote.id)
