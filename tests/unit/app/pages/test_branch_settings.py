"""`/admin/settings` (issue 15): admins edit any branch, managers their own; every invalid value says why; the
"Probar" button calls the LLM over real HTTP; the key is stored encrypted and never shown back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import col, select

from services.database import Database
from services.models import AuditEntry, Branch, StoredSecret
from tests.conftest import World
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server over real HTTP on 127.0.0.1."""
    with FakeOpenAI() as fake:
        yield fake


async def _open_settings(user: User, world: World, username: str, path: str = '/admin/settings') -> None:
    await sign_in(user, username, world.password)
    await user.open(path)


def _type(user: User, marker: str, text: str) -> None:
    user.find(marker=marker).clear().type(text)


def _set(user: User, marker: str, value: object) -> None:
    """Pick an option of a select or flip a switch, as a click on it would."""
    [element] = user.find(marker=marker).elements
    assert isinstance(element, ui.select | ui.switch)
    element.value = value


def _label(user: User, marker: str) -> str:
    [element] = user.find(marker=marker).elements
    assert isinstance(element, ui.label)
    return element.text


async def _branch(db: Database, code: str) -> Branch:
    async with db.session() as session:
        return (await session.exec(select(Branch).where(Branch.code == code))).one()


async def _settings_entries(db: Database) -> list[AuditEntry]:
    async with db.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == 'branch.settings').order_by(col(AuditEntry.id))
        return list((await session.exec(query)).all())


async def test_an_admin_saves_a_branchs_settings_and_the_audit_lists_old_and_new(
    user: User, world: World, db: Database
) -> None:
    await _open_settings(user, world, 'jorge', f'/admin/settings?branch={world.rosario.id}')
    await user.should_see(marker='settings-save')
    _type(user, 'settings-takeover_timeout_seconds', '600')
    _set(user, 'settings-assignment_rule', 'round_robin')
    _type(user, 'settings-faithful_offer_seconds', '45')
    _type(user, 'settings-hours-mon-open', '09:00')
    _type(user, 'settings-hours-mon-close', '18:30')
    _type(user, 'settings-iva_default_rate', '10,5')
    _type(user, 'settings-quote_valid_days', '15')
    user.find(marker='settings-save').click()

    await user.should_see('Guardado:')
    rosario = await _branch(db, 'SUC2')
    assert rosario.takeover_timeout_seconds == 600
    assert rosario.assignment_rule == 'round_robin'
    assert rosario.faithful_offer_seconds == 45
    assert rosario.business_hours == {'mon': ['09:00', '18:30']}
    assert rosario.iva_default_rate == Decimal('10.50')
    assert rosario.quote_valid_days == 15
    assert (await _branch(db, 'SUC1')).takeover_timeout_seconds == 300  # the other branch is untouched
    [entry] = await _settings_entries(db)
    assert entry.actor_label == 'jorge'
    assert entry.details['changes']['takeover_timeout_seconds'] == {'old': 300, 'new': 600}
    assert entry.details['changes']['iva_default_rate'] == {'old': '21.00', 'new': '10.50'}

    user.find(marker='settings-save').click()  # the same values again
    await user.should_see('No había nada para cambiar.')
    assert len(await _settings_entries(db)) == 1


async def test_every_invalid_value_says_why_and_nothing_is_saved(user: User, world: World, db: Database) -> None:
    await _open_settings(user, world, 'jorge')
    await user.should_see(marker='settings-save')
    _type(user, 'settings-takeover_timeout_seconds', '10')
    _type(user, 'settings-faithful_offer_seconds', 'dos')
    _type(user, 'settings-hours-mon-open', '25:00')
    _type(user, 'settings-hours-mon-close', '18:00')
    _type(user, 'settings-hours-tue-open', '18:00')
    _type(user, 'settings-hours-tue-close', '09:00')
    _type(user, 'settings-hours-wed-open', '09:00')
    _type(user, 'settings-iva_default_rate', '121')
    _type(user, 'settings-quote_valid_days', '0')
    _type(user, 'settings-llm_base_url', 'ftp://llm.example')
    user.find(marker='settings-save').click()

    await user.should_see('Revisá los datos marcados.')
    assert _label(user, 'settings-error-takeover_timeout_seconds') == 'tiene que estar entre 30 y 86400'
    assert _label(user, 'settings-error-faithful_offer_seconds') == 'tiene que ser un número entero'
    assert _label(user, 'settings-error-business_hours.mon') == '25:00 no es una hora (HH:MM, de 00:00 a 24:00)'
    assert _label(user, 'settings-error-business_hours.tue') == 'cierra (09:00) antes de abrir (18:00)'
    assert _label(user, 'settings-error-business_hours.wed') == 'completá la hora de apertura y la de cierre'
    assert _label(user, 'settings-error-iva_default_rate') == (
        'tiene que ser un porcentaje entre 0 y 100, con hasta 2 decimales'
    )
    assert _label(user, 'settings-error-quote_valid_days') == 'tiene que estar entre 1 y 365'
    assert _label(user, 'settings-error-llm_base_url') == 'tiene que ser una dirección http:// o https://'
    central = await _branch(db, 'SUC1')
    assert (central.takeover_timeout_seconds, central.quote_valid_days, central.business_hours) == (300, 7, {})
    assert await _settings_entries(db) == []


