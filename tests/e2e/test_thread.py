"""The thread and the simulator's phone measured in real Chromium (issue 18): the console opens a long thread with a
photo at its newest message and keeps a new message in view; a 5,000-character word wraps inside its bubble; the
phone's upload box shows no raw "0.0B / 0.00%"; the catalog search of the console's 350 px panel has room to
type. On SQLite and PostgreSQL (`leadmaster run --demo`)."""

from __future__ import annotations

import secrets

from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent, customer, customer_says, thread

# Off the bottom by at most this much counts as "at the newest message" (sub-pixel rounding, the 1 px follower).
SLACK_PX = 4


def a_phone() -> tuple[str, str]:
    digits = f'5{secrets.randbelow(1000):03d}{secrets.randbelow(10000):04d}'
    return f'+54 9 11 {digits[:4]} {digits[4:]}', digits


async def at_newest(page: Page, area: Locator) -> None:
    """Until the thread's scroll box shows its bottom (fails after 20 s)."""
    box = await area.locator('.q-scrollarea__container').element_handle()
    await page.wait_for_function(
        f'box => box.scrollHeight - box.scrollTop - box.clientHeight < {SLACK_PX}', arg=box, timeout=20_000
    )


async def until(probe: str, page: Page, *, seconds: float = 20) -> None:
    """Until the page's JavaScript expression `probe` holds (the browser lays out, then decodes images)."""
    await page.wait_for_function(probe, timeout=seconds * 1000)


async def test_a_long_thread_with_a_photo_opens_at_the_newest_message_and_follows_new_ones(
    running_app: RunningApp, browser: Browser
) -> None:
    number, digits = a_phone()
    name = f'Hilo {digits[-4:]}'
    phone = await customer(browser, running_app, number, name=name)
    for turn in range(18):
        await customer_says(phone, f'Mensaje {turn + 1} de una charla larga sobre frenos y filtros')
    await phone.get_by_role('button', name='Foto de VIN de ejemplo').click()
    await expect(phone.get_by_text('📷 Foto')).to_be_visible()
    await customer_says(phone, 'Ahí te mandé la foto de la chapa')
    _, ana = await agent(browser, running_app, 'ana')

    await ana.locator('.q-item', has_text=name).click()
    area = thread(ana)
    photo = area.locator('img').first
    await expect(photo).to_be_visible()
    await until('[...document.querySelectorAll("img")].every(img => img.complete)', ana)

    await at_newest(ana, area)
    await expect(area.get_by_text('Ahí te mandé la foto de la chapa')).to_be_in_viewport()

    # A new message while the agent is at the bottom: entirely in view, not 72 px under the fold.
    await customer_says(phone, 'Y otra cosa: ¿hacen envíos a Lanús?')
    newest = area.locator('[class*="max-w-[75%]"]', has_text='¿hacen envíos a Lanús?')
    await expect(newest).to_be_visible()
    await at_newest(ana, area)
    box = await area.locator('.q-scrollarea__container').bounding_box()
    bubble = await newest.bounding_box()
    assert box is not None and bubble is not None
    assert bubble['y'] + bubble['height'] <= box['y'] + box['height'] + 1

    # Reading older messages (her own wheel, as a person scrolls): a new one does not pull her away.
    container = area.locator('.q-scrollarea__container')
    await container.hover()
    await ana.mouse.wheel(0, -20_000)
    handle = await container.element_handle()
    await ana.wait_for_function('box => box.scrollTop < 50', arg=handle, timeout=20_000)
    await customer_says(phone, 'Espero respuesta')
    await expect(area.get_by_text('Espero respuesta')).to_be_attached()
    assert await area.locator('.q-scrollarea__container').evaluate('box => box.scrollTop') < 50


async def test_a_5000_character_word_wraps_inside_its_bubble(running_app: RunningApp, browser: Browser) -> None:
    number, digits = a_phone()
    name = f'Palabra {digits[-4:]}'
    phone = await customer(browser, running_app, number, name=name)
    word = 'A' * 5000
    await customer_says(phone, word)
    _, ana = await agent(browser, running_app, 'ana')
    await ana.locator('.q-item', has_text=name).click()

    for area, bubble in (
        (phone.locator('.q-scrollarea').first, phone.locator('.bg-green-100', has_text='AAAA')),
        (thread(ana), thread(ana).locator('[class*="max-w-[75%]"]', has_text='AAAA')),
    ):
        await expect(bubble).to_be_visible()
        text_box = await bubble.locator('text=AAAA').first.bounding_box()
        outer = await bubble.bounding_box()
        chat = await area.bounding_box()
        assert text_box is not None and outer is not None and chat is not None
        assert text_box['x'] + text_box['width'] <= outer['x'] + outer['width'] + 1  # the text stays in its bubble
        assert outer['x'] + outer['width'] <= chat['x'] + chat['width'] + 1  # the bubble stays in the chat
        assert outer['height'] > 200  # it wrapped onto many lines


async def test_the_phone_offers_a_plain_attach_button_and_sends_the_picked_photo(
    running_app: RunningApp, browser: Browser
) -> None:
    number, _ = a_phone()
    phone = await customer(browser, running_app, number)

    body = await phone.locator('body').inner_text()
    assert '0.0B' not in body and '0.00%' not in body
    attach = phone.get_by_role('button', name='Enviar foto o PDF')
    await expect(attach).to_be_visible()

    async with phone.expect_file_chooser() as chooser:
        await attach.click()
    await (await chooser.value).set_files('app/static/simulator/vin-sample.jpg')

    await expect(phone.get_by_text('📷 Foto')).to_be_visible()
    await expect(phone.locator('[class*="bg-green-100"]').last.get_by_text('✓✓')).to_be_visible()
    body = await phone.locator('body').inner_text()
    assert '0.0B' not in body and '0.00%' not in body


async def test_the_catalog_search_in_the_console_panel_has_room_to_type(
    running_app: RunningApp, browser: Browser
) -> None:
    number, digits = a_phone()
    name = f'Catálogo {digits[-4:]}'
    phone = await customer(browser, running_app, number, name=name)
    await customer_says(phone, 'Hola, busco pastillas de freno')
    context, ana = await agent(browser, running_app, 'ana')
    await ana.set_viewport_size({'width': 1440, 'height': 900})

    await ana.locator('.q-item', has_text=name).click()
    await ana.get_by_text('Buscar en el catálogo').click()
    field = ana.get_by_label('Buscar repuesto, código o vehículo')
    await expect(field).to_be_visible()

    box = await field.bounding_box()
    assert box is not None and box['width'] >= 200, box
    await context.close()
