"""The console's layout in real Chromium (SPEC C1, C3, C5; issue 18): on a 900 px tablet the client panel is a drawer
an agent opens to take over, quote and release, with the composer always on screen; at 1440×900 the page fits the
window; a long preview never makes the list scroll sideways; Esc closes the panel; the language switch keeps the
open conversation and translates Quasar's own words too."""

from __future__ import annotations

import re
import secrets

from playwright.async_api import Browser, Locator, Page, expect

from services.database import Database
from tests.e2e.conftest import DEMO_PASSWORD, RunningApp
from tests.e2e.test_inbox import customer, customer_says
from tests.e2e.test_takeover import COUNTDOWN, conversation_of

TABLET = {'width': 900, 'height': 1200}
DESKTOP = {'width': 1440, 'height': 900}
PATIENCE = 60_000  # ms: the catalog search and a quote on a shared machine


async def agent_at(browser: Browser, app: RunningApp, username: str, viewport: dict[str, int]) -> Page:
    page = await (await browser.new_context(viewport=viewport)).new_page()  # type: ignore[arg-type]
    await page.goto(app.base_url + '/login')
    await page.get_by_label('Usuario').fill(username)
    await page.get_by_label('Contraseña').fill(DEMO_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()
    await expect(page.get_by_placeholder('Buscar nombre, teléfono o mensaje')).to_be_visible()
    return page


def panel(page: Page) -> Locator:
    """The right column, or the drawer (the same element)."""
    return page.locator('[class*="w-[350px]"]')


def composer(page: Page) -> Locator:
    return page.get_by_placeholder(re.compile('Escribí una respuesta|Write a reply'))


async def fully_on_screen(page: Page, element: Locator) -> bool:
    box = await element.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    return (
        box['y'] >= 0
        and box['x'] >= 0
        and box['y'] + box['height'] <= viewport['height'] + 0.5
        and (box['x'] + box['width'] <= viewport['width'] + 0.5)
    )


async def a_customer_writes(browser: Browser, app: RunningApp, text: str) -> tuple[str, str, Page]:
    """A new customer (name, E.164 phone, simulator page) who wrote `text`."""
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    name = f'Tablet {digits[-4:]} {secrets.token_hex(2)}'
    phone = await customer(browser, app, f'+54 9 11 {digits[:4]} {digits[4:]}', name=name)
    await customer_says(phone, text)
    return name, f'+54911{digits}', phone


async def test_on_a_tablet_the_agent_takes_quotes_and_releases_from_the_drawer(
    running_app: RunningApp, browser: Browser
) -> None:
    ana = await agent_at(browser, running_app, 'ana', TABLET)
    name, e164, phone = await a_customer_writes(browser, running_app, '¿Tienen pastillas de freno para Gol Trend 2015?')
    db = Database.from_url(running_app.env['LEADMASTER_DATABASE_URL'])
    try:
        await ana.locator('.q-item', has_text=name).click()
        await expect(composer(ana)).to_be_visible()
        assert await fully_on_screen(ana, composer(ana)), 'the composer is below the fold on a tablet'
        await expect(panel(ana)).to_be_hidden()  # no room for a third column: a drawer, closed

        # The drawer opens from a visible toggle, with the whole panel: take over, pause AI, the quote.
        await ana.get_by_role('button', name='Panel del cliente').click()
        await expect(panel(ana)).to_be_visible()
        await panel(ana).get_by_role('button', name='Tomar').click()
        await expect(panel(ana).get_by_text(COUNTDOWN)).to_be_visible()
        assert (await conversation_of(db, e164)).assigned_user_id is not None

        await panel(ana).get_by_text('Buscar en el catálogo').click()
        await panel(ana).get_by_label('Buscar repuesto, código o vehículo').fill('pastillas de freno gol trend 2015')
        add = panel(ana).locator('button', has_text='add_shopping_cart').first
        await expect(add).to_be_visible(timeout=PATIENCE)
        await add.click()
        await expect(panel(ana).get_by_text(re.compile(r'^Presupuesto SUC1-\d{6}$'))).to_be_visible(timeout=PATIENCE)

        # Esc closes the drawer (it used to toggle it); the composer is on screen and answers the customer.
        await ana.keyboard.press('Escape')
        await expect(panel(ana)).to_be_hidden()
        assert await fully_on_screen(ana, composer(ana))
        await composer(ana).fill('Sí, te paso el presupuesto')
        await composer(ana).press('Enter')
        await expect(phone.get_by_text('Sí, te paso el presupuesto')).to_be_visible()

        # Release from the bar above the thread (shown while the drawer is closed); L and T are its shortcuts.
        await ana.get_by_role('button', name='Liberar').click()
        await expect(ana.get_by_role('button', name='Tomar')).to_be_visible()
        released = await conversation_of(db, e164)
        assert (released.mode, released.assigned_user_id) == ('ai', None)
        await ana.locator('body').press('t')
        await expect(ana.get_by_role('button', name='Liberar')).to_be_visible()
        assert (await conversation_of(db, e164)).assigned_user_id is not None
        await ana.locator('body').press('l')
        await expect(ana.get_by_role('button', name='Tomar')).to_be_visible()
        assert (await conversation_of(db, e164)).assigned_user_id is None
        assert await fully_on_screen(ana, composer(ana))
    finally:
        await db.dispose()


async def test_at_1440_by_900_the_page_fits_the_window_and_esc_closes_the_panel(
    running_app: RunningApp, browser: Browser
) -> None:
    admin = await agent_at(browser, running_app, 'admin', DESKTOP)  # the admin's header has the most in it
    name, _, _ = await a_customer_writes(browser, running_app, 'Hola, busco un radiador')
    await admin.locator('.q-item', has_text=name).click()
    await expect(composer(admin)).to_be_visible()

    heights = await admin.evaluate('[document.documentElement.scrollHeight, window.innerHeight]')
    assert heights[0] <= heights[1], f'the page is {heights[0] - heights[1]} px taller than the window'
    assert await fully_on_screen(admin, composer(admin)), 'the composer is cut at the bottom'
    await expect(panel(admin)).to_be_visible()  # a column at this width

    # Esc closes the panel, and a visible button brings it back.
    await admin.locator('body').press('Escape')
    await expect(panel(admin)).to_be_hidden()
    await admin.get_by_role('button', name='Panel del cliente').click()
    await expect(panel(admin)).to_be_visible()
    await admin.get_by_role('button', name='Cerrar el panel').click()
    await expect(panel(admin)).to_be_hidden()


async def test_a_long_preview_stays_in_its_row(running_app: RunningApp, browser: Browser) -> None:
    ana = await agent_at(browser, running_app, 'ana', DESKTOP)
    long_text = 'Necesito ' + ' '.join(['pastillas de freno, discos, amortiguadores y filtros'] * 8)
    name, _, _ = await a_customer_writes(browser, running_app, long_text)
    row = ana.locator('.q-item', has_text=name)
    await expect(row).to_be_visible()

    column = ana.locator('[class*="w-[300px]"]').first
    sideways = await column.locator('.q-scrollarea__container').evaluate(
        '(area) => area.scrollWidth - area.clientWidth'
    )
    assert sideways <= 0, f'the list scrolls {sideways} px sideways'
    column_right = await column.bounding_box() or {'x': 0, 'width': 0}
    right_edge = column_right['x'] + column_right['width']
    # Every piece of the row (the time, the unread badge) ends inside the column; the preview is cut.
    furthest = await row.evaluate(
        '(row) => Math.max(...[...row.querySelectorAll("*")].filter((e) => e.textContent.trim())'
        '.map((e) => e.getBoundingClientRect().right))'
    )
    assert furthest <= right_edge + 0.5, f'the row reaches {furthest} px, its column ends at {right_edge} px'
    time = row.get_by_text(re.compile(r'^\d\d:\d\d$'))
    await expect(time).to_be_visible()
    assert await fully_inside(time, right_edge)
    unread = row.locator('.q-badge', has_text=re.compile(r'^\d+$'))
    await expect(unread).to_be_visible()
    assert await fully_inside(unread, right_edge)


async def fully_inside(element: Locator, right_edge: float) -> bool:
    box = await element.bounding_box()
    return box is not None and box['x'] + box['width'] <= right_edge + 0.5


async def test_switching_to_english_keeps_the_open_conversation_and_translates_quasar(
    running_app: RunningApp, browser: Browser
) -> None:
    ana = await agent_at(browser, running_app, 'ana', DESKTOP)
    name, _, _ = await a_customer_writes(browser, running_app, '¿Abren los sábados?')
    await ana.locator('.q-item', has_text=name).click()
    await expect(composer(ana)).to_be_visible()

    await ana.locator('.q-header .q-select', has_text='ES').click()
    await ana.get_by_role('option', name='EN').click()

    await expect(ana.get_by_placeholder('Search name, phone or message')).to_be_visible()
    await expect(ana.get_by_placeholder('Write a reply')).to_be_visible()  # the same conversation, still open
    await expect(ana.locator('[class*="bg-[#efe7dd]"]').get_by_text('¿Abren los sábados?')).to_be_visible()

    # Quasar's own words too (an empty table's "No data available", its pagination), not Spanish.
    await ana.goto(running_app.base_url + '/presupuestos')
    table = ana.locator('.q-table__container')
    await expect(table.get_by_text(re.compile('No data available|Records per page'))).to_be_visible()
    await expect(table.get_by_text(re.compile('Filas por página|Sin datos|No hay datos'))).to_have_count(0)
