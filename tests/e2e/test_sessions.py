"""WhatsApp Web through the (simulated) WAHA gateway in real Chromium pages against the real server (SPEC M6):
the admin starts the demo's session and sees its QR, the phone in the simulator "scans" it, the state chip turns
READY live, and a customer writing to that number reaches an agent's inbox with the channel's badge."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent


async def test_a_web_session_is_scanned_live_and_its_customers_reach_the_inbox(
    running_app: RunningApp, browser: Browser
) -> None:
    _, admin = await agent(browser, running_app, 'admin')
    await admin.goto(running_app.base_url + '/admin/sessions')
    await expect(admin.get_by_text('Celular del local (WhatsApp Web)')).to_be_visible()
    await admin.get_by_role('button', name='Iniciar', exact=True).click()
    await expect(admin.get_by_text('Falta escanear el QR', exact=True)).to_be_visible(timeout=20_000)
    qr = admin.locator('img[src^="data:image/png"]')
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box is not None and box['width'] >= 150  # big enough to scan from a phone

    phone = await (await browser.new_context()).new_page()
    await phone.goto(running_app.base_url + '/simulador')
    await phone.get_by_role('button', name='Escanear con el teléfono').click(timeout=20_000)
    # The admin's page hears it through the gateway's webhook: no reload.
    await expect(admin.get_by_text('Conectada', exact=True)).to_be_visible(timeout=20_000)
    await expect(qr).to_have_count(0)

    message = phone.get_by_label('Mensaje')
    await message.fill('Hola, busco un burro de arranque para Corsa 2008')
    await message.press('Enter')

    _, ana = await agent(browser, running_app, 'ana')
    row = ana.get_by_text('burro de arranque para Corsa 2008').first
    await expect(row).to_be_visible(timeout=20_000)
    await row.click()
    await expect(ana.get_by_text('WhatsApp Web', exact=True)).to_be_visible()
