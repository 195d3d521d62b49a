"""/contactos and /contactos/{id} in NiceGUI's simulated browser (M7, SPEC L1/L3): a manager sees her branch's
prospects and filters them by band, validation, opt-out and label; opens one and reads the score's reasons and
its history; imports a list with the upload (preview, mapping, progress, invalid rows); merges a duplicate."""

from __future__ import annotations

from typing import cast

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlmodel import select

from services.database import Database
from services.leads import rescore
from services.models import Contact
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.leads.test_contacts import prospect


def text_of(user: User, marker: str) -> str:
    return ' '.join(cast(TextElement, element).text for element in user.find(marker=marker).elements)


def table_names(user: User) -> list[str]:
    table = cast(ui.table, user.find(marker='contacts-table').elements.pop())
    return [row['name'] for row in table.rows]


def choose(user: User, marker: str, value: str) -> None:
    cast(ui.select, user.find(marker=marker).elements.pop()).set_value(value)


async def shows(user: User, names: list[str]) -> None:
    async def listed() -> bool:
        return table_names(user) == names

    await eventually(listed)


async def test_a_manager_filters_her_branchs_prospects(user: User, world: World, db: Database) -> None:
    await prospect(db, phone='+5491155550001', name='Alta', score=90, branch_id=world.central.id, labels=('flota',))
    await prospect(db, phone='+5491155550002', name='Media', score=60, branch_id=world.central.id, validated=True)
    await prospect(db, phone='+5491155550003', name='De baja', score=0, branch_id=world.central.id, opted_out=True)
    await prospect(db, phone='+5493415550004', name='De Rosario', score=95, branch_id=world.rosario.id)
    await sign_in(user, 'marta', world.password)
    await user.open('/contactos')
    await shows(user, ['Alta', 'Media', 'De baja'])
    assert '3 de 3 contactos' in text_of(user, 'contacts-count')

    choose(user, 'contacts-band', 'high')
    await shows(user, ['Alta'])
    choose(user, 'contacts-band', '')
    choose(user, 'contacts-validated', 'yes')
    await shows(user, ['Media'])
    choose(user, 'contacts-validated', '')
    choose(user, 'contacts-opted-out', 'yes')
    await shows(user, ['De baja'])
    choose(user, 'contacts-opted-out', '')
    choose(user, 'contacts-label', 'flota')
    await shows(user, ['Alta'])
    choose(user, 'contacts-label', '')
    user.find(marker='contacts-search').type('5550002').trigger('keydown.enter')
    await shows(user, ['Media'])


async def test_the_contact_page_shows_the_scores_reasons_and_history(user: User, world: World, db: Database) -> None:
    chat = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550101',
        text='¿tienen filtros?',
        wa_message_id='wamid.p1',
        name='José Núñez',
    )
    async with db.session() as session:
        contact = (await session.exec(select(Contact))).one()
    await rescore(db)
    await sign_in(user, 'ana', world.password)
    await user.open(f'/contactos/{contact.id}')
    await user.should_see(marker='contact-score')
    assert text_of(user, 'contact-score-value') == '90'
    reasons = text_of(user, 'contact-score-reason')
    assert 'Teléfono válido (+40)' in reasons
    assert 'Es un celular (+20)' in reasons
    assert 'Nos escribió por WhatsApp (+30)' in reasons  # their message is the proof
    assert 'Sin validar' in text_of(user, 'contact-validation')
    history = cast(ui.link, user.find(marker='contact-history-item').elements.pop())
    assert '¿tienen filtros?' in history.text
    assert history.props['href'] == f'/?c={chat}'
    # An agent does not merge.
    await user.should_not_see(marker='contact-merge')

    # She validates the customer in one click (what a follow-up template after their window needs).
    user.find(marker='contact-validate').click()
    await user.should_see('Validado por Ana Gómez')
    await user.should_not_see(marker='contact-validate')
    async with db.session() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None and stored.validado_tecnicamente


async def test_a_manager_imports_a_list_with_the_upload_and_merges_a_duplicate(
    user: User, world: World, db: Database
) -> None:
    await sign_in(user, 'marta', world.password)
    await user.open('/contactos')
    data = (
        '\ufeffNombre;Celular;Correo\r\nJuan;011 15-4444-5555;juan@gmail.com\r\nMal;hola;\r\n'
        'Pepe;+54 9 11 6666-0202;\r\n'
    ).encode()
    upload = cast(ui.upload, user.find(marker='leads-import').elements.pop())
    await upload.handle_uploads([SmallFileUpload(name='lista.csv', content_type='text/csv', _data=data)])
    await user.should_see(marker='leads-import-preview')
    assert 'lista.csv: CSV, 3 filas' in text_of(user, 'leads-import-file')
    phone_select = cast(ui.select, user.find(marker='leads-import-map-phone').elements.pop())
    assert phone_select.value == ['Celular']
    user.find(marker='leads-import-start').click()

    async def imported() -> bool:
        return 'Listo' in text_of(user, 'leads-import-status')

    await eventually(imported)
    assert '2 creados, 0 unidos a existentes, 1 inválidos' in text_of(user, 'leads-import-status')
    invalid = cast(ui.table, user.find(marker='leads-import-invalid').elements.pop())
    assert invalid.rows == [{'line': 3, 'reason': 'teléfono inválido: hola'}]
    bar = cast(ui.linear_progress, user.find(marker='leads-import-progress').elements.pop())
    assert bar.value == 1
    await shows(user, ['Juan', 'Pepe'])  # on Marta's branch, so she sees them

    async with db.session() as session:
        juan = (await session.exec(select(Contact).where(Contact.display_name == 'Juan'))).one()
    await user.open(f'/contactos/{juan.id}')
    user.find(marker='contact-merge-phone').type('11 6666-0202')
    user.find(marker='contact-merge').click()

    async def merged() -> bool:
        return _present(user, 'contact-merged')

    await eventually(merged)
    assert '+5491166660202' in text_of(user, 'contact-merged')
    await user.open('/contactos')
    await shows(user, ['Juan'])


def _present(user: User, marker: str) -> bool:
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False
