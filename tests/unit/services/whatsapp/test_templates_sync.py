"""Templates and quick replies administered from the browser (M4, B4; issue 15): the sync from Meta's
`GET /{waba_id}/message_templates` over real HTTP against the fake Graph API, and a manager kept to their branch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from services.database import Database
from services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.models import AuditEntry, MessageTemplate, TemplateStatus, WhatsAppNumber
from services.whatsapp import templates
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.templates import CannedInput, TemplateChanges, TemplateSyncFailed
from tests.conftest import World
from tests.unit.services.test_users import viewer_of

WABA = '102290129340398'


def meta_template(name: str, status: str = 'APPROVED', body: str = 'Hola {{1}}', language: str = 'es_AR') -> dict:
    return {
        'name': name,
        'language': language,
        'status': status,
        'category': 'UTILITY',
        'parameter_format': 'POSITIONAL',
        'components': [{'type': 'HEADER', 'format': 'TEXT', 'text': 'Aviso'}, {'type': 'BODY', 'text': body}],
    }


async def cloud_number(db: Database, world: World, *, waba_id: str | None = WABA) -> WhatsAppNumber:
    async with db.session() as session:
        number = await session.get(WhatsAppNumber, world.central_number.id)
        assert number is not None
        number.waba_id = waba_id
        await session.commit()
        await session.refresh(number)
        return number


def test_the_fake_pages_templates_like_graph(fake_graph: FakeGraphApi) -> None:
    fake_graph.set_templates(WABA, [meta_template(f't{i}') for i in range(3)])
    headers = {'Authorization': f'Bearer {fake_graph.token}'}

    first = httpx.get(
        f'{fake_graph.base_url}/{WABA}/message_templates', params={'limit': 2, 'fields': 'name,status'}, headers=headers
    ).json()
    assert [t['name'] for t in first['data']] == ['t0', 't1']
    assert set(first['data'][0]) == {'id', 'name', 'status'}
    second = httpx.get(first['paging']['next'], headers=headers).json()
    assert [t['name'] for t in second['data']] == ['t2']
    assert 'next' not in second['paging']

    assert httpx.get(f'{fake_graph.base_url}/{WABA}/message_templates').status_code == 401
    unknown = httpx.get(f'{fake_graph.base_url}/999/message_templates', headers=headers)
    assert (unknown.status_code, unknown.json()['error']['error_subcode']) == (400, 33)


async def test_sync_adds_new_templates_and_updates_known_ones_over_http(
    db: Database, world: World, fake_graph: FakeGraphApi
) -> None:
    number = await cloud_number(db, world)
    await templates.register_template(
        db, number_id=number.id, name='recordatorio', body='viejo {{1}}', status=TemplateStatus.PENDING
    )
    await templates.register_template(db, number_id=number.id, name='solo_nuestra', body='hola')
    remote = [meta_template('recordatorio', body='Hola {{1}}, tu pedido {{2}}')]
    remote += [meta_template(f'promo_{i}', status='PENDING') for i in range(150)]  # more than a page
    remote += [meta_template('retirada', status='DISABLED'), meta_template('nombrada', body='Hola {{cliente}}')]
    fake_graph.set_templates(WABA, remote)

    outcome = await templates.sync_templates(
        db,
        number_id=number.id or 0,
        graph_api_base=fake_graph.base_url,
        token=fake_graph.token,
        actor=await viewer_of(db, world.jorge),
    )

    assert (outcome.added, outcome.updated, outcome.unchanged) == (151, 1, 0)
    pages = [r for r in fake_graph.requests if r.path.endswith('/message_templates')]
    assert len(pages) == 2
    listed = {t.name: t for t, _ in await templates.list_templates(db, number_id=number.id)}
    assert 'retirada' not in listed
    assert (listed['recordatorio'].status, listed['recordatorio'].variable_count) == (TemplateStatus.APPROVED, 2)
    assert listed['recordatorio'].body == 'Hola {{1}}, tu pedido {{2}}'
    assert listed['nombrada'].variable_count == 1
    assert listed['solo_nuestra'].status == TemplateStatus.APPROVED  # only we know it: left alone

    again = await templates.sync_templates(
        db, number_id=number.id or 0, graph_api_base=fake_graph.base_url, token=fake_graph.token
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 152)
    async with db.session() as session:
        synced = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'template.synced'))).all()
    assert [entry.details['added'] for entry in synced] == [151, 0]


async def test_sync_says_why_it_failed(db: Database, world: World, fake_graph: FakeGraphApi) -> None:
    number = await cloud_number(db, world, waba_id=None)
    with pytest.raises(InvalidInput) as missing:
        await templates.sync_templates(db, number_id=number.id or 0, graph_api_base=fake_graph.base_url, token='t')
    assert missing.value.params['reason'] == 'waba_missing'

    number = await cloud_number(db, world)
    with pytest.raises(TemplateSyncFailed) as refused:  # a wrong token: Graph's code 190
        await templates.sync_templates(db, number_id=number.id or 0, graph_api_base=fake_graph.base_url, token='bad')
    assert refused.value.params['reason'] == 'sync_refused'
    with pytest.raises(TemplateSyncFailed) as unreachable:
        await templates.sync_templates(
            db, number_id=number.id or 0, graph_api_base='http://127.0.0.1:9/v23.0', token='t'
        )
    assert unreachable.value.params['reason'] == 'sync_unreachable'


async def test_templates_are_validated_and_a_manager_keeps_to_their_branch(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)  # SUC1
    mine = await templates.register_template(
        db, number_id=world.central_number.id, name='aviso', body='Hola {{1}}', actor=marta
    )
    theirs = await templates.register_template(db, number_id=world.rosario_number.id, name='aviso', body='Hola')

    for wrong, reason in [
        ({'name': 'Aviso Nuevo'}, 'template_name_format'),
        ({'language': 'español'}, 'language_format'),
        ({'category': 'VENTAS'}, 'category_unknown'),
        ({'body': 'Hola {{2}}'}, 'placeholders_gap'),
    ]:
        fields: dict[str, Any] = {'name': 'otra', 'language': 'es_AR', 'category': 'UTILITY', 'body': 'Hola'} | wrong
        with pytest.raises(InvalidInput) as refused:
            await templates.register_template(db, number_id=world.central_number.id, actor=marta, **fields)
        assert refused.value.params['reason'] == reason
    with pytest.raises(Conflict) as taken:
        await templates.register_template(db, number_id=world.central_number.id, name='aviso', body='x', actor=marta)
    assert taken.value.params['reason'] == 'template_taken'

    with pytest.raises(NotFound):
        await templates.register_template(db, number_id=world.rosario_number.id, name='otra', body='x', actor=marta)
    with pytest.raises(NotFound):
        await templates.get_template(db, template_id=theirs.id or 0, viewer=marta)
    with pytest.raises(NotFound):
        await templates.update_template(
            db,
            template_id=theirs.id or 0,
            changes=TemplateChanges(category='UTILITY', status=TemplateStatus.PAUSED, body='Hola'),
            actor=marta,
        )
    assert [t.id for t, _ in await templates.list_templates(db, viewer=marta)] == [mine.id]
    with pytest.raises(PermissionDenied):
        await templates.register_template(
            db, number_id=world.central_number.id, name='de_ana', body='x', actor=await viewer_of(db, world.ana)
        )

    paused = await templates.update_template(
        db,
        template_id=mine.id or 0,
        changes=TemplateChanges(category='marketing', status=TemplateStatus.PAUSED, body='Hola {{1}} y {{2}}'),
        actor=marta,
    )
    assert (paused.category, paused.status, paused.variable_count) == ('MARKETING', TemplateStatus.PAUSED, 2)
    assert await templates.list_templates(db, only_approved=True, number_id=world.central_number.id) == []


async def test_quick_replies_per_branch_and_a_manager_never_touches_another_branch(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    jorge = await viewer_of(db, world.jorge)
    hours = await templates.create_canned(
        db,
        canned_in=CannedInput(branch_id=world.central.id, shortcut='/Horarios', title='Horarios', body='9 a 18'),
        actor=marta,
    )
    assert hours.shortcut == 'horarios'
    every = await templates.create_canned(
        db, canned_in=CannedInput(branch_id=None, shortcut='envios', title='Envíos', body='A todo el país'), actor=jorge
    )
    rosario = await templates.create_canned(
        db,
        canned_in=CannedInput(branch_id=world.rosario.id, shortcut='horarios', title='H', body='8 a 17'),
        actor=jorge,
    )

    listed = {canned.id for canned, _ in await templates.list_canned(db, viewer=marta)}
    assert listed == {hours.id, every.id}
    with pytest.raises(NotFound):
        await templates.get_canned(db, canned_id=rosario.id or 0, viewer=marta)
    with pytest.raises(PermissionDenied):
        await templates.update_canned(
            db,
            canned_id=rosario.id or 0,
            canned_in=CannedInput(branch_id=world.central.id, shortcut='x', title='x', body='x'),
            actor=marta,
        )
    with pytest.raises(PermissionDenied):
        await templates.delete_canned(db, canned_id=every.id or 0, actor=marta)  # every branch's: the admins'
    with pytest.raises(PermissionDenied):
        await templates.create_canned(
            db, canned_in=CannedInput(branch_id=None, shortcut='x', title='x', body='x'), actor=marta
        )
    for wrong, reason in [
        (CannedInput(branch_id=world.central.id, shortcut='con espacio', title='x', body='x'), 'shortcut_format'),
        (CannedInput(branch_id=world.central.id, shortcut='ok', title=' ', body='x'), 'title_required'),
        (CannedInput(branch_id=world.central.id, shortcut='ok', title='x', body=' '), 'body_required'),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await templates.create_canned(db, canned_in=wrong, actor=marta)
        assert refused.value.params['reason'] == reason
    for branch_id in (world.central.id, None):  # taken, for one branch and for every branch (NULL is not unique)
        with pytest.raises(Conflict) as taken:
            await templates.create_canned(
                db,
                canned_in=CannedInput(
                    branch_id=branch_id, shortcut='horarios' if branch_id else 'envios', title='x', body='x'
                ),
                actor=jorge,
            )
        assert taken.value.params['reason'] == 'shortcut_taken'

    await templates.update_canned(
        db,
        canned_id=hours.id or 0,
        canned_in=CannedInput(branch_id=world.central.id, shortcut='horarios', title='Horarios', body='9 a 19'),
        actor=marta,
    )
    await templates.delete_canned(db, canned_id=hours.id or 0, actor=marta)
    assert {canned.id for canned, _ in await templates.list_canned(db, viewer=marta)} == {every.id}
    async with db.session() as session:
        logged = (
            await session.exec(select(AuditEntry.action).where(AuditEntry.target_type == 'canned_response'))
        ).all()
        assert (await session.exec(select(MessageTemplate))).all() == []
    assert logged == ['canned.created', 'canned.created', 'canned.created', 'canned.updated', 'canned.deleted']
