"""The simulator's phone as a customer meets it (issue 18), in NiceGUI's simulated browser on SQLite and
PostgreSQL: the quote PDF the business sends opens, WhatsApp's formatting shows as styles (never HTML), and a
photo sent right after typing another phone goes to that phone's conversation."""

from __future__ import annotations

from typing import cast

from nicegui.elements.mixins.text_element import TextElement
from nicegui.testing import User
from sqlmodel import col, select

from app.runtime import runtime
from services.database import Database
from services.models import Contact, Conversation, Message
from services.whatsapp import outbox
from tests.conftest import World
from tests.unit.app.pages.test_simulator import customer_writes, open_simulator

PATIENCE = 100


async def conversation_of(db: Database, phone: str) -> int:
    async with db.session() as session:
        found = (
            await session.exec(
                select(Conversation.id)
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(Contact.phone_e164 == phone)
            )
        ).one()
    assert found is not None
    return found


async def test_the_quote_pdf_the_business_sends_opens_on_the_phone(user: User, world: World, db: Database) -> None:
    await open_simulator(user)
    await customer_writes(user, '¿Me pasás el presupuesto?')
    await runtime().ingest.drain()
    pdf = b'%PDF-1.4\n% presupuesto de prueba\n%%EOF\n'

    await outbox.queue_media(
        runtime().db,
        conversation_id=await conversation_of(db, '+5491133334444'),
        store=runtime().media,
        content=pdf,
        mime_type='application/pdf',
        filename='Presupuesto-SUC1-000001.pdf',
        caption='Presupuesto SUC1-000001',
        publisher=runtime().bus,
    )
    await runtime().outbox.drain()

    await user.should_see(marker='bubble-file', content='Presupuesto-SUC1-000001.pdf', retries=PATIENCE)
    [link] = user.find(marker='bubble-file').elements
    response = await user.http_client.get(link.props['href'])
    assert response.status_code == 200
    assert (response.content, response.headers['content-type']) == (pdf, 'application/pdf')
    assert response.headers['content-disposition'].startswith('attachment;')
    assert (await user.http_client.get('/simulador/archivo/999999')).status_code == 404


async def test_whatsapp_formatting_shows_as_styles_on_the_phone_and_markup_stays_text(
    user: User, world: World, db: Database
) -> None:
    await open_simulator(user)
    await customer_writes(user, 'Hola')
    await runtime().ingest.drain()

    await outbox.queue_text(
        runtime().db,
        conversation_id=await conversation_of(db, '+5491133334444'),
        text='*Total: $ 68.871,99* _con IVA_ <b>no</b> <script>alert(1)</script>',
        publisher=runtime().bus,
    )
    await runtime().outbox.drain()

    await user.should_see(marker='wa-bold', retries=PATIENCE)
    texts = {
        marker: [cast(TextElement, e).text for e in user.find(marker=marker).elements]
        for marker in ('wa-bold', 'wa-italic')
    }
    assert texts == {'wa-bold': ['Total: $ 68.871,99'], 'wa-italic': ['con IVA']}
    [reply] = [
        element
        for element in user.find(marker='bubble-text').elements
        if any('wa-bold' in child._markers for child in element.descendants())
    ]
    assert ''.join(cast(TextElement, child).text for child in reply.descendants()) == (
        'Total: $ 68.871,99 con IVA <b>no</b> <script>alert(1)</script>'
    )


async def test_a_photo_right_after_changing_the_phone_goes_to_the_new_phone(
    user: User, world: World, db: Database
) -> None:
    await open_simulator(user, phone='+54 9 11 3333-4444')
    await customer_writes(user, 'Soy el primero')

    # Another phone typed, and the sample photo sent at once: no blur, no time for the chat to switch first.
    user.find(marker='simulator-phone').clear().type('+54 9 11 5555-6666')
    user.find(marker='simulator-sample-vin').click()

    await user.should_see('📷 Foto', retries=PATIENCE)
    await runtime().ingest.drain()
    async with db.session() as session:
        photo = (await session.exec(select(Message).where(Message.type == 'image'))).one()
    assert photo.conversation_id == await conversation_of(db, '+5491155556666')
    await user.should_not_see('Soy el primero', retries=PATIENCE)  # the phone shows the new customer's chat
