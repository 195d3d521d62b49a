"""The embedded simulator (M5) in NiceGUI's simulated browser: a customer writes through the signed
webhook, the app stores it, and a reply sent through the outbox and the fake Graph API reaches the phone."""

from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from app.runtime import runtime
from services.database import Database
from services.models import Contact, Media, Message, MessageStatus, SimulatorMessage
from services.whatsapp import outbox
from tests.conftest import World


async def open_simulator(user: User, *, phone: str = '+54 9 11 3333-4444') -> None:
    await user.open('/simulador')
    await user.should_see(marker='simulator-chat')
    user.find(marker='simulator-phone').clear().type(phone).trigger('blur')


async def customer_writes(user: User, text: str) -> None:
    user.find(marker='simulator-composer').type(text).trigger('keydown.enter')
    await user.should_see(marker='bubble-text', content=text)
    await user.should_see(marker='ticks', content='✓✓')  # the app acknowledged the webhook


async def test_customer_message_goes_through_the_webhook_and_is_stored(user: User, world: World, db: Database) -> None:
    await open_simulator(user)

    await customer_writes(user, 'Hola, ¿tienen pastillas para Gol Trend?')
    await runtime().ingest.drain()

    async with db.session() as session:
        stored = (await session.exec(select(Message))).one()
        contact = (await session.exec(select(Contact))).one()
    assert stored.text == 'Hola, ¿tienen pastillas para Gol Trend?'
    assert (contact.phone_e164, contact.profile_name) == ('+5491133334444', 'Cliente Demo')


async def test_reply_through_outbox_and_fake_graph_reaches_the_phone_with_ticks(
    user: User, world: World, db: Database
) -> None:
    await open_simulator(user)
    await customer_writes(user, '¿Precio del filtro?')
    await runtime().ingest.drain()
    async with db.session() as session:
        conversation_id = (await session.exec(select(Message.conversation_id))).one()

    reply = await outbox.queue_text(
        runtime().db, conversation_id=conversation_id, text='$ 12.500 con IVA', publisher=runtime().bus
    )
    await runtime().outbox.drain()

    await user.should_see(marker='bubble-text', content='$ 12.500 con IVA')
    async with db.session() as session:
        sent = await session.get(Message, reply.id)
        phone_side = (await session.exec(select(SimulatorMessage).where(SimulatorMessage.from_customer == False))).one()  # noqa: E712
    assert sent is not None and sent.status == MessageStatus.SENT and sent.wa_message_id == phone_side.wa_message_id


async def test_the_sample_vin_photo_is_sent_as_an_image_and_downloaded_by_the_app(
    user: User, world: World, db: Database
) -> None:
    await open_simulator(user)

    user.find(marker='simulator-sample-vin').click()
    await user.should_see('📷 Foto')
    await user.should_see(marker='ticks', content='✓✓')
    await runtime().ingest.drain()
    await runtime().media_worker.drain()

    async with db.session() as session:
        message = (await session.exec(select(Message))).one()
        media = await session.get(Media, message.media_id)
    assert message.type == 'image'
    assert media is not None and media.status == 'stored' and media.size_bytes and media.size_bytes > 100_000
    assert media.thumbnail_path is not None
    assert runtime().media.path_of(media.storage_path or '').read_bytes()[:2] == b'\xff\xd8'  # a JPEG


async def test_an_invalid_phone_is_refused(user: User, world: World) -> None:
    await open_simulator(user, phone='12')

    await user.should_see('Ese teléfono no es válido.')
