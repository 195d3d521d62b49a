"""Takeover end to end (SPEC T1–T3, C2, C3): two agents of Casa Central and a customer in the simulator, in real
Chromium pages against the real server. Ana takes the conversation, the countdown runs, the customer writes and
the AI stays silent, Ana releases it back to the AI; Bruno's page shows every change live."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime

from playwright.async_api import Browser, Locator, Page, expect
from sqlmodel import col, select

from services.database import Database
from services.models import Contact, Conversation, Message, MessageStatus, SenderKind
from services.models.types import utcnow
from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer, customer_says, thread

COUNTDOWN = re.compile(r'Se libera en [45]:\d\d')


def panel(page: Page) -> Locator:
    """The right column (client panel)."""
    return page.locator('[class*="w-[350px]"]')


async def conversation_of(db: Database, phone: str) -> Conversation:
    async with db.session() as session:
        return (
            await session.exec(
                select(Conversation)
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(Contact.phone_e164 == phone)
                .execution_options(populate_existing=True)
            )
        ).one()


async def ai_messages_since(db: Database, conversation_id: int, moment: datetime) -> list[Message]:
    """AI messages queued after `moment` that were (or may still be) sent — cancelled ones never reach anyone."""
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message).where(
                        Message.conversation_id == conversation_id,
                        Message.sender_kind == SenderKind.AI,
                        col(Message.created_at) >= moment,
                        Message.status != MessageStatus.CANCELLED,
                    )
                )
            ).all()
        )


async def test_take_countdown_silent_ai_and_release_seen_live_by_a_colleague(
    running_app: RunningApp, browser: Browser
) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    e164 = f'+54911{digits}'
    _, ana = await agent(browser, running_app, 'ana')
    # Bruno's PC clock is 20 minutes fast: his countdowns still count from the server's clock.
    _, bruno = await agent(browser, running_app, 'bruno', clock_wrong_by_seconds=20 * 60)
    # Rows by the customer's name: the preview changes when the bot answers, whenever the machine lets it.
    customer_name = f'Ramiro {digits[-4:]}'
    phone = await customer(browser, running_app, f'+54 9 11 {digits[:4]} {digits[4:]}', name=customer_name)
    db = Database.from_url(running_app.env['LEADMASTER_DATABASE_URL'])
    try:
        await customer_says(phone, 'Hola, ¿tienen amortiguadores para Corsa?')
        for page in (ana, bruno):
            await page.locator('.q-item', has_text=customer_name).click()
            await expect(panel(page).get_by_role('button', name='Tomar')).to_be_visible()

        # Ana takes it: her panel, header and list show her and the countdown; so does Bruno's page, live.
        await panel(ana).get_by_role('button', name='Tomar').click()
        taken_at = utcnow()
        await expect(panel(ana).get_by_text(COUNTDOWN)).to_be_visible()
        await expect(ana.get_by_text('Atiende Ana Gómez')).to_be_visible()
        row = ana.locator('.q-item', has_text=customer_name)
        list_countdown = row.get_by_text(re.compile(r'^[45]:\d\d$'))
        await expect(list_countdown).to_be_visible()
        shown = await list_countdown.inner_text()
        await expect(list_countdown).not_to_have_text(shown, timeout=5_000)  # it counts down by itself, live
        header_countdown = ana.locator('.q-badge', has_text=COUNTDOWN)
        shown = await header_countdown.inner_text()
        await expect(header_countdown).not_to_have_text(shown, timeout=5_000)  # the header's too
        await expect(panel(bruno).locator('.q-badge', has_text='Ana Gómez')).to_be_visible()
        await expect(panel(bruno).get_by_text(COUNTDOWN)).to_be_visible()
        await expect(panel(bruno).get_by_role('button', name='Tomar')).to_be_hidden()
        await expect(panel(bruno).get_by_role('button', name='Liberar')).to_be_hidden()  # not his to release
        held = await conversation_of(db, e164)
        assert (held.mode, held.takeover_deadline is not None) == ('human', True)

        # The customer writes while Ana holds it: she sees it, and no AI reply goes out.
        ai_bubbles = await ana.locator('.bg-purple-50').count()
        await customer_says(phone, '¿Y cuánto salen los dos traseros?')
        await expect(thread(ana).get_by_text('¿Y cuánto salen los dos traseros?')).to_be_visible()
        await asyncio.sleep(3)  # longer than the assistant's reply delay: a reply would exist by now
        assert await ai_messages_since(db, held.id or 0, taken_at) == []
        assert await ana.locator('.bg-purple-50').count() == ai_bubbles

        # Ana answers it and gives the conversation back to the AI, which does not answer it again (a question
        # left unanswered would be: the bot is woken by the release).
        composer = ana.get_by_placeholder('Escribí una respuesta')
        await composer.fill('Los dos traseros salen $ 98.000')
        await composer.press('Enter')
        await expect(phone.get_by_text('Los dos traseros salen $ 98.000')).to_be_visible()

        # Ana releases it back to the AI; Bruno's page shows it at once.
        await panel(ana).get_by_role('button', name='Liberar').click()
        await expect(panel(ana).locator('.q-badge', has_text=re.compile(r'^IA$'))).to_be_visible()
        await expect(panel(bruno).locator('.q-badge', has_text=re.compile(r'^IA$'))).to_be_visible()
        await expect(panel(bruno).get_by_role('button', name='Tomar')).to_be_visible()
        await expect(panel(bruno).get_by_text('Ana Gómez la liberó')).to_be_visible()
        # No countdown left in the list: its timer icon is gone (the row's clock time, 11:49, is not a countdown).
        await expect(row.locator('i.q-icon', has_text='timer')).to_have_count(0)
        released = await conversation_of(db, e164)
        assert (released.mode, released.assigned_user_id, released.takeover_deadline) == ('ai', None, None)
        await asyncio.sleep(3)  # longer than the assistant's reply delay: a second answer would exist by now
        assert await ai_messages_since(db, held.id or 0, taken_at) == []
    finally:
        await db.dispose()
