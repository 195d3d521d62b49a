"""`/simulador`: a customer's WhatsApp inside the app (M5). Public on purpose: it is a demo device and
exists only when no Meta token is configured."""

from __future__ import annotations

from nicegui import Client, ui

from app.runtime import runtime
from app.settings import REPO_ROOT
from components.i18n import t
from components.simulator_phone import SimulatorPhone

SAMPLE_VIN_PHOTO = REPO_ROOT / 'app' / 'static' / 'simulator' / 'vin-sample.jpg'


@ui.page('/simulador')
async def simulator_page(client: Client) -> None:
    ui.page_title(f'{t("simulator.title")} · LeadMaster')
    simulator = runtime().simulator
    if simulator is None:
        ui.label(t('simulator.disabled')).classes('absolute-center text-lg').mark('simulator-disabled')
        return
    numbers = await simulator.numbers()
    if not numbers:
        ui.label(t('simulator.no_numbers')).classes('absolute-center text-lg')
        return
    phone = SimulatorPhone(
        simulator, numbers, client=client, max_bytes=runtime().settings.media_max_bytes, sample_photo=SAMPLE_VIN_PHOTO
    )
    await phone.open_chat()
