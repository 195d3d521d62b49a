"""`/panel` through NiceGUI's simulated browser, on SQLite and PostgreSQL: the queue shows who waits, live, a click
opens the conversation; agents are refused; the shared date-range picker keeps its range while a new one is picked."""

from __future__ import annotations

import json

import pytest
from nicegui import ui
from nicegui.testing import User

from app.runtime import runtime
from services.database import Database
from services.whatsapp import payload_builders as build
from services.whatsapp.signatures import sign
from tests.builders import conversation_with_message
from tests.conftest import APP_SECRET, World
from tests.unit.app.pages.test_login import sign_in

PATIENCE = 200  # × 0.1 s: a page answers after a database round trip, slow on a busy machine


@pytest.fixture
async def waiting(db: Database, world: World) -> int:
    """Martín wrote to Casa Central 20 minutes ago and nobody answered."""
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text='¿Tienen pastillas de freno para Gol Trend?',
        wa_message_id='wamid.DASH1',
        hours_ago=20 / 60,
    )


async def test_the_queue_shows_who_waits_and_a_click_opens_the_conversation(
    user: User, world: World, waiting: int
) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')

    await user.open('/panel')

    await user.should_see(marker=f'queue-row-{waiting}', retries=PATIENCE)
    await user.should_see('Martín Ruiz')
    await user.should_see('20 min', retries=PATIENCE)  # how long he has waited ("20 min 00 s")
    assert _text(user, 'kpi-queue') == '1'
    assert _text(user, 'today-conversations') == '1'
    await user.should_see(marker='chart-conversations')

    user.find(marker=f'queue-row-{waiting}').click()

    await user.should_see(content='¿Tienen pastillas de freno para Gol Trend?', marker='message-text', retries=PATIENCE)


async def test_a_new_customer_appears_in_the_queue_live(user: User, world: World, waiting: int) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open('/panel')
    await user.should_see(marker=f'queue-row-{waiting}', retries=PATIENCE)

    # A customer of Rosario and one of Casa Central write; the manager of Casa Central sees only hers.
    for phone_number_id, display, wa_id, name in (
        ('pn-rosario', '5493415000201', '5493419990000', 'Cliente Rosarino'),
        ('pn-central', '5491150000101', '5491177778888', 'Nueva Clienta'),
    ):
        raw = json.dumps(
            build.envelope(
                phone_number_id=phone_number_id,
                display_phone_number=display,
                contacts=[build.contact(wa_id=wa_id, name=name)],
                messages=[build.text_message(from_=wa_id, body='Hola, ¿hacen envíos?')],
            )
        ).encode()
        response = await user.http_client.post(
            '/webhooks/whatsapp', content=raw, headers={'X-Hub-Signature-256': sign(raw, APP_SECRET)}
        )
        assert response.status_code == 200
    await runtime().ingest.drain()

    await user.should_see('Nueva Clienta', retries=PATIENCE)
    assert _text(user, 'kpi-queue') == '2'
    await user.should_not_see('Cliente Rosarino')


async def test_agents_cannot_open_the_dashboard(user: User, world: World, waiting: int) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.should_not_see(marker='nav-/panel')

    await user.open('/panel')

    await user.should_see('Sin permiso')
    await user.should_not_see(marker='queue')


async def test_the_range_picker_keeps_the_range_while_a_new_one_is_picked(user: User, world: World) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open('/reportes?desde=2026-01-01&hasta=2026-01-31')
    await user.should_see('01/01/2026 al 31/01/2026')
    user.find(marker='range-picker').click()  # opens the calendar
    await user.should_see(marker='range-hint')
    calendar = user.find(marker='range-date').elements.pop()
    assert isinstance(calendar, ui.date)
    # A first click inside the range starts a new one instead of clearing it (Quasar's `no-unset`).
    assert calendar.props.get('no-unset') is True and calendar.props.get('range') is True
    assert calendar.value == {'from': '2026-01-01', 'to': '2026-01-31'}

    user.find(marker='range-date').trigger('rangeStart', {'year': 2026, 'month': 1, 'day': 10})

    await user.should_see('Desde el 10/01/2026: ahora tocá el último día.')
    assert calendar.value == {'from': '2026-01-01', 'to': '2026-01-31'}
    await user.should_see('01/01/2026 al 31/01/2026')  # still on the button

    calendar.set_value({'from': '2026-01-10', 'to': '2026-01-20'})  # the second click, as Quasar reports it

    await user.should_see('10/01/2026 al 20/01/2026', retries=PATIENCE)
    await user.should_see(marker='report-table')


def _text(user: User, marker: str) -> str:
    (element,) = user.find(marker=marker).elements
    return getattr(element, 'text', '')
