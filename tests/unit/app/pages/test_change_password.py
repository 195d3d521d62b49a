"""A person changes their own password from the header (after an admin reset it), through NiceGUI's simulated
browser on SQLite and PostgreSQL: the current password is asked again, mistakes are said plainly, and only the new
password signs in afterwards."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from services import auth
from services.database import Database
from services.errors import InvalidCredentials
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in

NEW_PASSWORD = 'repuestos-2027'


async def _fill(user: User, *, current: str, new: str, repeat: str) -> None:
    user.find(marker='change-password').click()
    await user.should_see(marker='password-dialog')
    user.find(marker='password-current').clear().type(current)
    user.find(marker='password-new').clear().type(new)
    user.find(marker='password-repeat').clear().type(repeat)
    user.find(marker='password-save').click()


async def test_agent_changes_her_password_and_only_the_new_one_signs_in(user: User, world: World, db: Database) -> None:
    await sign_in(user, 'ana', world.password)

    await _fill(user, current=world.password, new=NEW_PASSWORD, repeat=NEW_PASSWORD)

    await user.should_see('Contraseña cambiada. Se cerraron tus otras sesiones.')
    await user.should_see(marker='viewer-name')  # the page that changed it stays signed in
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='ana', password=world.password)
    user.find(marker='logout').click()
    await sign_in(user, 'ana', NEW_PASSWORD)
    await user.should_see('Ana Gómez')


async def test_mistakes_are_explained_and_change_nothing(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)

    await _fill(user, current='not it', new=NEW_PASSWORD, repeat=NEW_PASSWORD)
    await user.should_see('La contraseña actual no es correcta.')
    await _fill(user, current=world.password, new=NEW_PASSWORD, repeat=NEW_PASSWORD + 'x')
    await user.should_see('Las dos contraseñas nuevas no coinciden.')
    await _fill(user, current=world.password, new='corta', repeat='corta')
    await user.should_see('La contraseña nueva necesita al menos 8 caracteres.')
    await _fill(user, current=world.password, new=world.password, repeat=world.password)
    await user.should_see('La contraseña nueva es igual a la actual.')

    user.find(marker='logout').click()
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
