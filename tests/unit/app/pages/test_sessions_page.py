"""`/admin/sessions` (SPEC M6) against the app's own simulated WAHA gateway (the offline demo's): an admin starts a
session, its QR appears when the gateway asks for one, the chip turns READY live when the phone scans it, the admins'
bell says a QR is waiting; agents never reach the page."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from app.runtime import runtime
from services.database import Database
from services.models import SessionState
from services.sessions import service
from tests.conftest import World
from tests.unit.app.pages.test_alerts_bell import alert_texts
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually


def chip(user: User) -> str:
    [element] = user.find(marker='session-state').elements
    assert isinstance(element, ui.chip)
    return element.text


async def test_an_admin_starts_a_session_sees_its_qr_and_the_chip_turns_ready_live(
    user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='celular', label='Celular del local')
    await sign_in(user, 'jorge', world.password)
    await user.open('/admin/sessions')
    await user.should_see('Celular del local')
    assert chip(user) == 'Iniciando'

    user.find('Iniciar').click()

    async def qr_shown() -> bool:
        await runtime().ingest.drain()  # the gateway's webhooks, journaled by the app itself
        return chip(user) == 'Falta escanear el QR' and len(user.find(marker='session-qr').elements) == 1

    await eventually(qr_shown)
    [image] = user.find(marker='session-qr').elements
    assert isinstance(image, ui.image) and image.source.startswith('data:image/png;base64,')

    async def bell_says_scan() -> bool:  # the admins' bell, without waiting for the minute's alert check
        try:
            return any('Escaneá el QR' in text for text in alert_texts(user))
        except AssertionError:  # no alert drawn yet
            return False

    await eventually(bell_says_scan)

    gateway = runtime().simulated_waha
    assert gateway is not None
    gateway.scan('celular')

    async def connected() -> bool:
        await runtime().ingest.drain()
        return chip(user) == 'Conectada'

    await eventually(connected)
    await user.should_not_see(marker='session-qr')
    assert (await service.get_session(db, name='celular', viewer=None)).state == SessionState.READY


async def test_the_allow_sending_switch_is_kept_and_audited(user: User, world: World, db: Database) -> None:
    await service.add_session(db, branch_code='SUC1', name='celular')
    await sign_in(user, 'jorge', world.password)
    await user.open('/admin/sessions')
    await user.should_see(marker='session-allow-send')
    [switch] = user.find(marker='session-allow-send').elements
    assert isinstance(switch, ui.switch) and switch.value is False
    switch.value = True

    async def allowed() -> bool:
        return (await service.get_session(db, name='celular', viewer=None)).sending_enabled

    await eventually(allowed)


async def test_agents_and_managers_never_reach_the_sessions(user: User, world: World, db: Database) -> None:
    await service.add_session(db, branch_code='SUC1', name='celular', label='Celular del local')
    await sign_in(user, 'marta', world.password)
    await user.open('/admin/sessions')
    await user.should_see(marker='forbidden')
    await user.should_not_see('Celular del local')
