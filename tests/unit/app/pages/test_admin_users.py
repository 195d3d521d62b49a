"""`/admin/users` and `/admin/branches` from the browser (B4, issue 15): forms with their messages, reset password
shown once, unlock, deactivate; a manager administers their branch's agents only; agents are kept out."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from services import auth
from services.database import Database
from services.errors import InvalidCredentials
from tests.conftest import World
from tests.unit.app.pages.admin_forms import choose, field, fill, options, save_and_expect_error, signed_in
from tests.unit.app.pages.test_login import table_rows
from tests.unit.app.pages.waiting import eventually


async def test_admin_creates_an_agent_and_each_wrong_field_says_why(user: User, world: World, db: Database) -> None:
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/users')
    await user.should_see(marker='user-form')

    fill(user, 'user-username', 'lucía pérez')
    fill(user, 'user-full_name', 'Lucía Pérez')
    choose(user, 'user-branch_id', 'SUC2 · Rosario')
    await save_and_expect_error(user, 'user', 'El usuario lleva de 2 a 64 letras minúsculas')
    fill(user, 'user-username', 'ana')
    await save_and_expect_error(user, 'user', 'Ya existe el usuario «ana».')
    fill(user, 'user-username', 'lucia')
    fill(user, 'user-capacity', '0')
    await save_and_expect_error(user, 'user', 'La capacidad va de 1 a 100')
    fill(user, 'user-capacity', '5')
    fill(user, 'user-password', 'corta')
    await save_and_expect_error(user, 'user', 'al menos 8 caracteres')
    fill(user, 'user-password', '')
    fill(user, 'user-full_name', '')
    await save_and_expect_error(user, 'user', 'Falta el nombre.')
    fill(user, 'user-full_name', 'Lucía Pérez')
    choose(user, 'user-role', 'Encargado')
    field(user, 'user-branch_id').value = None
    await save_and_expect_error(user, 'user', 'Elegí una sucursal')
    choose(user, 'user-role', 'Vendedor')
    choose(user, 'user-branch_id', 'SUC2 · Rosario')

    user.find(marker='user-save').click()

    await user.should_see(marker='one-time-password', content='Contraseña de lucia:')
    rows = {row['username']: row for row in table_rows(user, 'users-table')}
    assert (rows['lucia']['role'], rows['lucia']['branch'], rows['lucia']['capacity']) == ('Vendedor', 'SUC2', 5)
    password = field(user, 'one-time-password').text.split(': ', 1)[1].split(' ')[0]
    result = await auth.login(db, username='lucia', password=password)
    assert result.viewer.branch_ids == frozenset({world.rosario.id})


async def test_admin_resets_a_password_shown_once_and_unlocks_a_locked_agent(
    user: User, world: World, db: Database
) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='not it')
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/users')
    await user.should_see(marker='users-table')
    assert {row['username']: row['locked'] for row in table_rows(user, 'users-table')}['ana'].startswith(
        'Bloqueado hasta las'
    )

    await user.open(f'/admin/users/{world.ana.id}')
    await user.should_see(marker='locked-until')
    user.find(marker='unlock-user').click()
    await user.should_see('ana ya puede volver a iniciar sesión.')
    assert await auth.locked_usernames(db, usernames=['ana']) == {}

    user.find(marker='reset-password').click()
    await user.should_see(marker='one-time-password', content='no se vuelve a mostrar')
    password = field(user, 'one-time-password').text.split(': ', 1)[1].split(' ')[0]
    assert (await auth.login(db, username='ana', password=password)).viewer.username == 'ana'
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='ana', password=world.password)


async def test_admin_deactivates_a_user_who_then_cannot_sign_in(user: User, world: World, db: Database) -> None:
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open(f'/admin/users/{world.bruno.id}')
    await user.should_see(marker='user-form')
    fill(user, 'user-full_name', 'Bruno F.')
    user.find(marker='user-active').click()

    user.find(marker='user-save').click()

    await user.should_see(marker='users-table')
    rows = {row['username']: row for row in table_rows(user, 'users-table')}
    assert (rows['bruno']['name'], rows['bruno']['active']) == ('Bruno F.', 'No')
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='bruno', password=world.password)

    await user.open(f'/admin/users/{world.jorge.id}')  # not themselves
    await user.should_see(marker='user-form')
    user.find(marker='user-active').click()
    await save_and_expect_error(user, 'user', 'No podés desactivar tu propia cuenta')


async def test_a_manager_administers_only_the_agents_of_their_branch(user: User, world: World, db: Database) -> None:
    await signed_in(user, 'marta', world.password, 'Marta Sosa')
    await user.open('/admin/users')
    await user.should_see(marker='users-table')

    assert {row['username'] for row in table_rows(user, 'users-table')} == {'ana', 'marta'}
    assert options(user, 'user-role') == ['Vendedor']
    assert options(user, 'user-branch_id') == ['SUC1 · Casa Central']
    fill(user, 'user-username', 'pablo')
    fill(user, 'user-full_name', 'Pablo Ruiz')
    fill(user, 'user-password', 'clave de pablo')
    user.find(marker='user-save').click()

    async def created() -> bool:
        return any(row['username'] == 'pablo' for row in table_rows(user, 'users-table'))

    await eventually(created)
    assert (await auth.login(db, username='pablo', password='clave de pablo')).viewer.branch_ids == frozenset(
        {world.central.id}
    )

    for other in (world.bruno.id, world.jorge.id, world.marta.id):
        await user.open(f'/admin/users/{other}')
        await user.should_see(marker='not-found')
        await user.should_not_see(marker='reset-password')
    await user.open(f'/admin/users/{world.ana.id}')
    await user.should_see(marker='reset-password')


async def test_agents_get_the_forbidden_page_on_every_admin_page(user: User, world: World) -> None:
    await signed_in(user, 'ana', world.password, 'Ana Gómez')
    for path in (
        '/admin/users',
        f'/admin/users/{world.ana.id}',
        '/admin/branches',
        '/admin/numbers',
        '/admin/templates',
        '/admin/canned',
        '/admin/apikeys',
        '/admin/audit',
    ):
        await user.open(path)
        await user.should_see(marker='forbidden')
        await user.should_not_see(marker='record-title')


async def test_admin_creates_and_edits_a_branch_and_a_manager_only_reads(user: User, world: World) -> None:
    await signed_in(user, 'jorge', world.password, 'Jorge Pereyra')
    await user.open('/admin/branches')
    await user.should_see(marker='branch-form')
    fill(user, 'branch-code', 'SUC 4')
    fill(user, 'branch-name', 'Mendoza')
    await save_and_expect_error(user, 'branch', 'El código lleva letras y números')
    fill(user, 'branch-code', 'suc1')
    await save_and_expect_error(user, 'branch', 'Ya existe la sucursal SUC1.')
    fill(user, 'branch-code', 'suc4')
    fill(user, 'branch-name', '')
    await save_and_expect_error(user, 'branch', 'Falta el nombre.')
    fill(user, 'branch-name', 'Mendoza')
    fill(user, 'branch-city', 'Mendoza')

    user.find(marker='branch-save').click()

    async def created() -> bool:
        return 'SUC4' in [row['code'] for row in table_rows(user, 'branches-table')]

    await eventually(created)
    [suc4] = [row for row in table_rows(user, 'branches-table') if row['code'] == 'SUC4']
    await user.open(f'/admin/branches/{suc4["id"]}')
    await user.should_see(marker='branch-form')
    fill(user, 'branch-address', 'San Martín 1200')
    user.find(marker='branch-active').click()
    user.find(marker='branch-save').click()
    await user.should_see(marker='branches-table')
    [suc4] = [row for row in table_rows(user, 'branches-table') if row['code'] == 'SUC4']
    assert suc4['active'] == 'No'
    await user.open(f'/admin/users/{world.ana.id}')  # a closed branch is not offered for people
    await user.should_see(marker='user-form')
    assert 'SUC4 · Mendoza' not in options(user, 'user-branch_id')

    user.find(marker='logout').click()
    await signed_in(user, 'marta', world.password, 'Marta Sosa')
    await user.open('/admin/branches')
    await user.should_see(marker='branches-table')
    assert [row['code'] for row in table_rows(user, 'branches-table')] == ['SUC1']
    await user.should_not_see(marker='branch-form')
    await user.open(f'/admin/branches/{world.central.id}')
    await user.should_see(marker='forbidden')
