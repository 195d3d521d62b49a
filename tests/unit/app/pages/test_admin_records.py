"""`/admin/numbers`, `/admin/templates` (with the sync from the fake Graph API over HTTP), `/admin/canned`,
`/admin/apikeys` and `/admin/audit` from the browser (B1, B4; issue 15)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from nicegui.testing import User
from sqlmodel import col, select

from app.runtime import runtime
from services import api_keys
from services.database import Database
from services.models import (
    AuditEntry,
    CannedResponse,
    ChannelKind,
    Conversation,
    Message,
    TemplateStatus,
    WhatsAppNumber,
)
from services.whatsapp import payload_builders as build
from services.whatsapp import templates
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.journal import journal_once
from services.whatsapp.templates import CannedInput
from tests.conftest import World
from tests.unit.app.pages.admin_forms import choose, field, fill, options, save_and_expect_error, signed_in
from tests.unit.app.pages.test_login import table_rows
from tests.unit.app.pages.waiting import eventually

WABA = '102290129340398'


async def test_admin_adds_a_meta_test_number_and_moves_it(user: User, world: World, db: Database) -> None:
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/numbers')
    await user.should_see(marker='number-form')
    fill(user, 'number-phone_number_id', '106540352242922')
    fill(user, 'number-display_phone', '+1 212 55')
    await save_and_expect_error(user, 'number', 'Elegí una sucursal')
    choose(user, 'number-branch', 'SUC1 · Casa Central')
    await save_and_expect_error(user, 'number', 'No es un número de teléfono válido.')
    fill(user, 'number-display_phone', '+1 555 025 3483')
    fill(user, 'number-phone_number_id', 'pn-central')
    await save_and_expect_error(user, 'number', 'El phone_number_id pn-central ya está cargado.')
    fill(user, 'number-phone_number_id', '106540352242922')
    fill(user, 'number-waba_id', WABA)

    user.find(marker='number-save').click()

    async def added() -> bool:
        return '106540352242922' in [row['phone_number_id'] for row in table_rows(user, 'numbers-table')]

    await eventually(added)
    [row] = [row for row in table_rows(user, 'numbers-table') if row['phone_number_id'] == '106540352242922']
    assert (row['display'], row['branch'], row['waba_id']) == ('+15550253483', 'SUC1', WABA)

    await user.open(f'/admin/numbers/{row["id"]}')
    await user.should_see(marker='number-form')
    choose(user, 'number-branch_id', 'SUC2 · Rosario')
    fill(user, 'number-label', 'Ventas')
    user.find(marker='number-active').click()
    user.find(marker='number-save').click()
    await user.should_see(marker='numbers-table')
    [row] = [row for row in table_rows(user, 'numbers-table') if row['phone_number_id'] == '106540352242922']
    assert (row['branch'], row['label'], row['active']) == ('SUC2', 'Ventas', 'No')


async def test_managers_cannot_open_numbers_apikeys_or_audit(user: User, world: World) -> None:
    await signed_in(user, 'marta', world.password, 'Marta Sosa')
    for path in ('/admin/numbers', f'/admin/numbers/{world.central_number.id}', '/admin/apikeys', '/admin/audit'):
        await user.open(path)
        await user.should_see(marker='forbidden')


async def test_a_manager_registers_and_pauses_templates_of_their_branch_only(
    user: User, world: World, db: Database
) -> None:
    theirs = await templates.register_template(db, number_id=world.rosario_number.id, name='de_rosario', body='Hola')
    await signed_in(user, 'marta', world.password, 'Marta Sosa')
    await user.open('/admin/templates')
    await user.should_see(marker='template-form')
    assert options(user, 'template-number_id') == ['+5491150000101 · pn-central (SUC1)']
    assert table_rows(user, 'templates-table') == []
    await user.should_not_see(marker='sync-templates')  # no Cloud API token in this deployment

    fill(user, 'template-name', 'Recordatorio Pedido')
    fill(user, 'template-body', 'Hola {{1}}, tu pedido {{3}}')
    await save_and_expect_error(user, 'template', 'minúsculas, números y guiones bajos')
    fill(user, 'template-name', 'recordatorio_pedido')
    await save_and_expect_error(user, 'template', 'sin saltear ninguna')
    fill(user, 'template-language', 'español')
    fill(user, 'template-body', 'Hola {{1}}, tu pedido {{2}}')
    await save_and_expect_error(user, 'template', 'El idioma es un código de Meta')
    fill(user, 'template-language', 'es_AR')

    user.find(marker='template-save').click()

    async def registered() -> bool:
        return [row['name'] for row in table_rows(user, 'templates-table')] == ['recordatorio_pedido']

    await eventually(registered)
    [row] = table_rows(user, 'templates-table')
    assert (row['variables'], row['status']) == (2, 'Aprobada')
    fill(user, 'template-name', 'recordatorio_pedido')  # the form was emptied for the next one
    fill(user, 'template-body', 'otra')
    await save_and_expect_error(user, 'template', 'Ese número ya tiene la plantilla recordatorio_pedido en es_AR.')

    await user.open(f'/admin/templates/{row["id"]}')
    await user.should_see(marker='template-form')
    choose(user, 'template-status', 'Pausada')
    user.find(marker='template-save').click()
    await user.should_see(marker='templates-table')
    assert [row['status'] for row in table_rows(user, 'templates-table')] == ['Pausada']

    await user.open(f'/admin/templates/{theirs.id}')
    await user.should_see(marker='not-found')
    await user.should_not_see(marker='template-form')


@pytest.fixture
def cloud_api(app_environment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraphApi]:
    """A deployment with a Cloud API token, whose Graph API is the fake over real HTTP."""
    with FakeGraphApi() as fake:
        monkeypatch.setenv('LEADMASTER_WHATSAPP_TOKEN', fake.token)
        monkeypatch.setenv('LEADMASTER_GRAPH_API_BASE', fake.base_url)
        yield fake


async def test_admin_syncs_the_templates_of_a_number_from_meta(
    cloud_api: FakeGraphApi, user: User, world: World, db: Database
) -> None:
    async with db.session() as session:
        number = await session.get(WhatsAppNumber, world.central_number.id)
        assert number is not None
        number.waba_id = WABA
        await session.commit()
    cloud_api.set_templates(
        WABA,
        [
            {
                'name': 'presupuesto_listo',
                'language': 'es_AR',
                'status': 'APPROVED',
                'category': 'UTILITY',
                'components': [{'type': 'BODY', 'text': 'Hola {{1}}, tu presupuesto {{2}} está listo.'}],
            }
        ],
    )
    # The sync is offered for Cloud API numbers with a WABA: the simulator's is one only for this test.
    async with db.session() as session:
        number = await session.get(WhatsAppNumber, world.central_number.id)
        assert number is not None
        number.channel = ChannelKind.CLOUD
        await session.commit()
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/templates')
    await user.should_see(marker='sync-templates')

    user.find(marker='sync-templates').click()

    await user.should_see(marker='sync-result', content='Sincronizado con Meta: 1 nuevas')
    [row] = table_rows(user, 'templates-table')
    assert (row['name'], row['variables'], row['status']) == ('presupuesto_listo', 2, 'Aprobada')
    assert [r.path for r in cloud_api.requests] == [f'/v23.0/{WABA}/message_templates']
    [(stored, _)] = await templates.list_templates(db, only_approved=True)
    assert stored.status == TemplateStatus.APPROVED


async def test_quick_replies_are_created_edited_and_deleted_by_branch(user: User, world: World, db: Database) -> None:
    theirs = await templates.create_canned(
        db, canned_in=CannedInput(branch_id=world.rosario.id, shortcut='horarios', title='Horarios', body='8 a 17')
    )
    await signed_in(user, 'marta', world.password, 'Marta Sosa')
    await user.open('/admin/canned')
    await user.should_see(marker='canned-form')
    assert table_rows(user, 'canned-table') == []
    assert options(user, 'canned-branch_id') == ['SUC1 · Casa Central']  # not "every branch": the admins'

    fill(user, 'canned-shortcut', 'mis horarios')
    fill(user, 'canned-title', 'Horarios')
    fill(user, 'canned-body', 'Lunes a viernes de 9 a 18.')
    await save_and_expect_error(user, 'canned', 'El atajo lleva minúsculas')
    fill(user, 'canned-shortcut', '/horarios')
    fill(user, 'canned-body', '')
    await save_and_expect_error(user, 'canned', 'Falta el texto.')
    fill(user, 'canned-body', 'Lunes a viernes de 9 a 18.')
    user.find(marker='canned-save').click()

    async def created() -> bool:
        return [row['shortcut'] for row in table_rows(user, 'canned-table')] == ['/horarios']

    await eventually(created)
    fill(user, 'canned-shortcut', 'horarios')  # the form was emptied for the next one
    fill(user, 'canned-title', 'Otra')
    fill(user, 'canned-body', 'x')
    await save_and_expect_error(user, 'canned', 'Ya hay una respuesta /horarios para esa sucursal.')

    [row] = table_rows(user, 'canned-table')
    await user.open(f'/admin/canned/{row["id"]}')
    await user.should_see(marker='canned-form')
    fill(user, 'canned-body', 'Lunes a sábado de 9 a 13.')
    user.find(marker='canned-save').click()
    await user.should_see(marker='canned-table')
    assert [row['body'] for row in table_rows(user, 'canned-table')] == ['Lunes a sábado de 9 a 13.']

    await user.open(f'/admin/canned/{theirs.id}')
    await user.should_see(marker='not-found')

    await user.open(f'/admin/canned/{row["id"]}')
    await user.should_see(marker='delete-canned')
    user.find(marker='delete-canned').click()
    await user.should_see(marker='canned-table')
    async with db.session() as session:
        left = (await session.exec(select(CannedResponse.branch_id))).all()
    assert left == [world.rosario.id]


async def test_admin_creates_a_branch_key_shown_once_and_revokes_it(user: User, world: World, db: Database) -> None:
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/apikeys')
    await user.should_see(marker='apikey-form')
    await save_and_expect_error(user, 'apikey', 'Falta el nombre.')
    fill(user, 'apikey-name', 'ERP Rosario')
    choose(user, 'apikey-branch_id', 'SUC2 · Rosario')

    user.find(marker='apikey-save').click()

    await user.should_see(marker='api-key-once', content='copiala ahora')
    key = next(word for word in field(user, 'api-key-once').text.split() if word.startswith('lm_'))
    viewer = await api_keys.viewer_for_api_key(db, key)
    assert viewer is not None and viewer.branch_ids == frozenset({world.rosario.id})
    [row] = table_rows(user, 'apikeys-table')
    assert (row['name'], row['scope'], row['state']) == ('ERP Rosario', 'SUC2', 'Activa')
    assert key not in str(row)

    choose(user, 'revoke-prefix', f'{row["prefix"]} · ERP Rosario')
    user.find(marker='revoke-key').click()

    async def revoked() -> bool:
        return [row['state'] for row in table_rows(user, 'apikeys-table')] == ['Revocada']

    await eventually(revoked)
    assert await api_keys.viewer_for_api_key(db, key) is None


async def test_the_audit_log_is_filtered_and_paged_without_message_text(user: User, world: World, db: Database) -> None:
    for index in range(55):
        await api_keys.create_api_key(db, name=f'clave {index}')
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')  # a login.succeeded entry by jorge
    await user.open('/admin/audit')
    await user.should_see(marker='audit-table')
    await user.should_see(marker='audit-position', content='Página 1 de 2 · 56 registros')
    assert len(table_rows(user, 'audit-table')) == 50
    assert table_rows(user, 'audit-table')[0]['action'] == 'login.succeeded'
    user.find(marker='audit-next').click()
    await user.should_see(marker='audit-position', content='Página 2 de 2')
    assert len(table_rows(user, 'audit-table')) == 6

    fill(user, 'audit-actor', 'jorge')
    user.find(marker='audit-filter').click()
    await user.should_see(marker='audit-position', content='Página 1 de 1 · 1 registros')
    assert [row['action'] for row in table_rows(user, 'audit-table')] == ['login.succeeded']

    fill(user, 'audit-actor', '')
    choose(user, 'audit-kind', 'api_key')
    fill(user, 'audit-since', '31/02/2026')
    user.find(marker='audit-filter').click()
    await user.should_see(marker='audit-error', content='«31/02/2026» no es una fecha')
    fill(user, 'audit-since', '01/01/2020')
    fill(user, 'audit-until', '31/12/2020')
    user.find(marker='audit-filter').click()
    await user.should_see(marker='audit-position', content='0 registros')
    fill(user, 'audit-until', '')
    user.find(marker='audit-filter').click()
    await user.should_see(marker='audit-position', content='55 registros')
    async with db.session() as session:
        assert (await session.exec(select(AuditEntry).where(AuditEntry.action == 'login.succeeded'))).first()


async def test_a_dead_letter_is_replayed_after_adding_its_number_on_the_page(
    user: User, world: World, db: Database
) -> None:
    """The webhooks page says "agregá el número y reprocesá": now a page adds it (issue 15)."""
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id='106540352242922',
                display_phone_number='15550253483',
                contacts=[build.contact(wa_id='5491133334444', name='Martín')],
                messages=[build.text_message(from_='5491133334444', body='hola desde el número de prueba')],
            )
        ),
    )
    await runtime().ingest.drain()
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/webhooks')
    await user.should_see(marker='add-number-link')
    user.find(marker='add-number-link').click()
    await user.should_see(marker='number-form')
    fill(user, 'number-phone_number_id', '106540352242922')
    fill(user, 'number-display_phone', '+1 555 025 3483')
    choose(user, 'number-branch', 'SUC2 · Rosario')
    user.find(marker='number-save').click()

    async def added() -> bool:
        return '106540352242922' in [row['phone_number_id'] for row in table_rows(user, 'numbers-table')]

    await eventually(added)
    runtime().ingest.directory.forget()  # the routing cache re-reads numbers within a minute; the test will not wait
    await user.open('/admin/webhooks')
    await user.should_see(marker='replay-webhooks')
    user.find(marker='replay-webhooks').click()

    async def requeued() -> bool:
        async with db.session() as session:
            return (
                await session.exec(select(AuditEntry).where(AuditEntry.action == 'webhooks.replayed'))
            ).first() is not None

    await eventually(requeued)
    await runtime().ingest.drain()
    async with db.session() as session:
        stored = (
            await session.exec(
                select(Message.text, Conversation.branch_id).join(
                    Conversation, col(Conversation.id) == col(Message.conversation_id)
                )
            )
        ).all()
    assert stored == [('hola desde el número de prueba', world.rosario.id)]
