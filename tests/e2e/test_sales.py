"""A sale end to end (SPEC S3, S4): in the console, an agent builds a quote from the catalog and sends it; the
simulator's customer gets the text and the PDF, answers "sí"; the sale and its ticket appear in the console at once
and the branch manager's report for today shows it — real server, real Chromium."""

from __future__ import annotations

import re
import secrets

from playwright.async_api import Browser, expect
from sqlmodel import select

from services.database import Database
from services.models import Quote, QuoteStatus, Sale
from services.sales.money import format_ars
from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer, customer_says
from tests.e2e.test_takeover import COUNTDOWN, conversation_of, panel

PATIENCE = 60_000  # ms: sending renders a PDF and goes through the outbox on a shared machine


async def test_quote_from_the_console_accepted_by_the_customer_shows_in_the_report(
    running_app: RunningApp, browser: Browser
) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    name = f'Ramiro Sosa {digits[-4:]}'
    _, ana = await agent(browser, running_app, 'ana')
    phone = await customer(browser, running_app, f'+54 9 11 {digits[:4]} {digits[4:]}')
    await phone.get_by_label('Tu nombre').fill(name)
    db = Database.from_url(running_app.env['LEADMASTER_DATABASE_URL'])
    try:
        await customer_says(phone, '¿Me pasan precio de pastillas de freno para Gol Trend 2015?')
        await ana.locator('.q-item', has_text=name).click()
        await panel(ana).get_by_role('button', name='Tomar').click()
        await expect(panel(ana).get_by_text(COUNTDOWN)).to_be_visible()

        # The catalog, searched from the console, fills a new quote.
        await panel(ana).get_by_text('Buscar en el catálogo').click()
        await panel(ana).get_by_label('Buscar repuesto, código o vehículo').fill('pastillas de freno gol trend 2015')
        add = panel(ana).locator('button', has_text='add_shopping_cart').first
        await expect(add).to_be_visible(timeout=PATIENCE)
        await add.click()
        title = panel(ana).get_by_text(re.compile(r'^Presupuesto SUC1-\d{6}$'))
        await expect(title).to_be_visible(timeout=PATIENCE)
        code = (await title.inner_text()).removeprefix('Presupuesto ')
        await expect(panel(ana).get_by_text(re.compile(r'^1\. Pastillas de freno'))).to_be_visible()

        await panel(ana).get_by_role('button', name='Enviar al cliente').click()
        await expect(ana.get_by_text('Presupuesto enviado por WhatsApp.')).to_be_visible(timeout=PATIENCE)

        # The customer gets the text and the PDF.
        await expect(phone.get_by_text(code, exact=False).first).to_be_visible(timeout=PATIENCE)
        pdf = phone.locator('.bg-white', has_text='📄 Documento').filter(has_text=f'Presupuesto {code}')
        await expect(pdf).to_be_visible(timeout=PATIENCE)

        await customer_says(phone, 'sí')

        # The sale and its ticket, live in Ana's console and on the customer's phone.
        sold = panel(ana).get_by_text(re.compile(r'^¡Venta cerrada! Ticket SUC1-T-\d{6}$'))
        await expect(sold).to_be_visible(timeout=PATIENCE)
        ticket = (await sold.inner_text()).rsplit(' ', 1)[-1]
        await expect(panel(ana).locator('.q-chip', has_text='Aceptado')).to_be_visible()
        await expect(phone.locator('.bg-white', has_text=f'Ticket {ticket}').first).to_be_visible(timeout=PATIENCE)
        conversation = await conversation_of(db, f'+54911{digits}')
        async with db.session() as session:
            quote = (await session.exec(select(Quote).where(Quote.conversation_id == conversation.id))).one()
            sale = (await session.exec(select(Sale).where(Sale.quote_id == quote.id))).one()
        assert quote.status == QuoteStatus.ACCEPTED and sale.agent_id == conversation.assigned_user_id

        # Marta, the branch manager, sees it in today's report.
        _, marta = await agent(browser, running_app, 'marta')
        await marta.goto(running_app.base_url + '/reportes')
        await expect(marta.get_by_text(format_ars(sale.total)).first).to_be_visible(timeout=PATIENCE)
        await expect(marta.locator('.q-table').get_by_text('Ana Gómez').first).to_be_visible()
    finally:
        await db.dispose()
