"""The manager dashboard end to end (SPEC B3, T5, C2) in real Chromium against the real server: a customer asks for
a person in the simulator and Marta's open `/panel` shows him waiting, live, with no reload; Ana answers him and
Marta's page shows how long he waited for that first answer. And the shared date-range picker, clicked as a person
clicks it: the first day, then the last, the chosen range staying on screen in between."""

from __future__ import annotations

import re
import secrets

from playwright.async_api import Browser, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer, customer_says


async def test_a_waiting_customer_and_his_first_answer_appear_live_on_the_dashboard(
    running_app: RunningApp, browser: Browser
) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    customer_name = f'Hernán {digits[-4:]}'
    _, marta = await agent(browser, running_app, 'marta')
    await marta.goto(running_app.base_url + '/panel')
    await expect(marta.get_by_text(re.compile(r'^Actualizado \d'))).to_be_visible()  # the first read is shown
    row = marta.locator('.q-item', has_text=customer_name)
    await expect(row).to_have_count(0)

    phone = await customer(browser, running_app, f'+54 9 11 {digits[:4]} {digits[4:]}', name=customer_name)
    await customer_says(phone, 'Hola, quiero hablar con un vendedor por unas pastillas de freno')

    # Marta's dashboard shows him in the queue, waiting for a person, without a reload.
    await expect(row).to_be_visible()
    await expect(row.get_by_text('Espera humano')).to_be_visible()

    # Ana takes him and answers; Marta's page shows the first answer by a person and how long it took.
    _, ana = await agent(browser, running_app, 'ana')
    await ana.locator('.q-item', has_text=customer_name).click()
    await ana.locator('[class*="w-[350px]"]').get_by_role('button', name='Tomar').click()
    composer = ana.get_by_placeholder('Escribí una respuesta')
    await composer.fill('Hola Hernán, soy Ana: ¿para qué auto son?')
    await composer.press('Enter')
    await expect(phone.get_by_text('Hola Hernán, soy Ana: ¿para qué auto son?')).to_be_visible()

    answer = marta.locator('.nicegui-row', has_text=customer_name).get_by_text(re.compile(r'^respondida en \d'))
    await expect(answer.first).to_be_visible()
    await expect(row).to_have_count(0)  # held and answered: no longer in the queue


async def test_the_range_picker_takes_a_first_and_a_last_click(running_app: RunningApp, browser: Browser) -> None:
    _, marta = await agent(browser, running_app, 'marta')
    await marta.goto(running_app.base_url + '/reportes?desde=2026-01-01&hasta=2026-01-31')
    button = marta.get_by_role('button', name='01/01/2026 al 31/01/2026')
    await button.click()
    calendar = marta.locator('.q-date')
    day = lambda number: calendar.locator('.q-date__calendar-item button', has_text=re.compile(rf'^{number}$'))  # noqa: E731

    await day(10).click()  # inside the current range: Quasar alone would have cleared it

    await expect(marta.get_by_text('Desde el 10/01/2026: ahora tocá el último día.')).to_be_visible()
    await expect(button).to_be_visible()  # the range in force is still on the button

    await day(20).click()

    await expect(marta).to_have_url(re.compile(r'desde=2026-01-10&hasta=2026-01-20'))
    await expect(marta.get_by_role('button', name='10/01/2026 al 20/01/2026')).to_be_visible()
