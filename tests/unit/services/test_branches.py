"""Branches and numbers administered without the command line (B1, B4; issue 15)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from services import branches
from services.branches import BranchChanges, NumberChanges, business_phone
from services.database import Database
from services.errors import Conflict, InvalidInput, PermissionDenied
from services.models import AuditEntry, BranchCreate, ChannelKind
from tests.conftest import World
from tests.unit.services.test_users import viewer_of


def test_meta_test_numbers_are_accepted_and_other_invalid_numbers_are_not() -> None:
    assert business_phone('+1 555 123 4567') == '+15551234567'
    assert business_phone('15550001234') == '+15550001234'
    assert business_phone('+54 9 11 5000-0101') == '+5491150000101'
    for wrong in ('+1 212 555', '+54 11 12', 'hola', '+1 555 12'):
        with pytest.raises(InvalidInput) as refused:
            business_phone(wrong)
        assert refused.value.params['reason'] == 'phone_invalid'


async def test_admin_creates_and_edits_a_branch(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)

    branch = await branches.create_branch(
        db, branch_in=BranchCreate(code='suc4', name='Mendoza', city='Mendoza'), actor=jorge
    )
    changed = await branches.update_branch(
        db,
        branch_id=branch.id or 0,
        changes=BranchChanges(name='Mendoza Centro', city='Mendoza', address='San Martín 1200', active=False),
        actor=jorge,
    )

    assert (changed.code, changed.name, changed.address, changed.active) == (
        'SUC4',
        'Mendoza Centro',
        'San Martín 1200',
        False,
    )
    async with db.session() as session:
        logged = (await session.exec(select(AuditEntry.action).where(AuditEntry.target_type == 'branch'))).all()
    assert logged == ['branch.created', 'branch.updated']


@pytest.mark.parametrize(
    ('code', 'name', 'reason'), [('SUC 4', 'x', 'branch_code_format'), ('SUC4', ' ', 'name_required')]
)
async def test_invalid_branches_are_refused(db: Database, world: World, code: str, name: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await branches.create_branch(db, branch_in=BranchCreate(code=code, name=name))
    assert refused.value.params['reason'] == reason


async def test_a_taken_code_and_a_manager_are_refused(db: Database, world: World) -> None:
    with pytest.raises(Conflict) as refused:
        await branches.create_branch(db, branch_in=BranchCreate(code='suc1', name='Otra'))
    assert refused.value.params['reason'] == 'branch_code_taken'
    with pytest.raises(PermissionDenied):
        await branches.create_branch(
            db, branch_in=BranchCreate(code='SUC9', name='X'), actor=await viewer_of(db, world.marta)
        )


async def test_a_number_is_added_with_a_meta_test_number_moved_and_deactivated(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)

    number = await branches.add_number(
        db,
        branch_code='SUC1',
        channel=ChannelKind.CLOUD,
        phone_number_id='106540352242922',
        display_phone='+1 555 025 3483',
        waba_id='102290129340398',
        actor=jorge,
    )
    assert (number.display_phone, number.waba_id) == ('+15550253483', '102290129340398')

    moved = await branches.update_number(
        db,
        number_id=number.id or 0,
        changes=NumberChanges(
            branch_id=world.rosario.id or 0, display_phone='+15550253483', label='Ventas', waba_id='1', active=False
        ),
        actor=jorge,
    )
    assert (moved.branch_id, moved.label, moved.active) == (world.rosario.id, 'Ventas', False)

    with pytest.raises(Conflict) as refused:
        await branches.add_number(
            db,
            branch_code='SUC2',
            channel=ChannelKind.CLOUD,
            phone_number_id='106540352242922',
            display_phone='+15550253484',
        )
    assert refused.value.params['reason'] == 'phone_number_id_taken'
    with pytest.raises(PermissionDenied):
        await branches.update_number(
            db,
            number_id=number.id or 0,
            changes=NumberChanges(
                branch_id=world.central.id or 0, display_phone='+15550253483', label='', waba_id=None, active=True
            ),
            actor=await viewer_of(db, world.marta),
        )
