"""The header's "Cambiar contraseña" dialog: a person replaces the password an admin reset for them (issue 15).

The component only collects and checks the fields; the page passes `change`, which calls the service and raises a
`ServiceError` whose `reason` has a text here (wrong current password, too short, unchanged)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.i18n import t
from services.errors import ServiceError

ChangePassword = Callable[[str, str], Awaitable[None]]


class PasswordDialog(ui.dialog):
    def __init__(self, change: ChangePassword) -> None:
        super().__init__()
        self._change = change
        with self, ui.card().classes('w-96 max-w-full gap-2').mark('password-dialog'):
            ui.label(t('password.title')).classes('text-lg font-semibold')
            self.current = ui.input(t('password.current'), password=True).classes('w-full').mark('password-current')
            self.new = ui.input(t('password.new'), password=True).classes('w-full').mark('password-new')
            self.repeat = ui.input(t('password.repeat'), password=True).classes('w-full').mark('password-repeat')
            self.error = ui.label().classes('text-red-700 text-sm').mark('password-error')
            with ui.row().classes('w-full justify-end'):
                ui.button(t('chat.cancel'), on_click=self.close).props('flat')
                ui.button(t('password.save'), on_click=self.save).mark('password-save')

    async def save(self) -> None:
        new = self.new.value or ''
        if new != (self.repeat.value or ''):
            self.error.text = t('password.error.mismatch')
            return
        try:
            await self._change(self.current.value or '', new)
        except ServiceError as exc:
            reason = exc.params.get('reason', '')
            key = f'password.error.{reason}'
            self.error.text = t(key, minimum=exc.params.get('minimum', '')) if key in _KNOWN else str(exc)
            return
        for field in (self.current, self.new, self.repeat):
            field.value = ''
        self.error.text = ''
        self.close()
        ui.notify(t('password.changed'), type='positive')


_KNOWN = {f'password.error.{reason}' for reason in ('password_short', 'password_wrong', 'password_same')}
