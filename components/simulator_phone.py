"""The customer's phone of the embedded simulator (M5): a chat with one branch number, live ticks,
photo upload and the sample VIN label."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from nicegui import Client, events, ui

from services.errors import InvalidInput, ServiceError
from services.models import SimulatorMessage
from services.phones import normalize_phone, wa_digits
from services.whatsapp.simulator import ChatKey, Simulator, SimulatorNumber

from .i18n import TEXTS, local_time, t

TICKS = {'sending': '🕓', 'sent': '✓', 'delivered': '✓✓', 'read': '✓✓', 'failed': '⚠'}


class SimulatorPhone:
    def __init__(
        self,
        simulator: Simulator,
        numbers: list[SimulatorNumber],
        *,
        client: Client,
        max_bytes: int,
        sample_photo: Path,
    ) -> None:
        self.simulator = simulator
        self.max_bytes = max_bytes
        self.sample_photo = sample_photo
        self.key: ChatKey | None = None
        # message id → its tick label; None for the business's messages, which show no ticks here.
        self.rendered: dict[int, ui.label | None] = {}
        self._stop_listening = lambda: None
        client.on_delete(self._closed)
        self._build(numbers)

    def _build(self, numbers: list[SimulatorNumber]) -> None:
        with ui.column().classes('w-full max-w-md mx-auto p-3 gap-2'):
            ui.label(t('simulator.title')).classes('text-xl font-semibold')
            ui.label(t('simulator.subtitle')).classes('text-sm text-slate-500')
            self.number = (
                ui.select(
                    {n.phone_number_id: f'{n.display_phone} · {n.label or n.phone_number_id}' for n in numbers},
                    value=numbers[0].phone_number_id,
                    label=t('simulator.number'),
                    on_change=self.open_chat,
                )
                .classes('w-full')
                .mark('simulator-number')
            )
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.name = ui.input(t('simulator.name'), value='Cliente Demo').classes('flex-1').mark('simulator-name')
                # A random customer per page, so two browser tabs are two different people.
                random_phone = f'+54 9 11 5{secrets.randbelow(1000):03d} {secrets.randbelow(10000):04d}'
                self.phone = (
                    ui.input(t('simulator.phone'), value=random_phone).classes('flex-1').mark('simulator-phone')
                )
                self.phone.on('blur', self.open_chat)
            self.phone_error = ui.label(t('simulator.bad_phone')).classes('text-negative text-sm')
            self.phone_error.set_visibility(False)
            self.chat = ui.scroll_area().classes('w-full h-[55vh] bg-[#efe7dd] rounded').mark('simulator-chat')
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                self.composer = (
                    ui.input(placeholder=t('simulator.write'))
                    .classes('flex-1')
                    .props('outlined dense')
                    .mark('simulator-composer')
                )
                self.composer.on('keydown.enter', self.send_text)
                ui.button(icon='send', on_click=self.send_text).props('round color=green').mark('simulator-send')
            with ui.row().classes('w-full items-center gap-2'):
                # The size limit here is only a hint to the browser; customer_sends_media enforces it.
                self.upload = (
                    ui.upload(
                        on_upload=self._uploaded,
                        auto_upload=True,
                        label=t('simulator.photo'),
                        max_file_size=self.max_bytes,
                    )
                    .props('accept="image/*,application/pdf" flat bordered')
                    .classes('w-56')
                    .mark('simulator-upload')
                )
                ui.button(t('simulator.sample_vin'), icon='photo_camera', on_click=self.send_sample).props(
                    'outline'
                ).mark('simulator-sample-vin')

    async def open_chat(self) -> None:
        try:
            customer = wa_digits(normalize_phone(self.phone.value or ''))
        except InvalidInput:
            self.phone_error.set_visibility(True)
            return
        self.phone_error.set_visibility(False)
        self._closed()
        self.key = (self.number.value, customer)
        self.chat.clear()
        self.rendered.clear()
        for record in await self.simulator.history(*self.key):
            self._show(record)
        self._stop_listening = self.simulator.listen(self.key, self._show)
        await self.simulator.chat_opened(self.key)

    async def send_text(self) -> None:
        text = (self.composer.value or '').strip()
        if self.key is None or not text:
            return
        self.composer.value = ''
        try:
            await self.simulator.customer_sends_text(
                phone_number_id=self.key[0], customer_wa_id=self.key[1], customer_name=self.name.value or '', text=text
            )
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')

    async def send_file(self, content: bytes, mime_type: str, filename: str) -> None:
        if self.key is None:
            return
        try:
            await self.simulator.customer_sends_media(
                phone_number_id=self.key[0],
                customer_wa_id=self.key[1],
                customer_name=self.name.value or '',
                content=content,
                mime_type=mime_type,
                filename=filename,
                caption=(self.composer.value or '').strip(),
                max_bytes=self.max_bytes,
            )
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')
            return
        self.composer.value = ''

    async def send_sample(self) -> None:
        await self.send_file(await asyncio.to_thread(self.sample_photo.read_bytes), 'image/jpeg', 'chapa-vin.jpg')

    async def _uploaded(self, event: events.UploadEventArguments) -> None:
        await self.send_file(
            await event.file.read(), event.file.content_type or 'application/octet-stream', event.file.name
        )
        self.upload.reset()

    def _show(self, record: SimulatorMessage) -> None:
        if (record.id or 0) not in self.rendered:
            self._render(record)
        tick = self.rendered.get(record.id or 0)
        if tick is not None:
            tick.text = TICKS.get(record.status, '')
            tick.classes(replace='text-[11px] ' + ('text-sky-500' if record.status == 'read' else 'text-slate-500'))

    def _render(self, record: SimulatorMessage) -> None:
        mine = record.from_customer
        # Entering the chat column first: this also runs from simulator callbacks, outside any page context.
        side = 'justify-end' if mine else 'justify-start'
        bubble = 'gap-0 px-3 py-2 rounded-lg max-w-[80%] shadow-sm ' + ('bg-green-100' if mine else 'bg-white')
        with self.chat, ui.row().classes(f'w-full {side}'), ui.column().classes(bubble).mark('bubble'):
            if record.type != 'text':
                kind = f'simulator.kind.{record.type}'
                ui.label(t(kind) if kind in TEXTS else f'[{record.type}]').classes('text-xs text-slate-500')
            if record.text:
                # ui.label renders text, never HTML: nothing the business sends can inject markup here.
                ui.label(record.text).classes('whitespace-pre-wrap break-words').mark('bubble-text')
            with ui.row().classes('gap-1 self-end items-center'):
                ui.label(local_time(record.created_at, '%H:%M')).classes('text-[10px] text-slate-500')
                self.rendered[record.id or 0] = ui.label().mark('ticks') if mine else None
        self.chat.scroll_to(percent=1.0)

    def _closed(self) -> None:
        self._stop_listening()
        self._stop_listening = lambda: None
        if self.key is not None:
            self.simulator.chat_closed(self.key)
