"""Campaigns with opt-out (issue 16, L4), in a real browser against the real server: with validated prospects in
the database, a manager creates and sends a campaign on /campanas; the prospect receives the template on the
simulator's phone, answers "BAJA", gets the confirmation and is never messaged again (a second campaign blocks
them); the campaign's page shows the reply and the response rate per score band."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from services.database import Database
from tests.e2e.conftest import DEMO_PASSWORD, RunningApp
from tests.e2e.test_admin import pick, sign_in
from tests.unit.services.campaigns.prospects import Prospect, add_prospects

LABEL = 'e2e-frenos'
LUCIA = '5491143215001'


async def seed_prospects(running_app: RunningApp) -> None:
    db = Database.from_url(running_app.env['LEADMASTER_DATABASE_URL'])
    try:
        async with db.session() as session:
            from sqlmodel import select

            from services.models import Branch

            central = (await session.exec(select(Branch.id).where(Branch.code == 'SUC1'))).one()
        await add_prospects(
            db,
            [
                Prospect(LUCIA, 'Lucía Paz', score=92, labels=[LABEL], branch_ids=[central or 0]),
                Prospect('5491143215002', 'Hugo Díaz', score=50, labels=[LABEL], branch_ids=[central or 0]),
            ],
        )
    finally:
        await db.dispose()


async def test_a_campaign_reaches_the_customer_who_opts_out_for_good(running_app: RunningApp, browser: Browser) -> None:
    await seed_prospects(running_app)
    base = running_app.base_url
    manager = await browser.new_page()
    await sign_in(manager, base, 'marta', DEMO_PASSWORD)

    await manager.goto(base + '/campanas')
    await manager.get_by_text('Nueva campaña').click()
    await manager.get_by_label('Nombre de la campaña').fill('Pastillas e2e')
    await pick(manager, 'Plantilla aprobada', 'retomar_conversacion')
    await manager.get_by_label('Con la etiqueta (opcional)').fill(LABEL)
    # Whatever the hour and day the suite runs (the default window is Monday to Saturday, 9 to 20 in Buenos Aires,
    # and outside it the pace waits for the next opening): every day, all day.
    await manager.get_by_label('Desde (hora)').fill('0')
    await manager.get_by_label('Hasta (hora)').fill('24')
    await manager.get_by_label('Días', exact=True).click()
    await manager.get_by_role('option', name='Do', exact=True).click()
    await manager.keyboard.press('Escape')
    await manager.get_by_role('button', name='Calcular audiencia').click()
    await expect(manager.get_by_text('2 prospectos: 1 reciben el mensaje, 1 quedan bloqueados')).to_be_visible()
    await manager.get_by_role('button', name='Crear campaña').click()
    await manager.get_by_role('button', name='Enviar ahora').click()
    await expect(manager.get_by_text('1 mensajes en cola, 1 bloqueados por el filtro de calidad')).to_be_visible()
    await expect(manager.get_by_text('Contactabilidad baja: 1')).to_be_visible()
    campaign_id = manager.url.split('campana=')[1]

    # Lucía's phone: the template arrives on Casa Central's number.
    phone = await browser.new_page()
    await phone.goto(base + '/simulador')
    number = phone.get_by_label('Tu teléfono')
    await number.fill('+54 9 11 4321-5001')
    await number.blur()
    template = phone.locator('.bg-white', has_text='[retomar_conversacion] Lucía · Casa Central')
    await expect(template).to_be_visible()

    composer = phone.get_by_placeholder('Escribí un mensaje')
    await composer.fill('Baja!!')
    await composer.press('Enter')
    await expect(phone.get_by_text('Listo, te dimos de baja')).to_be_visible()

    # The campaign's page, live: the reply and the rate per band (her band, 90–100: 1 of 1 answered).
    await expect(manager.get_by_text('Baja!!')).to_be_visible()
    await expect(manager.get_by_text('90–100: 1/1 100,0 %')).to_be_visible()

    # Never again: a second campaign to the same audience blocks her (and Hugo, for his score).
    second = running_app.cli(
        'campaigns', 'create', '--name', 'Segunda e2e', '--number', 'sim-suc1-ventas',
        '--template', 'retomar_conversacion', '--label', LABEL, '--branch', 'SUC1',
    ).strip().splitlines()[-1]  # fmt: skip
    assert '0 queued, 2 blocked' in running_app.cli('campaigns', 'run', second)
    shown = json.loads(running_app.cli('campaigns', 'show', second, '--json'))
    assert shown['blocked'] == {'opted_out': 1, 'low_score': 1} and shown['queued'] == 0
    first = json.loads(running_app.cli('campaigns', 'show', campaign_id, '--json'))
    assert (first['replied'], first['opted_out']) == (1, 1)
    await phone.reload()  # her chat from the start: one template, the BAJA, the confirmation, nothing after
    await phone.get_by_label('Tu teléfono').fill('+54 9 11 4321-5001')
    await phone.get_by_label('Tu teléfono').blur()
    await expect(phone.get_by_text('Listo, te dimos de baja')).to_be_visible()
    await expect(template).to_be_visible()
    assert await phone.locator('.bg-white', has_text='[retomar_conversacion]').count() == 1
