"""Login, lockout, logout and the role guard, through NiceGUI's simulated browser (`user` fixture)."""

from __future__ import annotations

import asyncio
from typing import cast

from nicegui import ui
from nicegui.testing import User

from tests.conftest import World


async def sign_in(user: User, username: str, password: str) -> None:
    """Submit the login form and wait until it is answered: the shell, or an error on the login page."""
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='submit').click()
    # Argon2 verification takes ~0.2 s (more on a busy CI machine), longer than should_see's default patience.
    for _ in range(100):
        if _visible(user, 'viewer-name') or _visible(user, 'login-error'):
            return
        await asyncio.sleep(0.05)


def _visible(user: User, marker: str) -> bool:
    try:
        return any(element.visible for element in user.find(marker=marker).elements)
    except AssertionError:  # `find` insists on at least one match
        return False


def table_rows(user: User, marker: str) -> list[dict]:
    return cast(ui.table, user.find(marker=marker).elements.pop()).rows


async def test_signed_out_visitor_is_sent_to_login(user: User, world: World) -> None:
    await user.open('/')

    await user.should_see(marker='submit')
    await user.should_not_see(marker='viewer-name')


async def test_agent_signs_in_and_sees_the_shell_with_name_role_and_branch(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)

    await user.should_see('Ana Gómez')
    await user.should_see('Vendedor · SUC1 · Casa Central')
    await user.should_see(marker='nav-/')
    # Agents get no navigation to manager pages and no branch selector.
    await user.should_not_see(marker='nav-/admin/users')
    await user.should_not_see(marker='branch-selector')


async def test_wrong_password_shows_an_error_and_stays_on_login(user: User, world: World) -> None:
    await sign_in(user, 'ana', 'not the password')

    await user.should_see('Usuario o contraseña incorrectos.')
    await user.should_not_see(marker='viewer-name')


async def test_five_failures_lock_the_account_and_say_for_how_long(user: User, world: World) -> None:
    for _ in range(5):
        await sign_in(user, 'ana', 'not the password')
        await user.should_see('Usuario o contraseña incorrectos.')

    await sign_in(user, 'ana', world.password)

    await user.should_see('Demasiados intentos fallidos. Probá de nuevo en 15 min.')
    await user.should_not_see(marker='viewer-name')


async def test_logout_ends_the_session(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    user.find(marker='logout').click()
    await user.should_see(marker='submit')

    await user.open('/')
    await user.should_see(marker='submit')  # the old session no longer opens pages


async def test_agent_is_refused_manager_pages(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')

    await user.open('/admin/users')

    await user.should_see('Sin permiso')
    await user.should_not_see(marker='users-table')


async def test_manager_sees_only_their_branch_users(user: User, world: World) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')

    await user.open('/admin/users')

    await user.should_see(marker='users-table')
    usernames = {row['username'] for row in table_rows(user, 'users-table')}
    assert usernames == {'ana', 'marta'}  # not Rosario's agent, not the admin


async def test_admin_has_a_branch_selector_with_every_branch(user: User, world: World) -> None:
    await sign_in(user, 'jorge', world.password)

    await user.should_see(marker='branch-selector')
    await user.open('/admin/branches')
    await user.should_see(marker='branches-table')
    assert [row['code'] for row in table_rows(user, 'branches-table')] == ['SUC1', 'SUC2']


async def test_after_login_the_user_lands_on_the_page_they_asked_for(user: User, world: World) -> None:
    await user.open('/admin/branches')  # redirected to /login?next=/admin/branches
    user.find(marker='username').type('marta')
    user.find(marker='password').type(world.password)
    user.find(marker='submit').click()

    await user.should_see(marker='branches-table', retries=100)  # after the ~0.2 s password check


async def test_interface_switches_to_english(user: User, world: World) -> None:
    await user.open('/login')
    user.find(marker='locale-selector').click()
    user.find('EN').click()

    await user.should_see('Sign in')
    user.find(marker='username').type('ana')
    user.find(marker='password').type('wrong')
    user.find(marker='submit').click()
    await user.should_see('Wrong username or password.', retries=100)