async def test_probar_calls_the_llm_and_shows_its_answer_or_why_not(user: User, world: World, llm: FakeOpenAI) -> None:
    await _open_settings(user, world, 'jorge')
    await user.should_see(marker='settings-probe')
    _type(user, 'settings-llm_base_url', llm.base_url)
    _type(user, 'settings-llm_model', 'modelo-de-prueba')
    _type(user, 'settings-llm_api_key', llm.key)
    llm.script([Text('OK')])
    user.find(marker='settings-probe').click()

    await eventually(lambda: _async(_label(user, 'settings-probe-result').startswith('El LLM respondió')))
    assert _label(user, 'settings-probe-result').endswith('«OK»')
    assert llm.requests[-1]['model'] == 'modelo-de-prueba'

    _type(user, 'settings-llm_api_key', 'sk-una-clave-equivocada')
    user.find(marker='settings-probe').click()
    await eventually(lambda: _async(_label(user, 'settings-probe-result').startswith('El LLM no respondió')))
    result = _label(user, 'settings-probe-result')
    assert 'HTTP 401' in result
    assert 'sk-una-clave-equivocada' not in result


async def _async(value: bool) -> bool:
    return value


async def test_the_llm_key_is_stored_encrypted_and_never_shown_back(
    user: User, world: World, db: Database, llm: FakeOpenAI
) -> None:
    await _open_settings(user, world, 'jorge')
    await user.should_see('No hay clave propia')
    _type(user, 'settings-llm_base_url', llm.base_url)
    _type(user, 'settings-llm_api_key', llm.key)
    user.find(marker='settings-save').click()

    await user.should_see('Hay una clave guardada (cifrada)')
    async with db.session() as session:
        [secret] = (await session.exec(select(StoredSecret))).all()
    assert secret.name == f'branch_{world.central.id}_llm_api_key'
    assert llm.key.encode() not in secret.ciphertext
    [entry] = await _settings_entries(db)
    assert entry.details['changes']['llm_base_url']['new'] == llm.base_url
    async with db.session() as session:
        every_detail = [str(row.details) for row in (await session.exec(select(AuditEntry))).all()]
    assert not any(llm.key in detail for detail in every_detail)

    await user.open('/admin/settings')  # a fresh page: the key field is empty, the key works for "Probar"
    await user.should_see('Hay una clave guardada (cifrada)')
    [key_input] = user.find(marker='settings-llm_api_key').elements
    assert isinstance(key_input, ui.input)
    assert key_input.value == ''
    llm.script([Text('OK')])
    user.find(marker='settings-probe').click()
    await eventually(lambda: _async(_label(user, 'settings-probe-result').startswith('El LLM respondió')))


async def test_an_agent_may_not_open_the_settings(user: User, world: World) -> None:
    await _open_settings(user, world, 'ana')
    await user.should_see('Sin permiso')
    await user.should_not_see(marker='settings-save')


async def test_a_manager_edits_only_their_own_branch_and_not_the_llm(user: User, world: World, db: Database) -> None:
    await _open_settings(user, world, 'marta')
    await user.should_see(marker='settings-branch-name')
    assert _label(user, 'settings-branch-name') == 'SUC1 · Casa Central'
    await user.should_see('Solo un administrador cambia el motor y la conexión del LLM.')
    [url_input] = user.find(marker='settings-llm_base_url').elements
    assert isinstance(url_input, ui.input) and not url_input.enabled
    _set(user, 'settings-assistant_enabled', False)
    user.find(marker='settings-save').click()
    await user.should_see('Guardado:')
    assert (await _branch(db, 'SUC1')).assistant_enabled is False

    await user.open(f'/admin/settings?branch={world.rosario.id}')
    await user.should_see('Solo podés configurar tu propia sucursal.')
    await user.should_not_see(marker='settings-save')
