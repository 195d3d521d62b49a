"""The customer's phone of the embedded simulator (M5): a chat with one branch number, live ticks,
photo upload and the sample VIN label."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from urllib.parse import quote

from nicegui import Client, events, ui

from services.errors import InvalidInput, ServiceError
from services.models import SimulatorMessage
from services.phones import normalize_phone, wa_digits
from services.whatsapp.simulator import ChatKey, Simulator, SimulatorNumber

from .i18n import TEXTS, local_time, t
from .thread_follow import ThreadFollower
from .whatsapp_text import render as render_text

# Where the phone opens a file of its chat (app/pages/simulator.py serves it).
FILE_PATH = '/simulador/archivo'

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
        # One chat switch at a time: a send waits for the switch its phone field asked for.
        self._switching = asyncio.Lock()
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
            with ui.scroll_area().classes('w-full h-[55vh] bg-[#efe7dd] rounded').mark('simulator-chat'):
                self.chat = ui.column().classes('w-full gap-1')
                # The phone follows its newest message in the browser, once laid out (photos load later).
                self.follower = ThreadFollower()
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
                # The size limit here is only a hint to the browser; customer_sends_media enforces it. The uploader
                # itself stays hidden: its header shows "0.0B / 0.00%" before any file, which means nothing to a
                # customer. A plain button opens its file picker.
                self.upload = (
                    ui.upload(
                        on_upload=self._uploaded,
                        auto_upload=True,
                        label=t('simulator.photo'),
                        max_file_size=self.max_bytes,
                    )
                    .props('accept="image/*,application/pdf"')
                    .classes('hidden')
                    .mark('simulator-upload')
                )
                ui.button(
                    t('simulator.photo'), icon='attach_file', on_click=lambda: self.upload.run_method('pickFiles')
                ).props('outline').mark('simulator-attach')
                ui.button(t('simulator.sample_vin'), icon='photo_camera', on_click=self.send_sample).props(
                    'outline'
                ).mark('simulator-sample-vin')

    def _wanted_key(self) -> ChatKey | None:
        """The chat the fields name now (None: the phone is not valid)."""
        try:
            customer = wa_digits(normalize_phone(self.phone.value or ''))
        except InvalidInput:
            return None
        return (self.number.value, customer)

    async def open_chat(self) -> None:
        async with self._switching:
            key = self._wanted_key()
            self.phone_error.set_visibility(key is None)
            if key is None or key == self.key:
                return
            self._closed()
            self.key = key
            self.chat.clear()
            self.rendered.clear()
            for record in await self.simulator.history(*key):
                self._show(record)
            self.follower.to_bottom()
            self._stop_listening = self.simulator.listen(key, self._show)
            await self.simulator.chat_opened(key)

    async def _chat_for_sending(self) -> ChatKey | None:
        """What is sent goes to the phone in the field now: a photo picked right after typing a new phone (its
        blur still on the way, or its chat still loading) belongs to the new customer, not the previous one."""
        await self.open_chat()
        return self.key if self.key is not None and self.key == self._wanted_key() else None

    async def send_text(self) -> None:
        text = (self.composer.value or '').strip()
        if not text:
            return
        key = await self._chat_for_sending()
        if key is None:
            return
        self.composer.value = ''
        try:
            await self.simulator.customer_sends_text(
                phone_number_id=key[0], customer_wa_id=key[1], customer_name=self.name.value or '', text=text
            )
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')

    async def send_file(self, content: bytes, mime_type: str, filename: str) -> None:
        key = await self._chat_for_sending()
        if key is None:
            return
        try:
            await self.simulator.customer_sends_media(
                phone_number_id=key[0],
                customer_wa_id=key[1],
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
        bubble = 'gap-0 px-3 py-2 rounded-lg max-w-[80%] min-w-0 shadow-sm ' + ('bg-green-100' if mine else 'bg-white')
        with self.chat, ui.row().classes(f'w-full no-wrap {side}'), ui.column().classes(bubble).mark('bubble'):
            if record.type != 'text':
                kind = f'simulator.kind.{record.type}'
                ui.label(t(kind) if kind in TEXTS else f'[{record.type}]').classes('text-xs text-slate-500')
            self._render_file(record)
            if record.text:
                # Text elements only, never HTML: nothing the business sends can inject markup here; WhatsApp's
                # *negrita* / _cursiva_ / ~tachado~ / ```mono``` show as styles, like on a real phone.
                render_text(record.text, marker='bubble-text')
            with ui.row().classes('gap-1 self-end items-center'):
                ui.label(local_time(record.created_at, '%H:%M')).classes('text-[10px] text-slate-500')
                self.rendered[record.id or 0] = ui.label().mark('ticks') if mine else None
        if mine:
            self.follower.to_bottom()  # what the customer sends is always shown

    @staticmethod
    def _render_file(record: SimulatorMessage) -> None:
        """The file a message carries (the business's quote PDF, the customer's photo), to open from the phone."""
        if not record.media_id:
            return
        url = f'{FILE_PATH}/{quote(record.media_id)}'
        body = record.payload.get(record.type) if isinstance(record.payload, dict) else None
        filename = str(body.get('filename', '')) if isinstance(body, dict) else ''
        if record.type in {'image', 'sticker'}:
            with ui.link(target=url, new_tab=True):
                ui.image(url).classes('w-48 rounded').mark('bubble-image')
            return
        ui.link(filename or t('simulator.open_file'), url, new_tab=True).classes('text-sm').mark('bubble-file')

    def _closed(self) -> None:
        self._stop_listening()
        self._stop_listening = lambda: None
        if self.key is not None:
            self.simulator.chat_closed(self.key)
