"""The offline demo's side of WhatsApp Web (M6), on `/simulador`: the phone that "scans" a session's QR, and a
customer writing to the session's number. Both act on the simulated WAHA gateway, which posts the same signed
webhooks a real gateway does, so what follows (the session going READY live, the message in an agent's inbox) is
the real path."""

from __future__ import annotations

from nicegui import ui

from services.database import Database
from services.models import SessionState
from services.sessions.service import list_sessions
from services.whatsapp.waha.fake_server import FakeWaha, FakeWahaError

from .i18n import t
from .notify import Notifier


class SimulatedWebPhone:
    def __init__(self, db: Database, gateway: FakeWaha) -> None:
        self.db, self.gateway = db, gateway
        self.notify = Notifier()
        self.shown: list[tuple[str, str]] | None = None  # what is drawn: redrawn only when a state changes
        with ui.card().classes('w-full max-w-[26rem] gap-2').mark('simulator-waha'):
            ui.label(t('simulator_waha.title')).classes('text-base font-semibold')
            ui.label(t('simulator_waha.help')).classes('text-xs text-slate-500')
            self.body = ui.column().classes('w-full gap-2')
        ui.timer(2.0, self.refresh)  # the session's state changes elsewhere (the admin starts it)

    async def refresh(self) -> None:
        sessions = await list_sessions(self.db, viewer=None)
        states = [(current.name, str(current.state)) for current in sessions]
        if states == self.shown:
            return  # redrawing would wipe what the customer is typing
        self.shown = states
        self.body.clear()
        with self.body:
            if not sessions:
                ui.label(t('simulator_waha.none')).classes('text-sm')
            for current in sessions:
                with ui.row().classes('w-full items-center gap-2 no-wrap'):
                    ui.label(current.label or current.name).classes('text-sm flex-1 truncate')
                    ui.badge(t(f'sessions.state.{current.state}')).props('outline').mark('simulator-waha-state')
                    if current.state == SessionState.QR_REQUIRED:
                        ui.button(
                            t('simulator_waha.scan'),
                            icon='qr_code_scanner',
                            on_click=lambda n=current.name: self.scan(n),
                        ).props('dense unelevated color=teal').mark('simulator-waha-scan')
                if current.state == SessionState.READY:
                    self._composer(current.name)

    def _composer(self, name: str) -> None:
        with ui.row().classes('w-full items-end gap-2 no-wrap'):
            phone = (
                ui.input(t('simulator_waha.customer'), value='+54 9 11 6000-1234')
                .classes('w-40')
                .mark('simulator-waha-phone')
            )
            text = ui.input(t('simulator_waha.text')).classes('flex-1').mark('simulator-waha-text')

            def write() -> None:
                if not (text.value or '').strip():
                    return
                try:
                    self.gateway.customer_text(name, phone=phone.value or '', text=text.value, push_name='Cliente Web')
                except FakeWahaError as exc:
                    self.notify(str(exc), type='negative')
                    return
                text.value = ''

            text.on('keydown.enter', write)
            send = ui.button(icon='send', on_click=write).props('round dense unelevated color=teal')
            send.mark('simulator-waha-send')

    def scan(self, name: str) -> None:
        try:
            self.gateway.scan(name)
        except FakeWahaError as exc:  # the QR moved on (or the admin stopped it) since the list was drawn
            self.notify(str(exc), type='warning')
            return
        self.notify(t('simulator_waha.scanned'), type='positive')
