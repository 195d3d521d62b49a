"""A newcomer's first minute, in a real browser: log in as the demo agent and see the shell."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.conftest import DEMO_PASSWORD, RunningApp


async def test_demo_agent_logs_in_and_sees_the_shell(running_app: RunningApp, browser: Browser, tmp_path: Path) -> None:
    page = await browser.new_page()
    await page.goto(running_app.base_url + '/')

    await expect(page).to_have_url(f'{running_app.base_url}/login?next=/')
    await page.get_by_label('Usuario').fill('ana')
    await page.get_by_label('Contraseña').fill(DEMO_PASSWORD)
    await page.get_by_role('button', name='Ingresar').click()

    header = page.get_by_role('banner')
    await expect(header.get_by_text('Ana Gómez')).to_be_visible()
    await expect(header.get_by_text('Vendedor · SUC1 · Casa Central')).to_be_visible()
    await expect(page.get_by_role('button', name='Bandeja')).to_be_visible()
    # Demo conversations of Ana's branch only; Rosario's customer is not listed.
    await expect(page.get_by_text('Martín Ruiz')).to_be_visible()
    await expect(page.get_by_text('Gustavo Paz')).to_have_count(0)
    await page.screenshot(path=str(tmp_path / 'shell.png'))


async def test_wrong_password_shows_an_error(running_app: RunningApp, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(running_app.base_url + '/login')

    await page.get_by_label('Usuario').fill('ana')
    await page.get_by_label('Contraseña').fill('definitely wrong')
    await page.get_by_label('Contraseña').press('Enter')

    await expect(page.get_by_text('Usuario o contraseña incorrectos.')).to_be_visible()
    await expect(page).to_have_url(f'{running_app.base_url}/login')
