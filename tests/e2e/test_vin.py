"""VIN from a photo end to end (SPEC V1, C4, A1): the simulator's customer sends the sample VIN label photo; the
reading appears under the image in an agent's chat, the AI summary shows the vehicle and VIN, and the bot answers
the customer "Tu vehículo: …" — real server (OCR process pool included), real Chromium."""

from __future__ import annotations

import secrets

from playwright.async_api import Browser, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer
from tests.e2e.test_takeover import panel

SAMPLE_VIN = '9BWAB45U5FP012345'  # app/static/simulator/vin-sample.jpg (scripts/make_vin_sample.py)
VEHICLE = 'Volkswagen Gol / Voyage / Saveiro 2015'
READING_PATIENCE = 120_000  # ms: download, the first photo starts the OCR processes, then the bot's pause


async def test_the_sample_photo_is_read_shown_and_answered(running_app: RunningApp, browser: Browser) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    name = f'Paula Ríos {digits[-4:]}'
    _, ana = await agent(browser, running_app, 'ana')
    phone = await customer(browser, running_app, f'+54 9 11 {digits[:4]} {digits[4:]}')
    await phone.get_by_label('Tu nombre').fill(name)

    await phone.get_by_role('button', name='Foto de VIN de ejemplo').click()
    await ana.locator('.q-item', has_text=name).click()

    # Under the photo in the chat: the VIN, what it says, and that no check digit covers it.
    reading = ana.locator('.vin-reading')
    await expect(reading.get_by_text(SAMPLE_VIN)).to_be_visible(timeout=READING_PATIENCE)
    await expect(reading.get_by_text(VEHICLE)).to_be_visible()
    await expect(reading.get_by_text('VIN sin verificar')).to_be_visible()
    # The AI summary took the vehicle from the photo.
    await expect(panel(ana).get_by_text(f'VIN {SAMPLE_VIN}')).to_be_visible(timeout=READING_PATIENCE)
    await expect(panel(ana).get_by_text('VW Gol / Voyage / Saveiro 2015', exact=True).first).to_be_visible()
    # The bot told the customer, once.
    answer = phone.get_by_text(f'Tu vehículo: {VEHICLE} — VIN {SAMPLE_VIN}', exact=False)
    await expect(answer).to_be_visible(timeout=READING_PATIENCE)
    await expect(ana.locator('.bg-purple-50', has_text='Tu vehículo:')).to_have_count(1)
