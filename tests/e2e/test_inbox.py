"""Two agents of Casa Central, one of Rosario and a customer in the simulator, all in real Chromium pages
against the real server (SPEC C1–C3, M5)."""

from __future__ import annotations

import asyncio
import secrets

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, RunningApp


async def agent(
    browser: Browser, app: RunningApp, username: str, *, clock_wrong_by_seconds: float = 0
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context()
    if clock_wrong_by_seconds:  # a PC whose clock is wrong (the page must count down from the server's)
        await context.add_init_script(
            f'const realNow = Date.now.bind(Date); Date.now = () => realNow() + {clock_wrong_by_seconds * 1000};'
        )
    page = await context.new_page()
    await page.goto(app.base_url + '/login')
    await page.get_by_label('Usuario').fill(username)
    await page.get_by_label('Contraseña').fill(DEMO_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()
    await expect(page.get_by_placeholder('Buscar nombre, teléfono o mensaje')).to_be_visible()
    return context, page


async def customer(browser: Browser, app: RunningApp, phone: str, name: str | None = None) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(app.base_url + '/simulador')
    if name is not None:
        await page.get_by_label('Tu nombre').fill(name)
    field = page.get_by_label('Tu teléfono')
    await field.fill(phone)
    await field.blur()
    return page


async def customer_says(page: Page, text: str) -> None:
    composer = page.get_by_placeholder('Escribí un mensaje')
    await composer.fill(text)
    await composer.press('Enter')
    await expect(page.locator('.bg-green-100', has_text=text).get_by_text('✓✓')).to_be_visible()


def thread(page: Page) -> Locator:
    """The open conversation's messages, apart from the list (whose rows preview the last message)."""
    return page.locator('[class*="bg-[#efe7dd]"]')


async def test_two_agents_one_customer_live(running_app: RunningApp, browser: Browser) -> None:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    name_phone = f'+54 9 11 {digits[:4]} {digits[4:]}'
    _, ana = await agent(browser, running_app, 'ana')
    _, bruno = await agent(browser, running_app, 'bruno')
    _, carla = await agent(browser, running_app, 'carla')  # Rosario: must see nothing of Casa Central
    dialogs: list[str] = []
    for page in (ana, bruno, carla):
        page.on('dialog', lambda dialog: dialogs.append(dialog.message))
    # Rows are found by the customer's name: their preview changes when the bot answers, at a moment that depends
    # on how busy the machine is.
    customer_name = f'Jimena {digits[-4:]}'
    phone = await customer(browser, running_app, name_phone, name=customer_name)

    # A customer message appears in both Casa Central inboxes, live.
    await customer_says(phone, 'Hola, ¿tienen filtro de aceite para Corsa 1.6?')
    for page in (ana, bruno):
        await expect(page.locator('.q-item', has_text=customer_name)).to_be_visible()
    row = ana.locator('.q-item', has_text=customer_name)
    await row.click()
    await bruno.locator('.q-item', has_text=customer_name).click()
    # In the open chat (the list's row previews the same text until the bot answers).
    await expect(thread(ana).get_by_text('Hola, ¿tienen filtro de aceite para Corsa 1.6?')).to_be_visible()

    # Ana types; Bruno sees it.
    await ana.get_by_placeholder('Escribí una respuesta').press_sequentially('Sí, tenemos Fram PH')
    await expect(bruno.get_by_text('Ana Gómez está escribiendo…')).to_be_visible()

    # Ana replies; the customer gets it, and since the chat is open on the phone, ticks turn to read.
    await ana.get_by_placeholder('Escribí una respuesta').fill('Sí, tenemos Fram PH5949 a $ 9.800')
    await ana.get_by_placeholder('Escribí una respuesta').press('Enter')
    await expect(phone.get_by_text('Sí, tenemos Fram PH5949 a $ 9.800')).to_be_visible()
    reply = ana.locator('[class*="bg-green-100"]', has_text='Fram PH5949')
    await expect(reply.locator('.text-sky-500', has_text='✓✓')).to_be_visible(timeout=10_000)
    await expect(bruno.locator('[class*="bg-green-100"]', has_text='Fram PH5949 a $ 9.800')).to_be_visible()

    # The customer's markup stays text, everywhere.
    await customer_says(phone, '<img src=x onerror=alert(1)>')
    await expect(ana.get_by_text('<img src=x onerror=alert(1)>').first).to_be_visible()

    # A dropped websocket: what arrives meanwhile is there after the reconnect.
    await ana.evaluate('window.socket.disconnect()')
    await customer_says(phone, 'Mensaje durante el corte')
    await ana.evaluate('window.socket.connect()')
    await expect(ana.get_by_text('Mensaje durante el corte').first).to_be_visible()

    # Rosario saw nothing of it, and no script ever ran.
    await expect(carla.get_by_text('filtro de aceite para Corsa')).to_have_count(0)
    await expect(carla.get_by_text('Mensaje durante el corte')).to_have_count(0)
    assert dialogs == []


async def top_row_text(page: Page) -> str:
    """The text of the row an agent sees first in the conversation list (its place is CSS order, not DOM order)."""
    return await page.locator('[class*="w-[300px]"] .q-item').evaluate_all(
        '(rows) => rows.filter((r) => r.offsetParent !== null)'
        '.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)[0]?.textContent ?? ""'
    )


async def until_top_row_has(page: Page, text: str, *, seconds: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while text not in (shown := await top_row_text(page)):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f'the top row shows {shown!r}, not {text!r}')
        await asyncio.sleep(0.2)


async def test_the_customer_who_wrote_last_is_on_top_of_the_list(running_app: RunningApp, browser: Browser) -> None:
    tag = secrets.token_hex(3)
    _, ana = await agent(browser, running_app, 'ana')
    first = await customer(browser, running_app, f'+54 9 11 6{secrets.randbelow(10**7):07d}', name=f'Primero {tag}')
    second = await customer(browser, running_app, f'+54 9 11 7{secrets.randbelow(10**7):07d}', name=f'Segundo {tag}')

    await customer_says(first, 'Hola, busco un radiador')
    await until_top_row_has(ana, f'Primero {tag}')  # a new conversation appears on top
    await customer_says(second, 'Hola, busco pastillas de freno')
    await until_top_row_has(ana, f'Segundo {tag}')

    # The first customer writes again: that row goes back on top (the bot's answer may follow it there).
    await customer_says(first, 'Es para un Gol Trend 2015')
    await until_top_row_has(ana, f'Primero {tag}')
    await expect(ana.locator('.q-item', has_text=f'Primero {tag}')).to_have_count(1)  # moved, not duplicated


async def test_alert_sounds_share_one_audio_context_that_rests_between_beeps(
    running_app: RunningApp, browser: Browser
) -> None:
    # A running AudioContext keeps an audio thread busy; one per alert piled up over an agent's day.
    context = await browser.new_context()
    await context.add_init_script("""
        window.lmContexts = 0;
        const Original = window.AudioContext;
        window.AudioContext = class extends Original { constructor(...a) { super(...a); window.lmContexts += 1; } };
    """)
    page = await context.new_page()
    await page.goto(running_app.base_url + '/login')
    await page.get_by_label('Usuario').fill('ana')
    await page.get_by_label('Contraseña').fill(DEMO_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()
    await expect(page.get_by_placeholder('Buscar nombre, teléfono o mensaje')).to_be_visible()

    for _ in range(5):
        await page.evaluate("window.lmAlert('Nuevo mensaje', '', true)")
    await page.wait_for_function("window.lmAudio && window.lmAudio.state === 'suspended'", timeout=5_000)
    assert await page.evaluate('window.lmContexts') == 1
    await context.close()
