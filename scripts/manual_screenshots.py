"""Take the user manual's screenshots (docs/manual/img/) from the running demo, so they stay current.

    .venv/bin/python scripts/manual_screenshots.py [--base-url http://127.0.0.1:8080 --password …]

--base-url must be a freshly started demo: the script writes as a new customer, takes that conversation and closes a
sale, so a second pass over the same demo fails; the expired-window picture is skipped there (it edits the database).

Without --base-url it starts `leadmaster run --demo` itself (a temporary database and var directory, a 500-product
catalog, a free port), waits for /health, drives Debian's Chromium with Playwright as the demo users (admin, ana,
marta) and a customer in the simulator, and stops the demo at the end. Each PNG is re-saved optimized (a palette of
256 colours) so the manual stays light in the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_DIR = REPO_ROOT / 'docs' / 'manual' / 'img'
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
]
DESKTOP = {'width': 1440, 'height': 900}
TABLET = {'width': 900, 'height': 1200}
START_TIMEOUT_SECONDS = 180
DATABASE_NAME = 'manual.sqlite3'
# A seeded customer whose last message is moved back 26 hours, to show the console outside the 24 h window.
EXPIRED_CUSTOMER = 'Martín Ruiz'
# The demo answers in well under a second, but this machine is often shared and busy: wait for what the page must
# show for up to 30 s (a passing wait returns as soon as it shows).
expect.set_options(timeout=30_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_demo(password: str) -> Iterator[tuple[str, Path]]:
    """`leadmaster run --demo` on a fresh SQLite database in a temporary directory; yields its base URL and the
    database file."""
    with tempfile.TemporaryDirectory(prefix='leadmaster-manual-') as workdir:
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith('LEADMASTER_') and k != 'PYTEST_CURRENT_TEST'},
            'LEADMASTER_DATABASE_URL': f'sqlite+aiosqlite:///{workdir}/{DATABASE_NAME}',
            'LEADMASTER_PORT': str(port),
            'LEADMASTER_VAR_DIR': f'{workdir}/var',
            'LEADMASTER_DEMO_PASSWORD': password,
            'LEADMASTER_DEMO_CATALOG_SIZE': '500',
        }
        log_path = Path(workdir) / 'app.log'
        with log_path.open('wb') as log:
            process = subprocess.Popen(
                [sys.executable, '-m', 'app.cli', 'run', '--demo'],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base_url = f'http://127.0.0.1:{port}'
        try:
            _wait_until_healthy(base_url, process, log_path)
            yield base_url, Path(workdir) / DATABASE_NAME
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f'the demo exited with {process.returncode}:\n{log_path.read_text()}')
        try:
            if httpx.get(f'{base_url}/health', timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f'the demo did not answer /health in {START_TIMEOUT_SECONDS} s:\n{log_path.read_text()}')


def save_optimized(png: bytes, name: str) -> Path:
    """Screenshots are flat UI colours: a 256-colour palette keeps them sharp at a fraction of the size."""
    image = Image.open(io.BytesIO(png)).convert('RGB')
    quantized = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path = IMAGE_DIR / name
    quantized.save(path, format='PNG', optimize=True)
    print(f'{name}: {path.stat().st_size // 1024} KB')
    return path


async def shoot(page: Page, name: str) -> None:
    await page.wait_for_load_state('networkidle')
    # animations='disabled' finishes fade-ins (dialogs, menus) before the picture instead of catching them halfway.
    save_optimized(await page.screenshot(animations='disabled'), name)


async def until_still(page: Page, selector: str, attempts: int = 50) -> None:
    """Charts draw themselves with a JavaScript animation that animations='disabled' does not stop: wait until two
    pictures of them in a row are the same."""
    previous = b''
    for _ in range(attempts):
        current = b''.join([await chart.screenshot() for chart in await page.locator(selector).all()])
        if current == previous:
            return
        previous = current
    raise SystemExit(f'{selector} kept changing')


class Demo:
    def __init__(self, browser: Browser, base_url: str, password: str, database: Path | None) -> None:
        self.browser = browser
        self.base_url = base_url
        self.password = password
        self.database = database  # known only for a demo this script started

    async def sign_in(self, username: str, viewport: dict[str, int] = DESKTOP) -> Page:
        context = await self.browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(self.base_url + '/login')
        await page.get_by_label('Usuario').fill(username)
        await page.get_by_label('Contraseña').fill(self.password)
        await page.get_by_role('button', name='Ingresar').click()
        await page.wait_for_url(re.compile(r'.*/(\?.*)?$'))
        return page

    async def customer(self, phone: str, name: str) -> Page:
        context = await self.browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(self.base_url + '/simulador')
        await page.get_by_label('Tu nombre').fill(name)
        number = page.get_by_label('Tu teléfono')
        await number.fill(phone)
        await number.blur()
        return page


async def customer_says(page: Page, text: str) -> None:
    composer = page.get_by_placeholder('Escribí un mensaje')
    await composer.fill(text)
    await composer.press('Enter')
    await expect(page.locator('.bg-green-100', has_text=text).get_by_text('✓✓')).to_be_visible()


async def take_screenshots(base_url: str, password: str, database: Path | None = None) -> list[str]:
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            demo = Demo(browser, base_url, password, database)
            return await _take_all(demo)
        finally:
            await browser.close()


async def _take_all(demo: Demo) -> list[str]:
    taken: list[str] = []
    await _agent_shots(demo, taken)
    await _manager_shots(demo, taken)
    await _admin_shots(demo, taken)
    await _expired_window_shot(demo, taken)
    return taken


async def _agent_shots(demo: Demo, taken: list[str]) -> None:
    # A customer writes from the simulator; the bot answers. The simulator itself is the first picture.
    phone = await demo.customer('+5491155501234', 'Lucía Fernández')
    await customer_says(phone, 'Hola, ¿tienen pastillas de freno para Gol Trend 2015?')
    await expect(phone.locator('.bg-white').last).to_be_visible()
    await shoot(phone, 'simulador.png')
    taken.append('simulador.png')

    # The agent's console with that conversation open.
    ana = await demo.sign_in('ana')
    await expect(ana.get_by_placeholder('Buscar nombre, teléfono o mensaje')).to_be_visible()
    row = ana.locator('.q-item', has_text='Lucía Fernández')
    await row.click()
    panel = ana.locator('[class*="w-[350px]"]')
    await expect(panel.get_by_role('button', name='Tomar')).to_be_visible()
    await shoot(ana, 'consola.png')
    taken.append('consola.png')

    # Taking over: the countdown and the holder's buttons.
    await panel.get_by_role('button', name='Tomar').click()
    await expect(panel.get_by_role('button', name='Liberar')).to_be_visible()
    composer = ana.get_by_placeholder('Escribí una respuesta')
    await composer.fill('¡Hola Lucía! Sí, tenemos. Te armo el presupuesto.')
    await composer.press('Enter')
    await expect(phone.get_by_text('Te armo el presupuesto')).to_be_visible()
    await shoot(ana, 'tomar.png')
    taken.append('tomar.png')

    # The quote editor: search the catalog and add a product.
    await panel.get_by_text('Buscar en el catálogo').click()
    await panel.get_by_label('Buscar repuesto, código o vehículo').fill('pastillas de freno gol trend')
    add = panel.locator('button', has_text='add_shopping_cart').first
    await expect(add).to_be_visible()
    await add.click()
    await expect(panel.get_by_text(re.compile(r'^Presupuesto SUC1-\d{6}$'))).to_be_visible()
    await panel.get_by_text(re.compile(r'^Presupuesto SUC1-\d{6}$')).scroll_into_view_if_needed()
    await shoot(ana, 'presupuesto.png')
    taken.append('presupuesto.png')

    # The keyboard help (?).
    await ana.locator('body').click(position={'x': 700, 'y': 600})  # out of any field: keys are shortcuts there
    await ana.locator('body').press('?')
    await expect(ana.get_by_role('dialog')).to_be_visible()
    await shoot(ana, 'atajos.png')
    taken.append('atajos.png')

    # The console on a tablet, with the client panel as a drawer.
    tablet = await demo.sign_in('ana', TABLET)
    await tablet.locator('.q-item', has_text='Lucía Fernández').click()
    await tablet.get_by_role('button', name='Panel del cliente').click()
    await expect(tablet.locator('[class*="w-[350px]"]')).to_be_visible()
    await shoot(tablet, 'consola-tablet.png')
    taken.append('consola-tablet.png')

    # The customer confirmed by phone: the agent closes the sale, so the manager's report has one.
    drawer = tablet.locator('[class*="w-[350px]"]')
    await drawer.get_by_role('button', name='Cerrar venta').click()
    await tablet.get_by_role('button', name='Confirmar').click()
    await expect(tablet.get_by_text(re.compile(r'Venta registrada'))).to_be_visible()


async def _manager_shots(demo: Demo, taken: list[str]) -> None:
    # The manager: reports.
    marta = await demo.sign_in('marta')
    await marta.goto(demo.base_url + '/reportes')
    await expect(marta.get_by_text('Comisiones')).to_be_visible()
    await expect(marta.locator('.nicegui-echart').first).to_be_visible()
    await until_still(marta, '.nicegui-echart')
    await shoot(marta, 'reportes.png')
    taken.append('reportes.png')

    # The manager reassigns from the console.
    await marta.goto(demo.base_url + '/')
    await marta.locator('.q-item', has_text='Lucía Fernández').click()
    marta_panel = marta.locator('[class*="w-[350px]"]')
    await marta_panel.get_by_role('button', name='Reasignar').click()
    await expect(marta.get_by_text('Reasignar a').first).to_be_visible()
    await shoot(marta, 'reasignar.png')
    taken.append('reasignar.png')


async def _admin_shots(demo: Demo, taken: list[str]) -> None:
    # The admin: WhatsApp Web sessions with a QR to scan.
    admin = await demo.sign_in('admin')
    await admin.goto(demo.base_url + '/admin/sessions')
    await expect(admin.get_by_text('Celular del local (WhatsApp Web)')).to_be_visible()
    start = admin.get_by_role('button', name='Iniciar', exact=True)
    if await start.count():
        await start.first.click()
    await expect(admin.get_by_text('Falta escanear el QR', exact=True)).to_be_visible()
    await expect(admin.locator('img').first).to_be_visible()
    await shoot(admin, 'sesiones-qr.png')
    taken.append('sesiones-qr.png')

    # The admin: the catalog import panel with a spreadsheet loaded (preview and column mapping).
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / 'lista-de-precios.csv'
        sheet.write_text(
            'Código;Nombre comercial;Rubro;Marca;Precio Neto ($)\n'
            'FRE-900001;Pastillas de freno delanteras Gol Trend;Frenos;Fras-le;45.900,00\n'
            'FIL-900002;Filtro de aceite Fire 1.4;Filtros;Mann;8.250,50\n'
            'SUS-900003;Amortiguador trasero Corsa;Suspensión;Monroe;61.000\n',
            encoding='cp1252',
        )
        await admin.goto(demo.base_url + '/catalog')
        await admin.locator('input[type=file]').set_input_files(sheet)
        await expect(admin.get_by_text('Primeras filas del archivo')).to_be_visible()
        await shoot(admin, 'catalogo-importar.png')
        taken.append('catalogo-importar.png')

    # The admin: operations page (backups, dead letters, unconfirmed sends).
    await admin.goto(demo.base_url + '/admin/webhooks')
    await expect(admin.locator('.q-table').first).to_be_visible()
    await shoot(admin, 'admin-webhooks.png')
    taken.append('admin-webhooks.png')

    # The users list (read-only today: users are added from the command line).
    await admin.goto(demo.base_url + '/admin/users')
    await expect(admin.get_by_text('Ana Gómez')).to_be_visible()
    await shoot(admin, 'usuarios.png')
    taken.append('usuarios.png')


async def _expired_window_shot(demo: Demo, taken: list[str]) -> None:
    """A customer outside the 24 h window: only templates. The demo's customers all wrote minutes ago, so one of them
    is moved back in the database this script created (not possible against someone else's running demo)."""
    if demo.database is not None:
        with sqlite3.connect(demo.database) as connection:
            connection.execute(
                "UPDATE conversations SET last_inbound_at = datetime('now', '-26 hours') "
                'WHERE contact_id = (SELECT id FROM contacts WHERE profile_name = ?)',
                (EXPIRED_CUSTOMER,),
            )
        ana = await demo.sign_in('ana')
        await ana.locator('.q-item', has_text=EXPIRED_CUSTOMER).click()
        await expect(ana.get_by_role('button', name='Enviar plantilla')).to_be_visible()
        await shoot(ana, 'ventana-vencida.png')
        taken.append('ventana-vencida.png')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base-url', help='an already running demo (default: start one)')
    parser.add_argument('--password', default='manual-demo', help="the demo users' password")
    options = parser.parse_args()
    if options.base_url:
        taken = asyncio.run(take_screenshots(options.base_url.rstrip('/'), options.password))
    else:
        with running_demo(options.password) as (base_url, database):
            taken = asyncio.run(take_screenshots(base_url, options.password, database))
    print(f'{len(taken)} screenshots in {IMAGE_DIR.relative_to(REPO_ROOT)}')


if __name__ == '__main__':
    main()
