"""The quote pages through NiceGUI's simulated browser (`user` fixture), on SQLite and PostgreSQL: an agent
edits, sends and closes a quote; other branches see nothing."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from typing import cast

import pytest
from nicegui import ui
from nicegui.testing import User
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import col, select

from services.database import Database
from services.models import Message, Product, ProductStock, Quote, QuoteLine, QuoteStatus, Sale
from services.sales import quotes
from services.sales.quotes import LineDraft
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in, table_rows
from tests.unit.app.pages.waiting import eventually

# Sending renders a PDF and writes several rows: on a busy machine that takes longer than should_see's default.
SLOW = 100


@pytest.fixture
async def shop(db: Database, world: World) -> dict[str, int]:
    async with db.session() as session:
        pads = Product(
            sku='FRE-1001',
            title='Pastillas de freno delanteras Bosch',
            category='Frenos',
            brand='Bosch',
            price=Decimal('24350.00'),
        )
        oil_filter = Product(
            sku='FIL-2002',
            title='Filtro de aceite Mann W712',
            category='Filtros',
            brand='Mann',
            price=Decimal('8999.99'),
            iva_rate=Decimal('10.50'),
        )
        session.add_all([pads, oil_filter])
        await session.flush()
        session.add_all(
            [
                ProductStock(product_id=pads.id or 0, branch_id=world.central.id or 0, quantity=12),
                ProductStock(product_id=oil_filter.id or 0, branch_id=world.central.id or 0, quantity=5),
            ]
        )
        await session.commit()
    chat = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550101',
        text='¿Tienen pastillas?',
        wa_message_id='wamid.page-1',
        name='José Núñez',
    )
    quote = await quotes.create_quote(
        db, viewer=None, conversation_id=chat, drafted_by_ai=True, lines=[LineDraft(product_id=pads.id, quantity=1)]
    )
    return {'pads': pads.id or 0, 'filter': oil_filter.id or 0, 'chat': chat, 'quote': quote.id}


def number_input(user: User, marker: str) -> ui.number:
    return cast(ui.number, next(iter(user.find(marker=marker).elements)))


async def test_an_agent_edits_the_ai_draft_and_sees_totals_live(
    user: User, world: World, db: Database, shop: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open(f'/presupuestos/{shop["quote"]}')

    await user.should_see('Presupuesto SUC1-000001')
    await user.should_see('Borrador de la IA: revisalo antes de enviar')
    await user.should_see('$ 29.463,50')  # 24350 + 21 %
    number_input(user, 'quantity-1').value = 2
    await user.should_see('$ 58.927,00')
    user.find(marker='add-reference').type('fil-2002')
    user.find(marker='add-product').click()
    await user.should_see('Filtro de aceite Mann W712', retries=SLOW)
    await user.should_see('$ 68.871,99')  # + 8999.99 + 10.5 %
    await user.should_see('stock 5', retries=SLOW)  # asked in the background
    user.find(marker='save-quote').click()

    async def stored_lines() -> list[tuple[str, int]]:
        async with db.session() as session:
            query = (
                select(QuoteLine.sku, QuoteLine.quantity)
                .where(QuoteLine.quote_id == shop['quote'])
                .order_by(col(QuoteLine.position))
            )
            return [(sku, quantity) for sku, quantity in (await session.exec(query)).all()]

    async def saved() -> bool:  # what stays of "Presupuesto guardado.": the quote's lines in the database
        return len(await stored_lines()) == 2

    await eventually(saved)
    lines = await stored_lines()
    async with db.session() as session:
        stored = await session.get(Quote, shop['quote'])
    assert lines == [('FRE-1001', 2), ('FIL-2002', 1)]
    assert stored is not None and stored.total == Decimal('68871.99')


async def test_a_discount_larger_than_the_line_is_shown_as_an_error(
    user: User, world: World, shop: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.open(f'/presupuestos/{shop["quote"]}')
    await user.should_see('$ 29.463,50')

    number_input(user, 'discount-amount-1').value = 30000

    await user.should_see('larger than the line')


async def test_sending_then_closing_the_sale(user: User, world: World, db: Database, shop: dict[str, int]) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.open(f'/presupuestos/{shop["quote"]}')
    await user.should_see('Presupuesto SUC1-000001')

    user.find(marker='send-quote').click()
    await user.should_see(content='Enviado', marker='quote-status', retries=SLOW)  # stays, unlike the toast
    user.find(marker='accept-quote').click()
    user.find(marker='confirm-accept').click()
    await user.should_see('Vendido · ticket SUC1-T-000001', retries=SLOW)

    async with db.session() as session:
        kinds = (
            await session.exec(
                select(Message.type)
                .where(Message.conversation_id == shop['chat'], Message.direction == 'out')
                .order_by(col(Message.id))
            )
        ).all()
        sale = (await session.exec(select(Sale))).one()
        stock = (
            await session.exec(
                select(ProductStock.quantity).where(
                    ProductStock.product_id == shop['pads'], ProductStock.branch_id == world.central.id
                )
            )
        ).one()
    assert kinds == ['text', 'document', 'text', 'document']
    assert (sale.agent_id, sale.total, stock) == (world.ana.id, Decimal('29463.50'), 11)


async def test_the_pdf_button_downloads_the_quote(user: User, world: World, shop: dict[str, int]) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.open(f'/presupuestos/{shop["quote"]}')
    await user.should_see('Presupuesto SUC1-000001')

    download = asyncio.create_task(user.download.next(timeout=10))
    await asyncio.sleep(0)
    user.find(marker='quote-pdf').click()
    response = await download

    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert 'Presupuesto N° SUC1-000001' in text and 'TOTAL $ 29.463,50' in text


async def test_another_branch_sees_neither_the_quote_nor_its_row(
    user: User, world: World, shop: dict[str, int]
) -> None:
    await sign_in(user, 'bruno', world.password)
    await user.should_see('Bruno Fernández')

    await user.open(f'/presupuestos/{shop["quote"]}')
    await user.should_see('Ese presupuesto no existe o es de otra sucursal.')
    await user.should_not_see('Pastillas de freno delanteras Bosch')

    await user.open('/presupuestos')
    await user.should_see(marker='quotes-table')
    assert table_rows(user, 'quotes-table') == []


async def test_the_list_shows_the_branch_quotes_and_my_commissions(
    user: User, world: World, shop: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open('/presupuestos')

    await user.should_see('Mis comisiones de este mes')
    [row] = table_rows(user, 'quotes-table')
    assert (row['code'], row['customer'], row['status'], row['total']) == (
        'SUC1-000001',
        'José Núñez',
        'Borrador',
        '$ 29.463,50',
    )


async def test_a_new_quote_from_a_conversation_and_products(
    user: User, world: World, db: Database, shop: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open(f'/presupuestos/nuevo?conversacion={shop["chat"]}&productos={shop["pads"]}x2,{shop["filter"]}')

    # On screen only: opening "new quote" takes no number and writes nothing (issue 18).
    await user.should_see('Presupuesto nuevo', retries=SLOW)
    await user.should_see('$ 68.871,99')
    async with db.session() as session:
        assert (await session.exec(select(Quote).where(Quote.number == 2))).first() is None

    user.find(marker='save-quote').click()

    await user.should_see('Presupuesto SUC1-000002', retries=SLOW)
    async with db.session() as session:
        quote = (await session.exec(select(Quote).where(Quote.number == 2))).one()
    assert (quote.created_by_id, quote.status, quote.conversation_id) == (world.ana.id, QuoteStatus.DRAFT, shop['chat'])
    assert quote.total == Decimal('68871.99')


async def test_leaving_a_new_quote_unsaved_leaves_no_gap_in_the_numbers(
    user: User, world: World, db: Database, shop: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open('/presupuestos/nuevo')
    await user.should_see('Presupuesto nuevo', retries=SLOW)
    await user.open('/presupuestos/nuevo')
    await user.should_see('Presupuesto nuevo', retries=SLOW)
    user.find(marker='save-quote').click()

    await user.should_see('Presupuesto SUC1-000002', retries=SLOW)  # SUC1-000001 is the fixture's; no gap
    async with db.session() as session:
        numbers = sorted((await session.exec(select(Quote.number))).all())
    assert numbers == [1, 2]


async def test_stock_of_a_sent_quote_is_answered_not_left_checking(
    user: User, world: World, db: Database, shop: dict[str, int]
) -> None:
    async with db.session() as session:
        await session.exec(update(Quote).where(col(Quote.number) == 1).values(status=QuoteStatus.SENT))
        await session.commit()
        quote_id = (await session.exec(select(Quote.id).where(Quote.number == 1))).one()
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open(f'/presupuestos/{quote_id}')

    await user.should_see('Presupuesto SUC1-000001', retries=SLOW)
    await user.should_see(marker='stock-1', content='12', retries=SLOW)
    await user.should_not_see('consultando', retries=SLOW)
