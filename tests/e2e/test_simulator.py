"""The whole WhatsApp path offline, in a real browser against the real server (M5, M1, M3):
a customer writes in the simulator, the app stores it through the signed webhook, and a reply sent
through the API goes out through the outbox and the fake Graph API back to the customer's phone."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.conftest import RunningApp


async def test_customer_writes_and_the_reply_reaches_the_simulator(running_app: RunningApp, browser: Browser) -> None:
    key = running_app.cli('apikeys', 'create', '--name', 'e2e').split()[-1]
    page = await browser.new_page()
    await page.goto(running_app.base_url + '/simulador')
    phone = page.get_by_label('Tu teléfono')
    await phone.fill('+54 9 11 4321-8765')
    await phone.blur()

    composer = page.get_by_placeholder('Escribí un mensaje')
    await composer.fill('Hola, necesito un kit de distribución para Clio 1.6')
    await composer.press('Enter')
    bubble = page.locator('.bg-green-100', has_text='kit de distribución para Clio')
    await expect(bubble).to_be_visible()
    await expect(bubble.get_by_text('✓✓')).to_be_visible()  # the app acknowledged the signed webhook

    async with httpx.AsyncClient(base_url=running_app.base_url, headers={'X-API-Key': key}) as api:
        conversation = await _conversation_of(api, '+5491143218765')
        messages = (await api.get(f'/api/v1/conversations/{conversation["id"]}/messages')).json()
        assert [m['text'] for m in messages] == ['Hola, necesito un kit de distribución para Clio 1.6']
        reply = await api.post(
            f'/api/v1/conversations/{conversation["id"]}/messages',
            json={'text': 'Tenemos el kit Gates, $ 185.000. ¿Te lo reservo?'},
        )
        assert reply.status_code == 202

        await expect(page.get_by_text('Tenemos el kit Gates, $ 185.000. ¿Te lo reservo?')).to_be_visible()
        # The customer has the chat open, so the fake Meta reports it read; the app stores that status.
        for _ in range(50):
            status = (await api.get(f'/api/v1/messages/{(await _last_outbound(api, conversation["id"]))}')).json()
            if status['status'] == 'read':
                break
            await asyncio.sleep(0.1)
        assert status['status'] == 'read'


async def test_message_text_is_shown_as_text_never_as_html(running_app: RunningApp, browser: Browser) -> None:
    page = await browser.new_page()
    dialogs: list[str] = []
    page.on('dialog', lambda dialog: dialogs.append(dialog.message))
    await page.goto(running_app.base_url + '/simulador')

    composer = page.get_by_placeholder('Escribí un mensaje')
    await composer.fill('<img src=x onerror=alert(1)>')
    await composer.press('Enter')

    await expect(page.locator('.bg-green-100', has_text='<img src=x onerror=alert(1)>')).to_be_visible()
    assert dialogs == []


async def _conversation_of(api: httpx.AsyncClient, phone: str) -> dict:
    for _ in range(50):  # the ingest worker stores it right after the acknowledgement
        for conversation in (await api.get('/api/v1/conversations')).json():
            if conversation['contact_phone'] == phone:
                return conversation
        await asyncio.sleep(0.1)
    raise AssertionError(f'no conversation for {phone}')


async def _last_outbound(api: httpx.AsyncClient, conversation_id: int) -> str:
    messages = (await api.get(f'/api/v1/conversations/{conversation_id}/messages')).json()
    outbound = [m for m in messages if m['direction'] == 'out']
    assert outbound and outbound[-1]['whatsapp_message_id'], messages
    return outbound[-1]['whatsapp_message_id']
