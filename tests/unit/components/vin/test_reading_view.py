"""The reading under an image in the chat, in NiceGUI's simulated browser: shown as text, corrected by hand."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from components.vin import VinReadingView
from services.access import Viewer
from services.database import Database
from services.events import NullPublisher
from services.models import Contact, Conversation, Direction, Message, Role, SenderKind
from services.vin.decoding import decode_vehicle
from services.vin.readings import VinReadingPublic, correct_vin
from services.vin.validation import VinStatus
from tests.conftest import World


async def photo_message(db: Database, world: World) -> int:
    async with db.session() as session:
        contact = Contact(phone_e164='+5491133334444', wa_id='5491133334444')
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            contact_id=contact.id or 0, number_id=world.central_number.id or 0, branch_id=world.central.id or 0
        )
        session.add(conversation)
        await session.flush()
        message = Message(
            conversation_id=conversation.id or 0,
            direction=Direction.INBOUND,
            sender_kind=SenderKind.CUSTOMER,
            type='image',
        )
        session.add(message)
        await session.commit()
        return message.id or 0


def machine_reading(message_id: int) -> VinReadingPublic:
    return VinReadingPublic(
        message_id=message_id,
        conversation_id=1,
        branch_id=1,
        state='done',
        vin='9BWAB45U5FP012345',
        status=VinStatus.UNVERIFIED,
        source='ocr',
        confidence=0.75,
        vehicle=decode_vehicle('9BWAB45U5FP012345'),
        candidates=['9BWAB45U5FP012845'],
        part_codes=[],
        machine_vin='9BWAB45U5FP012345',
        corrected_by_user_id=None,
        corrected_at=None,
        error='',
    )


async def test_a_reading_is_shown_and_an_agent_corrects_it(user: User, db: Database, world: World) -> None:
    message_id = await photo_message(db, world)
    ana = Viewer(
        user_id=world.ana.id,
        username='ana',
        full_name='Ana Gómez',
        role=Role.AGENT,
        branch_id=world.central.id,
        branch_ids=frozenset({world.central.id or 0}),
    )

    @ui.page('/test-vin-reading')
    def page() -> None:
        VinReadingView(
            machine_reading(message_id),
            on_correct=lambda text: correct_vin(
                db, viewer=ana, message_id=message_id, vin_text=text, publisher=NullPublisher()
            ),
        )

    await user.open('/test-vin-reading')
    await user.should_see('9BWAB45U5FP012345')
    await user.should_see('VIN sin verificar')
    await user.should_see('Volkswagen Gol / Voyage / Saveiro 2015')
    await user.should_see('Sin dígito de control: confirmalo con el cliente.')

    user.find('Corregir VIN').click()
    await user.should_see(kind=ui.input)
    user.find(ui.input).clear().type('1HGCM82633A004353')  # one digit off: the check digit refuses it
    user.find('Guardar').click()
    await user.should_see(
        'Ese VIN no es válido: revisá que tenga 17 caracteres (sin I, O ni Q) y su dígito de control.'
    )

    user.find(ui.input).clear().type('1hgcm82633a004352')
    user.find('Guardar').click()
    await user.should_see('VIN cargado a mano')
    await user.should_see('1HGCM82633A004352')
    await user.should_see('Honda 2003')


async def test_a_photo_still_being_read_says_so(user: User) -> None:
    @ui.page('/test-vin-pending')
    def page() -> None:
        VinReadingView(None)

    await user.open('/test-vin-pending')
    await user.should_see('Leyendo el VIN…')
