"""Administration without the command line (issue 15), in a real browser: the admin creates a branch, a WhatsApp
number (one of Meta's +1 555 test numbers), an agent and a template through the pages; the new agent signs in
and sees only that branch."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, RunningApp


async def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    await page.goto(base_url + '/login')
    await page.get_by_label('Usuario').fill(username)
    await page.get_by_label('Contraseña').fill(password)
    await page.get_by_role('button', name='Ingresar').click()
    await expect(page.get_by_role('button', name='Bandeja')).to_be_visible()


async def pick(page: Page, label: str, option: str) -> None:
    await page.get_by_label(label, exact=True).click()
    await page.get_by_role('option', name=option, exact=True).click()


async def test_admin_sets_up_a_branch_from_the_browser_and_its_agent_sees_only_it(
    running_app: RunningApp, browser: Browser, tmp_path: Path
) -> None:
    base = running_app.base_url
    admin = await browser.new_page()
    await sign_in(admin, base, 'admin', DEMO_PASSWORD)

    await admin.goto(base + '/admin/branches')
    await admin.get_by_label('Código', exact=True).fill('SUC9')
    await admin.get_by_label('Nombre', exact=True).fill('Neuquén')
    await admin.get_by_label('Ciudad', exact=True).fill('Neuquén')
    await admin.get_by_role('button', name='Crear').click()
    await expect(admin.get_by_role('cell', name='SUC9', exact=True)).to_be_visible()

    await admin.goto(base + '/admin/numbers')
    await pick(admin, 'Canal', 'Simulador')
    await admin.get_by_label('phone_number_id / sesión', exact=True).fill('pn-neuquen')
    await admin.get_by_label('Número visible', exact=True).fill('+1 555 010 9999')
    await admin.get_by_label('Etiqueta', exact=True).fill('Ventas Neuquén')
    await pick(admin, 'Sucursal', 'SUC9 · Neuquén')
    await admin.get_by_role('button', name='Crear').click()
    await expect(admin.get_by_role('cell', name='+15550109999', exact=True)).to_be_visible()

    await admin.goto(base + '/admin/users')
    await admin.get_by_label('Usuario', exact=True).fill('valeria')
    await admin.get_by_label('Nombre', exact=True).fill('Valeria Núñez')
    await pick(admin, 'Sucursal', 'SUC9 · Neuquén')
    await admin.get_by_label('Contraseña', exact=True).fill('clave de valeria')
    await admin.get_by_role('button', name='Crear').click()
    await expect(admin.get_by_role('cell', name='valeria', exact=True)).to_be_visible()

    await admin.goto(base + '/admin/templates')
    await pick(admin, 'Número', '+15550109999 · Ventas Neuquén (SUC9)')
    await admin.get_by_label('Nombre', exact=True).fill('bienvenida_neuquen')
    await admin.get_by_label('Texto', exact=True).fill('Hola {{1}}, gracias por escribir a Neuquén.')
    await admin.get_by_role('button', name='Crear').click()
    await expect(admin.get_by_role('cell', name='bienvenida_neuquen', exact=True)).to_be_visible()
    await admin.screenshot(path=str(tmp_path / 'templates.png'))

    agent = await (await browser.new_context()).new_page()
    await sign_in(agent, base, 'valeria', 'clave de valeria')
    header = agent.get_by_role('banner')
    await expect(header.get_by_text('Valeria Núñez')).to_be_visible()
    await expect(header.get_by_text('Vendedor · SUC9 · Neuquén')).to_be_visible()
    # The demo's conversations are SUC1's and SUC2's: none of them reaches her.
    await expect(agent.get_by_text('No hay conversaciones con estos filtros.')).to_be_visible()
    await expect(agent.get_by_text('Martín Ruiz')).to_have_count(0)
    await expect(agent.get_by_text('Gustavo Paz')).to_have_count(0)
    await agent.goto(base + '/admin/users')
    await expect(agent.get_by_text('Sin permiso')).to_be_visible()
