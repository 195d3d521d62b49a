"""One WhatsApp-Web session on the admin page: its live state chip, the QR while one is needed (refreshed as the
gateway rotates it), the actions, the "allow sending" switch, its history and daily uptime."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from services.models import SessionState, WaSessionPublic, WaSessionTransitionPublic

from ..i18n import local_time, t

STATE_COLORS = {
    SessionState.READY: 'positive',
    SessionState.QR_REQUIRED: 'warning',
    SessionState.INITIALIZING: 'info',
    SessionState.DISCONNECTED: 'grey-7',
    SessionState.FAILED: 'negative',
}
QR_REFRESH_SECONDS = 5.0  # WAHA rotates the QR about every 20 s; a stale one fails to scan


def state_text(state: SessionState | str) -> str:
    return t(f'sessions.state.{state}')


class SessionCard:
    def __init__(
        self,
        current: WaSessionPublic,
        *,
        branch_name: str,
        act: Callable[[str, str], Awaitable[None]],
        allow: Callable[[str, bool], Awaitable[None]],
        qr: Callable[[str], Awaitable[bytes | None]],
        history: Callable[[str], Awaitable[list[WaSessionTransitionPublic]]],
        uptime: Callable[[str], Awaitable[list[tuple[date, float]]]],
    ) -> None:
        self.name = current.name
        self.branch_name = branch_name
        self._act, self._allow, self._qr, self._history, self._uptime = act, allow, qr, history, uptime
        with ui.card().classes('w-full max-w-[56rem]').mark(f'session-{current.name}') as self.card:
            self.body = ui.column().classes('w-full gap-2')
        self.qr_timer = ui.timer(QR_REFRESH_SECONDS, self._refresh_qr, active=False)
        self.qr_image: ui.image | None = None
        self.current = current

    async def show(self, current: WaSessionPublic) -> None:
        self.current = current
        self.body.clear()
        with self.body:
            with ui.row().classes('w-full items-center gap-3 flex-wrap'):
                ui.label(current.label or current.name).classes('text-lg font-semibold')
                ui.label(current.display_phone or current.name).classes('text-sm text-slate-500')
                ui.label(self.branch_name).classes('text-sm text-slate-500')
                ui.space()
                ui.chip(state_text(current.state), color=STATE_COLORS.get(current.state, 'grey-7')).props(
                    'text-color=white'
                ).mark('session-state')
            since = t('sessions.since', when=local_time(current.state_since))
            ui.label(f'{current.reason} · {since}').classes('text-sm')
            last = local_time(current.last_event_at) if current.last_event_at else t('sessions.never')
            ui.label(t('sessions.last_event', when=last)).classes('text-xs text-slate-500')
            if current.silent:
                ui.label(t('sessions.silent')).classes('text-sm text-orange-700').mark('session-silent')
            if current.state == SessionState.QR_REQUIRED:
                with ui.row().classes('items-center gap-4 flex-nowrap'):
                    self.qr_image = ui.image().classes('w-56 h-56 border rounded').mark('session-qr')
                    ui.label(t('sessions.qr_help')).classes('text-sm max-w-[20rem]')
                await self._refresh_qr()
            else:
                self.qr_image = None
            self.qr_timer.active = current.state == SessionState.QR_REQUIRED
            with ui.row().classes('items-center gap-2 flex-wrap'):
                for action, icon in (('start', 'play_arrow'), ('restart', 'restart_alt'), ('stop', 'stop')):
                    ui.button(t(f'sessions.{action}'), icon=icon, on_click=self._do(action)).props(
                        'outline dense'
                    ).mark(f'session-{action}')
                ui.button(t('sessions.logout'), icon='link_off', on_click=self._confirm_logout).props(
                    'outline dense color=negative'
                ).mark('session-logout')
                ui.space()
                ui.switch(t('sessions.allow_send'), value=current.sending_enabled, on_change=self._on_allow).mark(
                    'session-allow-send'
                )
            with ui.expansion(t('sessions.history'), icon='history').classes('w-full') as history:
                self.history_box = ui.column().classes('w-full gap-1')
            history.on_value_change(lambda e: self._fill_history() if e.value else None)

    def _do(self, action: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self._act(self.name, action)

        return run

    async def _confirm_logout(self) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(t('sessions.logout_confirm'))
            with ui.row():
                ui.button(t('common.no'), on_click=lambda: dialog.submit(False)).props('flat')
                ui.button(t('sessions.logout'), on_click=lambda: dialog.submit(True)).props('color=negative').mark(
                    'session-logout-confirm'
                )
        if await dialog:
            await self._act(self.name, 'logout')

    async def _on_allow(self, event: object) -> None:
        value = bool(getattr(event, 'value', False))
        if value != self.current.sending_enabled:
            await self._allow(self.name, value)

    async def _refresh_qr(self) -> None:
        if self.qr_image is None:
            return
        png = await self._qr(self.name)
        if png is not None and self.qr_image is not None:
            self.qr_image.set_source('data:image/png;base64,' + base64.b64encode(png).decode())

    async def _fill_history(self) -> None:
        self.history_box.clear()
        transitions = await self._history(self.name)
        days = await self._uptime(self.name)
        with self.history_box:
            ui.label(t('sessions.uptime')).classes('text-sm font-semibold')
            with ui.row().classes('gap-3 flex-wrap'):
                for day, share in days:
                    ui.label(f'{day:%d/%m}: {share * 100:.1f}\u00a0%'.replace('.', ',')).classes('text-xs').mark(
                        'session-uptime'
                    )
            for change in transitions:
                before = state_text(change.from_state) if change.from_state else '—'
                ui.label(
                    f'{local_time(change.at, "%d/%m %H:%M:%S")} · {before} → {state_text(change.to_state)} · '
                    f'{change.reason}'
                ).classes('text-xs').mark('session-transition')
