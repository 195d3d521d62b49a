"""One form for every administration record: inputs marked `<prefix>-<field>`, a save button `<prefix>-save` and an
error line `<prefix>-error` that says, in the reader's language, what the service refused (tests and people find
them the same way on every page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from nicegui import ui

from components.i18n import t
from components.texts import TEXTS
from services.errors import NotFound, PermissionDenied, ServiceError

FieldKind = Literal['text', 'textarea', 'number', 'select', 'switch', 'password']


@dataclass
class FormField:
    name: str
    label: str
    kind: FieldKind = 'text'
    value: Any = None
    options: dict[Any, str] | None = None
    hint: str = ''


def error_text(error: ServiceError) -> str:
    """What a refusal means for the person filling the form: the service's `reason` has a text of its own."""
    reason = error.params.get('reason')
    if reason and f'admin.error.{reason}' in TEXTS:
        return t(f'admin.error.{reason}', **{k: v for k, v in error.params.items() if k != 'reason'})
    if isinstance(error, PermissionDenied):
        return t('admin.error.permission')
    if isinstance(error, NotFound):
        return t('admin.error.not_found')
    return t('admin.error.generic', error=str(error))


class RecordForm:
    def __init__(
        self,
        fields: list[FormField],
        *,
        prefix: str,
        save_label: str,
        on_save: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.prefix = prefix
        self._on_save = on_save
        self.inputs: dict[str, Any] = {}
        with ui.column().classes('w-full max-w-xl gap-2').mark(f'{prefix}-form'):
            for field in fields:
                self.inputs[field.name] = self._input(field)
            self.error = ui.label('').classes('text-sm text-red-700').mark(f'{prefix}-error')
            self.error.set_visibility(False)
            self.save_button = ui.button(save_label, icon='save', on_click=self.save).mark(f'{prefix}-save')

    def _input(self, field: FormField) -> Any:
        marker = f'{self.prefix}-{field.name}'
        element: Any
        if field.kind == 'select':
            element = ui.select(field.options or {}, label=field.label, value=field.value).classes('w-full')
        elif field.kind == 'switch':
            element = ui.switch(field.label, value=bool(field.value))
        elif field.kind == 'number':
            element = ui.number(field.label, value=field.value, precision=0, format='%d').classes('w-full')
        elif field.kind == 'textarea':
            element = ui.textarea(field.label, value=field.value or '').classes('w-full')
        else:
            element = ui.input(field.label, value=field.value or '', password=field.kind == 'password')
            element.classes('w-full')
        if field.hint:
            element.props['hint'] = field.hint
        return element.mark(marker)

    def values(self) -> dict[str, Any]:
        return {name: element.value for name, element in self.inputs.items()}

    def show_error(self, text: str) -> None:
        self.error.set_text(text)
        self.error.set_visibility(bool(text))

    async def save(self) -> None:
        self.show_error('')
        try:
            await self._on_save(self.values())
        except ServiceError as exc:
            self.show_error(error_text(exc))

    def clear(self, *names: str) -> None:
        for name in names:
            element = self.inputs[name]
            element.value = None if isinstance(element, ui.number | ui.select) else ''
