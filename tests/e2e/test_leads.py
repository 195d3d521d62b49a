"""Prospects end to end (issue 16, seed 002): an admin uploads a prospect list on /contactos, sees its first rows
and recognized columns, imports it with a progress bar, then validates two of the new prospects on /validacion
with the keyboard (V, N, V) — real server, real Chromium, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.test_inbox import agent

PATIENCE = 60_000  # ms: a shared 2-core machine
ROWS = 6_000  # two chunks of the importer: the bar shows while the second is written
LABEL = 'lista-e2e'


def prospect_list(path: Path) -> None:
    lines = ['\ufeffRazón social;Contacto;Celular;Correo;Etiquetas']
    lines.append(f'Taller Pérez;Juan Pérez;011 15-4444-5555;ventas@tallerperez.com.ar;{LABEL}')
    lines.append(f'Gomería Sur;Luisa Gómez;(0291) 15 444-5555;luisa@gmail.com;{LABEL}')
    lines.append(f'Repuestos Centro;Carla Díaz;0351 15 512-3456;;{LABEL}')
    lines.append('Número roto;Nadie;hola;;')
    lines += [f'Empresa {i};Persona {i};+54 9 11 6{i // 10000:03d}-{i % 10000:04d};;' for i in range(ROWS - 4)]
    path.write_bytes('\r\n'.join(lines).encode('utf-8'))


async def test_an_admin_imports_a_list_and_validates_two_prospects_with_the_keyboard(
    running_app: RunningApp, browser: Browser, tmp_path: Path
) -> None:
    path = tmp_path / 'prospectos.csv'
    prospect_list(path)
    context, page = await agent(browser, running_app, 'admin')
    await page.goto(running_app.base_url + '/contactos')
    await page.locator('input[type=file]').set_input_files(path)

    await expect(page.get_by_text('prospectos.csv: CSV, 6.000 filas')).to_be_visible(timeout=PATIENCE)
    await expect(page.get_by_role('columnheader', name='Celular', exact=True)).to_be_visible()
    await page.get_by_role('button', name='Importar 6.000 filas').click()
    await expect(page.locator('.q-linear-progress')).to_be_visible()
    await expect(page.get_by_text('5.999 creados, 0 unidos a existentes, 1 inválidos')).to_be_visible(timeout=PATIENCE)
    await expect(page.get_by_role('cell', name='teléfono inválido: hola')).to_be_visible()

    await page.goto(running_app.base_url + f'/validacion?etiqueta={LABEL}')
    await expect(page.get_by_text('V validar · R rechazar')).to_be_visible()
    await expect(page.get_by_text('1 de 3 sin validar')).to_be_visible(timeout=PATIENCE)
    first = await page.locator('.lm-validation-name').inner_text()
    await expect(page.get_by_text('WhatsApp sin verificar')).to_be_visible()
    await page.keyboard.press('v')
    await expect(page.get_by_text('1 de 2 sin validar')).to_be_visible(timeout=PATIENCE)
    await page.keyboard.press('n')
    await expect(page.get_by_text('2 de 2 sin validar')).to_be_visible(timeout=PATIENCE)
    second = await page.locator('.lm-validation-name').inner_text()
    await page.keyboard.press('v')
    await expect(page.get_by_text('1 de 1 sin validar')).to_be_visible(timeout=PATIENCE)
    await expect(page.get_by_text('En esta sesión: 2 validados, 0 rechazados')).to_be_visible()
    assert first != second

    # Both are validated, as the contacts list says.
    await page.goto(running_app.base_url + '/contactos')
    # This file's prospects only: the demo has its own (a "Juan Pérez" among them).
    await page.get_by_label('Etiqueta', exact=True).click()
    await page.get_by_role('option', name=LABEL, exact=True).click()
    await page.get_by_label('Validado').click()
    await page.get_by_role('option', name='Sí').click()
    table = page.locator('.q-table')
    await expect(table.get_by_text(first)).to_be_visible(timeout=PATIENCE)
    await expect(table.get_by_text(second)).to_be_visible()
    await context.close()
