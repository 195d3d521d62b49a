"""/validacion in NiceGUI's simulated browser (seed 002's manual validation, SPEC L2): the queue of undecided
prospects, best score first, with the reasons; V validates, R asks for the reason and Enter rejects, N and the
arrows move; what was decided leaves the queue and is stored with who and why."""

from __future__ import annotations

from typing import cast

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.testing import User
from sqlmodel import col, select

from services.database import Database
from services.models import Contact
from services.models.leads import LeadProfile
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.leads.test_contacts import prospect


def text_of(user: User, marker: str) -> str:
    return ' '.join(cast(TextElement, element).text for element in user.find(marker=marker).elements)


def press(user: User, key: str) -> None:
    user.find(marker='validation-keyboard').trigger(
        'key',
        {
            'action': 'keydown',
            'repeat': False,
            'altKey': False,
            'ctrlKey': False,
            'metaKey': False,
            'shiftKey': False,
            'key': key,
            'code': f'Key{key.upper()}' if len(key) == 1 else key,
            'location': 0,
        },
    )


async def current_name(user: User, name: str) -> None:
    async def showing() -> bool:
        try:
            return text_of(user, 'validation-name') == name
        except AssertionError:
            return False

    await eventually(showing)


async def test_validate_reject_and_move_with_the_keyboard(user: User, world: World, db: Database) -> None:
    await prospect(db, phone='+5491155550001', name='Primero', score=90, branch_id=world.central.id)
    await prospect(db, phone='+5491155550002', name='Segundo', score=60, branch_id=world.central.id)
    await prospect(db, phone='+5491155550003', name='Tercero', score=30, branch_id=world.central.id)
    await prospect(db, phone='+5493415550004', name='De Rosario', score=99, branch_id=world.rosario.id)
    await sign_in(user, 'ana', world.password)
    await user.open('/validacion')
    await user.should_see('V validar')
    await current_name(user, 'Primero')
    assert '1 de 3' in text_of(user, 'validation-position')

    press(user, 'n')
    await current_name(user, 'Segundo')
    press(user, 'ArrowLeft')
    await current_name(user, 'Primero')

    press(user, 'v')
    await current_name(user, 'Segundo')
    assert '1 de 2' in text_of(user, 'validation-position')

    press(user, 'r')  # no reason yet: it is asked for
    await user.should_see('Escribí el motivo del rechazo')
    user.find(marker='validation-note').type('es una línea de un call center').trigger('keydown.enter')
    await current_name(user, 'Tercero')
    assert 'En esta sesión: 1 validados, 1 rechazados' in text_of(user, 'validation-tally')

    async with db.session() as session:
        rows = {
            contact.display_name: (contact.validado_tecnicamente, profile.validated_by, profile.rejection_reason)
            for contact, profile in (
                await session.exec(
                    select(Contact, LeadProfile).join(LeadProfile, col(LeadProfile.contact_id) == col(Contact.id))
                )
            ).all()
        }
    assert rows == {
        'Primero': (True, 'Ana Gómez', ''),
        'Segundo': (False, 'Ana Gómez', 'es una línea de un call center'),
    }

    press(user, 'v')

    async def empty() -> bool:
        try:
            return bool(user.find(marker='validation-empty').elements)
        except AssertionError:
            return False

    await eventually(empty)
    buttons = cast(ui.button, user.find(marker='validation-validate').elements.pop())
    assert not buttons.enabled
