"""Under an image in the chat: the VIN read from it (status, vehicle, where it came from) and a control to
correct it by hand. Mounted by the chat; it calls services through the callback it is given and never opens
a database session. Every value is rendered as text (labels), never as HTML.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.i18n import t
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.vin.readings import VinReadingPublic
from services.vin.validation import VinStatus

Correct = Callable[[str], Awaitable[VinReadingPublic]]

_STATUS_COLOR = {VinStatus.VERIFIED: 'positive', VinStatus.UNVERIFIED: 'warning', VinStatus.NONE: 'grey'}


class VinReadingView:
    """`VinReadingView(reading, on_correct=...)`; call `show(reading)` when a `vin.read` event brings a new one."""

    def __init__(self, reading: VinReadingPublic | None, *, on_correct: Correct | None = None) -> None:
        self.reading = reading
        self.on_correct = on_correct
        self.editing = False
        with ui.column().classes('gap-1 vin-reading').mark('vin-reading') as self.container:
            self._render()

    def show(self, reading: VinReadingPublic | None) -> None:
        self.reading = reading
        self._render.refresh()

    @ui.refreshable_method
    def _render(self) -> None:
        reading = self.reading
        if reading is None or reading.state == 'processing':
            with ui.row().classes('items-center gap-2'):
                ui.spinner(size='sm')
                ui.label(t('vin.reading')).classes('text-sm text-grey-7')
            return
        if reading.found:
            with ui.row().classes('items-center gap-2'):
                ui.label(reading.vin or '').classes('font-mono text-base vin-value').mark('vin-value')
                status = 'manual' if reading.source == 'manual' else str(reading.status)
                ui.badge(t(f'vin.status.{status}'), color=_STATUS_COLOR.get(reading.status, 'grey')).props(
                    'outline'
                ).mark('vin-status')
            if reading.vehicle_label:
                ui.label(reading.vehicle_label).classes('text-sm vin-vehicle').mark('vin-vehicle')
            details = [t(f'vin.source.{reading.source}')] if reading.source else []
            if reading.source != 'manual' and reading.confidence:
                details.append(t('vin.confidence', percent=round(reading.confidence * 100)))
            ui.label(' · '.join(details)).classes('text-xs text-grey-7')
            if reading.status == VinStatus.UNVERIFIED and reading.source != 'manual':
                ui.label(t('vin.unverified_hint')).classes('text-xs text-warning')
        else:
            ui.label(t('vin.failed') if reading.state == 'failed' else t('vin.none')).classes(
                'text-sm text-grey-7'
            ).mark('vin-none')
        if reading.part_codes:
            ui.label(t('vin.parts', codes=', '.join(reading.part_codes))).classes('text-xs')
        if self.on_correct is not None:
            self._correction(reading)

    def _correction(self, reading: VinReadingPublic) -> None:
        if not self.editing:
            label = t('vin.correct') if reading.found else t('vin.enter')
            ui.button(label, icon='edit', on_click=self._start_editing).props('flat dense size=sm').mark('vin-correct')
            return
        suggestions = [vin for vin in reading.candidates if vin]
        field = (
            ui.input(t('vin.input'), value=reading.vin or (suggestions[0] if suggestions else ''))
            .props('dense outlined maxlength=24 autofocus')
            .classes('font-mono w-64')
            .mark('vin-input')
        )
        if suggestions:
            ui.label(t('vin.candidates')).classes('text-xs text-grey-7')
            with ui.row().classes('gap-1'):
                for vin in suggestions[:4]:
                    ui.button(vin, on_click=lambda _, vin=vin: field.set_value(vin)).props(
                        'flat dense no-caps size=sm'
                    ).classes('font-mono')
        with ui.row().classes('gap-2'):
            ui.button(t('vin.save'), on_click=lambda: self._save(field.value or '')).props('dense size=sm').mark(
                'vin-save'
            )
            ui.button(t('vin.cancel'), on_click=self._stop_editing).props('flat dense size=sm')

    def _start_editing(self) -> None:
        self.editing = True
        self._render.refresh()

    def _stop_editing(self) -> None:
        self.editing = False
        self._render.refresh()

    async def _save(self, text: str) -> None:
        assert self.on_correct is not None
        try:
            reading = await self.on_correct(text)
        except InvalidInput:
            ui.notify(t('vin.invalid'), type='negative')
            return
        except (NotFound, PermissionDenied):
            ui.notify(t('vin.not_allowed'), type='negative')
            return
        self.editing = False
        ui.notify(t('vin.saved', vin=reading.vin or ''), type='positive')
        self.show(reading)
