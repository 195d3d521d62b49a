"""API keys from the admin page (O2, B4): created once, listed without the secret, revoked; the audit log's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services import api_keys, audit
from services.audit import AuditFilter
from services.database import Database
from services.errors import InvalidInput, PermissionDenied
from services.models import AuditEntry
from services.models.types import utcnow
from tests.conftest import World
from tests.unit.services.test_users import viewer_of


async def test_a_branch_key_is_created_listed_and_revoked(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)

    stored, plaintext = await api_keys.create_api_key(db, name='ERP', branch_id=world.rosario.id, actor=jorge)
    viewer = await api_keys.viewer_for_api_key(db, plaintext)
    assert viewer is not None and viewer.branch_ids == frozenset({world.rosario.id})
    [(listed, branch)] = await api_keys.list_api_keys(db, viewer=jorge)
    assert (listed.prefix, branch and branch.code) == (stored.prefix, 'SUC2')
    assert plaintext not in str(listed.model_dump())

    assert await api_keys.revoke_api_key(db, prefix=stored.prefix, actor=jorge) is True
    assert await api_keys.revoke_api_key(db, prefix=stored.prefix, actor=jorge) is False  # not twice

    assert await api_keys.viewer_for_api_key(db, plaintext) is None
    async with db.session() as session:
        logged = (await session.exec(select(AuditEntry.action).where(AuditEntry.target_type == 'api_key'))).all()
    assert logged == ['api_key.created', 'api_key.revoked']


async def test_only_admins_handle_keys_and_a_key_needs_a_name(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    with pytest.raises(PermissionDenied):
        await api_keys.create_api_key(db, name='x', actor=marta)
    with pytest.raises(PermissionDenied):
        await api_keys.list_api_keys(db, viewer=marta)
    with pytest.raises(PermissionDenied):
        await api_keys.revoke_api_key(db, prefix='abc', actor=marta)
    with pytest.raises(InvalidInput) as refused:
        await api_keys.create_api_key(db, name='  ', actor=await viewer_of(db, world.jorge))
    assert refused.value.params['reason'] == 'name_required'


async def test_the_audit_log_filters_by_who_what_record_and_day_and_pages(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    for index in range(3):
        await api_keys.create_api_key(db, name=f'k{index}', actor=jorge)
    async with db.session() as session:
        audit.record(session, action='user.created', actor_label='cli', target_type='user', target_id=7)
        await session.commit()
        # One entry from ten days ago, to fall outside a date range.
        await session.exec(
            update(AuditEntry).where(col(AuditEntry.action) == 'user.created').values(at=utcnow() - timedelta(days=10))
        )
        await session.commit()

    everything = await audit.list_entries(db, viewer=jorge, page_size=2)
    assert (everything.total, everything.pages, len(everything.entries)) == (4, 2, 2)
    assert [e.action for e in everything.entries] == ['api_key.created', 'api_key.created']
    second = await audit.list_entries(db, viewer=jorge, page=2, page_size=2)
    assert [e.action for e in second.entries] == ['api_key.created', 'user.created']

    assert (await audit.list_entries(db, viewer=jorge, filters=AuditFilter(actor='JOR'))).total == 3
    assert (await audit.list_entries(db, viewer=jorge, filters=AuditFilter(action='user.'))).total == 1
    assert (await audit.list_entries(db, viewer=jorge, filters=AuditFilter(target_type='api_key'))).total == 3
    today = utcnow().date()
    recent = await audit.list_entries(db, viewer=jorge, filters=AuditFilter(since=today - timedelta(days=2)))
    assert recent.total == 3
    old = await audit.list_entries(
        db, viewer=jorge, filters=AuditFilter(since=today - timedelta(days=11), until=today - timedelta(days=9))
    )
    assert [e.action for e in old.entries] == ['user.created']
    assert await audit.target_types(db) == ['api_key', 'user']
    with pytest.raises(PermissionDenied):
        await audit.list_entries(db, viewer=await viewer_of(db, world.marta))


async def test_a_like_wildcard_in_a_filter_is_taken_literally(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    await api_keys.create_api_key(db, name='k', actor=jorge)
    assert (await audit.list_entries(db, viewer=jorge, filters=AuditFilter(action='%'))).total == 0
    assert (await audit.list_entries(db, viewer=jorge, filters=AuditFilter(actor='_'))).total == 0
