"""The validation screen (seed 002's "manual validation interface", SPEC L2): the sales team works down the
prospects nobody has decided on, best score first, with the keyboard — V validates, R rejects (with a reason,
typed then Enter), N or → goes to the next, ← back — seeing why each scores what it does. Each decision is stored
with who, when and the note, and audited (services/leads/contacts.py)."""

from __future__ import annotations

from nicegui import events, ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.i18n import format_count, t
from components.leads import score_breakdown
from components.notify import Notifier
from services.access import Viewer
from services.errors import ServiceError
from services.leads import ContactRow, reject_contact, validate_contact, validation_queue
from services.leads.scoring import SEND_GATE_MINIMUM

QUEUE_SIZE = 200


class ValidationScreen:
    def __init__(self, viewer: Viewer, *, label: str | None) -> None:
        self.viewer = viewer
        self.label = label
        self.db = runtime().db
        self.queue: list[ContactRow] = []
        self.position = 0
        self.rejecting = False
        self.validated = 0
        self.rejected = 0

    async def build(self) -> None:
        self.notify = Notifier()
        ui.label(t('leads.validation.title')).classes('text-xl font-semibold')
        if self.label:
            ui.label(t('leads.validation.only_label', label=self.label)).classes('text-sm').mark('validation-label')
        ui.label(t('leads.validation.keys')).classes('text-sm font-mono bg-slate-100 px-2 py-1 rounded').mark(
            'validation-keys'
        )
        ui.label(t('leads.score.gate', minimum=SEND_GATE_MINIMUM)).classes('text-xs text-slate-500')
        self.position_label = ui.label('').classes('text-sm text-slate-600').mark('validation-position')
        self.card = ui.column().classes('w-full max-w-3xl gap-2 border rounded p-4').mark('validation-card')
        with ui.row().classes('items-end gap-2 w-full max-w-3xl'):
            self.note = (
                ui.input(t('leads.validation.note'))
                .props('dense outlined')
                .classes('flex-1')
                .mark('validation-note')
                .on('keydown.enter', self._enter_in_note)
                .on('keydown.escape', self._cancel_reject)
            )
            self.validate_button = (
                ui.button(t('leads.validation.validate'), on_click=self.validate)
                .props('color=positive')
                .mark('validation-validate')
            )
            self.reject_button = (
                ui.button(t('leads.validation.reject'), on_click=self.reject)
                .props('color=negative')
                .mark('validation-reject')
            )
            self.next_button = ui.button(t('leads.validation.next'), on_click=self.next).props('flat')
            self.next_button.mark('validation-next')
        self.hint = ui.label('').classes('text-sm text-red-700').mark('validation-hint')
        self.tally = ui.label('').classes('text-sm text-slate-600').mark('validation-tally')
        # Typing in the note must not validate: keys reach the screen only outside inputs.
        ui.keyboard(on_key=self._key, ignore=['input', 'select', 'textarea']).mark('validation-keyboard')
        await self.reload()

    async def reload(self) -> None:
        self.queue = await validation_queue(self.db, viewer=self.viewer, label=self.label, limit=QUEUE_SIZE)
        self.position = min(self.position, max(len(self.queue) - 1, 0))
        self.show()

    @property
    def current(self) -> ContactRow | None:
        return self.queue[self.position] if 0 <= self.position < len(self.queue) else None

    def show(self) -> None:
        self.card.clear()
        self.hint.text = ''
        self.tally.text = t('leads.validation.done_count', validated=self.validated, rejected=self.rejected)
        current = self.current
        for button in (self.validate_button, self.reject_button, self.next_button):
            button.set_enabled(current is not None)
        if current is None:
            self.position_label.text = ''
            with self.card:
                ui.label(t('leads.validation.empty')).classes('text-lg').mark('validation-empty')
            return
        self.position_label.text = t(
            'leads.validation.position', position=self.position + 1, total=format_count(len(self.queue))
        )
        with self.card:
            ui.label(current.name).classes('text-2xl font-semibold lm-validation-name').mark('validation-name')
            ui.label(current.phone_e164 or '').classes('text-lg font-mono').mark('validation-phone')
            details = [value for value in (current.company, current.email) if value]
            if details:
                ui.label(' · '.join(details)).classes('text-sm text-slate-600')
            with ui.row().classes('gap-12 items-start'):
                score_breakdown(
                    t('leads.score.contactability'),
                    current.score_contactabilidad,
                    current.contactability_reasons,
                    marker='validation-score',
                )
                score_breakdown(
                    t('leads.score.maturity'),
                    current.digital_maturity,
                    current.maturity_reasons,
                    marker='validation-maturity',
                )
            ui.link(t('nav.contacts') + ' →', f'/contactos/{current.id}').classes('text-sm')

    async def _key(self, event: events.KeyEventArguments) -> None:
        if not event.action.keydown or event.modifiers.ctrl or event.modifiers.meta or event.modifiers.alt:
            return
        name = event.key.name
        if name in ('v', 'V'):
            await self.validate()
        elif name in ('r', 'R'):
            await self.reject()
        elif name in ('n', 'N', 'ArrowRight', 'ArrowDown', 'j'):
            self.next()
        elif name in ('ArrowLeft', 'ArrowUp', 'k'):
            self.previous()

    def next(self) -> None:
        if self.queue:
            self.position = (self.position + 1) % len(self.queue)
            self._cancel_reject()
            self.show()

    def previous(self) -> None:
        if self.queue:
            self.position = (self.position - 1) % len(self.queue)
            self._cancel_reject()
            self.show()

    async def validate(self) -> None:
        current = self.current
        if current is None:
            return
        try:
            await validate_contact(self.db, viewer=self.viewer, contact_id=current.id, note=self.note.value or '')
        except ServiceError as error:
            self.hint.text = str(error)
            return
        self.validated += 1
        self.notify(t('leads.validation.validated', name=current.name), type='positive')
        await self._decided()

    async def reject(self) -> None:
        current = self.current
        if current is None:
            return
        reason = (self.note.value or '').strip()
        if not reason:
            # The reason is asked for: typed in the note, then Enter rejects.
            self.rejecting = True
            self.hint.text = t('leads.validation.reason_needed')
            self.note.run_method('focus')
            return
        try:
            await reject_contact(self.db, viewer=self.viewer, contact_id=current.id, reason=reason)
        except ServiceError as error:
            self.hint.text = str(error)
            return
        self.rejected += 1
        self.notify(t('leads.validation.rejected', name=current.name), type='warning')
        await self._decided()

    async def _enter_in_note(self) -> None:
        if self.rejecting:
            await self.reject()
        else:
            await self.validate()

    def _cancel_reject(self) -> None:
        self.rejecting = False
        self.hint.text = ''

    async def _decided(self) -> None:
        self.rejecting = False
        self.note.value = ''
        self.note.run_method('blur')
        await self.reload()


@signed_in_page('/validacion', title_key='nav.validation')
async def validation_page(viewer: Viewer, etiqueta: str | None = None) -> None:
    """`?etiqueta=…` works down one label's prospects (a list just imported)."""
    await ValidationScreen(viewer, label=etiqueta or None).build()
