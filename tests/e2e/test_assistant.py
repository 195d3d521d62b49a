"""The AI assistant end to end (SPEC A1, C4, S1): a customer in the simulator asks for brake pads for a 2015 Gol,
the bot answers through the outbox with products that exist in the catalog, with their prices, and the AI summary
in an agent's console shows the vehicle and those products live — real server, real Chromium."""

from __future__ import annotations

import secrets
from decimal import Decimal

from playwright.async_api import Browser, expect
from sqlmodel import col, select

from services.catalog.search import format_ars, products_by_skus, skus_in_text
from services.database import Database
from services.models import Message, SenderKind
from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer, customer_says
from tests.e2e.test_takeover import conversation_of, panel

AI_PATIENCE = 60_000  # ms: the bot waits like a person, then thinks, on a shared machine


async def ai_texts(db: Database, conversation_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message.text)
                    .where(Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI)
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def test_the_ai_offers_catalog_products_and_the_summary_shows_them_live(
    running_app: RunningApp, browser: Browser
) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    _, ana = await agent(browser, running_app, 'ana')
    customer_name = f'Nahuel {digits[-4:]}'  # rows by name: the preview changes when the bot answers
    phone = await customer(browser, running_app, f'+54 9 11 {digits[:4]} {digits[4:]}', name=customer_name)
    db = Database.from_url(running_app.env['LEADMASTER_DATABASE_URL'])
    try:
        await customer_says(phone, 'Hola, necesito pastillas de freno para un Gol Trend 2015')
        # Ana opens it (usually before the bot answers): what follows reaches her page live.
        await ana.locator('.q-item', has_text=customer_name).click()
        await expect(panel(ana).get_by_text('Resumen IA')).to_be_visible()

        # The bot's answer reaches the customer.
        await expect(phone.locator('.bg-white', has_text='SKU').first).to_be_visible(timeout=AI_PATIENCE)
        conversation = await conversation_of(db, f'+54911{digits}')
        [reply] = await ai_texts(db, conversation.id or 0)
        skus = skus_in_text(reply)
        assert skus, reply
        # Every product it names is in the catalog, at the catalog's price (IVA included) for this branch.
        products = await products_by_skus(db, skus=skus, branch_id=conversation.branch_id)
        assert sorted(products) == sorted(skus)
        for sku in skus:
            assert products[sku].title.lower().startswith('pastillas de freno'), products[sku].title
            price = products[sku].price_with_iva
            assert price is not None and format_ars(price) in reply
        await expect(phone.get_by_text(products[skus[0]].title, exact=False).first).to_be_visible()

        # The summary in Ana's console: the vehicle and the products offered, without reloading.
        await expect(panel(ana).get_by_text('VW Gol Trend 2015', exact=True).first).to_be_visible(timeout=AI_PATIENCE)
        for sku in skus:
            line = panel(ana).get_by_text(
                f'{products[sku].title} · {format_ars(products[sku].price_with_iva or Decimal(0))}', exact=False
            )
            await expect(line.first).to_be_visible(timeout=AI_PATIENCE)
        assert await ana.evaluate('window.location.pathname') == '/'
    finally:
        await db.dispose()
