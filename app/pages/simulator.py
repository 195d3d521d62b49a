"""`/simulador`: a customer's WhatsApp inside the app (M5). Public on purpose: it is a demo device and
exists only when no Meta token is configured."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response
from nicegui import Client, app, ui

from app.runtime import runtime
from app.settings import REPO_ROOT
from components.i18n import t
from components.simulator_phone import FILE_PATH, SimulatorPhone
from components.simulator_waha import SimulatedWebPhone

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
    if (gateway := runtime().simulated_waha) is not None:
        # Below the phone, in the page's flow: a floating card covered the phone's buttons at tablet width.
        with ui.row().classes('w-full justify-center pb-6'):
            await SimulatedWebPhone(runtime().db, gateway).refresh()


@app.get(FILE_PATH + '/{media_id}', include_in_schema=False)
async def simulator_file(media_id: str) -> Response:
    """A file of a simulated chat, as the customer's phone opens it: images in the bubble, anything else (the
    quote PDF) downloaded with its name. Chromium refuses to show a PDF under a `sandbox` policy, so a document
    is an attachment here, never rendered inline by the browser."""
    simulator = runtime().simulator
    found = await simulator.chat_file(media_id) if simulator is not None else None
    if found is None:
        return Response(status_code=404)
    media, content = found
    inline = media.mime_type.startswith('image/')
    filename = quote(media.filename or f'archivo-{media.media_id}')  # RFC 5987: any name, ASCII header
    return Response(
        content,
        media_type=media.mime_type,
        headers={
            'Content-Disposition': f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{filename}",
            'Cache-Control': 'private, max-age=3600',
            'Content-Security-Policy': "default-src 'none'; sandbox",
            'X-Content-Type-Options': 'nosniff',
        },
    )
