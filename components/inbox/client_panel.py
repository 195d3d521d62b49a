"""Right column: the client panel — contact data agents can edit, labels, who attended — and the slots
the takeover controls and the AI summary fill (they stay empty until those features exist)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from services.inbox import ConversationDetail

from ..i18n import local_time, t

SaveContact = Callable[[str, str, str], Awaitable[None]]
SaveLabels = Callable[[list[str]], Awaitable[None]]


class ClientPanel:
    def __init__(self, *, on_save_contact: SaveContact, on_save_labels: SaveLabels) -> None:
        self.on_save_contact = on_save_contact
        self.on_save_labels = on_save_labels
        with ui.column().classes('w-full h-full gap-3 p-3 overflow-y-auto').mark('client-panel') as self.root:
            # Filled by the takeover controls (timer, take/release) and the AI summary.
            self.takeover_slot = ui.column().classes('w-full gap-2').mark('takeover-slot')
            self.summary_slot = ui.column().classes('w-full gap-2').mark('summary-slot')
            ui.label(t('panel.contact')).classes('text-sm font-semibold')
            self.whatsapp_name = ui.label().classes('text-xs text-slate-500').mark('whatsapp-name')
            self.name = ui.input(t('panel.name')).props('dense outlined').classes('w-full').mark('contact-name')
            self.email = ui.input(t('panel.email')).props('dense outlined').classes('w-full').mark('contact-email')
            self.notes = ui.textarea(t('panel.notes')).props('dense outlined autogrow').classes('w-full') \
                .mark('contact-notes')
            ui.button(t('panel.save'), on_click=self._save).props('dense outline').mark('save-contact')
            ui.label(t('panel.labels')).classes('text-sm font-semibold')
            self.labels = ui.input_chips(new_value_mode='add-unique', on_change=self._labels_changed) \
                .props('dense outlined').classes('w-full').mark('labels')
            ui.label(t('panel.history')).classes('text-sm font-semibold')
            self.history = ui.column().classes('w-full gap-1').mark('attendance')
        self._loading = False
        self.root.set_visibility(False)

    def show(self, detail: ConversationDetail) -> None:
        self._loading = True
        self.root.set_visibility(True)
        self.whatsapp_name.text = t('panel.whatsapp_name', name=detail.contact_profile_name or '—')
        self.name.value = detail.contact_display_name or detail.contact_profile_name
        self.email.value = detail.contact_email
        self.notes.value = detail.contact_notes
        self.labels.value = list(detail.labels)
        self.history.clear()
        with self.history:
            if not detail.attended_by:
                ui.label(t('panel.no_history')).classes('text-xs text-slate-500')
            for entry in detail.attended_by:
                who = entry.user_name or entry.actor_name or t('chat.system')
                ui.label(f'{local_time(entry.at)} · {who} · {entry.action}').classes('text-xs')
        self._loading = False

    async def _save(self) -> None:
        await self.on_save_contact(self.name.value or '', self.email.value or '', self.notes.value or '')

    async def _labels_changed(self) -> None:
        if not self._loading:
            await self.on_save_labels(list(self.labels.value or []))
