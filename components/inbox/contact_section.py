"""Client panel section: the contact data agents can edit, and the conversation's labels."""

from __future__ import annotations

from nicegui import ui

from services.errors import ServiceError
from services.inbox import console
from services.inbox.console import ConversationDetail

from ..i18n import t
from ..panel_section import PanelContext, PanelSection


def lead_line(detail: ConversationDetail) -> str:
    """ "Contactabilidad 85 · validado" — or that the customer opted out, which stops every campaign and template."""
    if detail.contact_opted_out:
        return t('panel.lead_opted_out')
    state = t('panel.lead_validated') if detail.contact_validated else t('panel.lead_not_validated')
    return t('panel.lead', score=detail.contact_score, state=state)


class ContactSection(PanelSection):
    key = 'contact'

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.conversation_id: int | None = None
        self._loading = False
        ui.label(t('panel.contact')).classes('text-sm font-semibold')
        self.whatsapp_name = ui.label().classes('text-xs text-slate-500').mark('whatsapp-name')
        # C1/L1: the lead score; the contact's page (/contactos/{id}) has its reasons and the whole history.
        self.lead = ui.link().classes('text-xs').mark('contact-score')
        self.name = ui.input(t('panel.name')).props('dense outlined').classes('w-full').mark('contact-name')
        self.email = ui.input(t('panel.email')).props('dense outlined').classes('w-full').mark('contact-email')
        self.notes = (
            ui.textarea(t('panel.notes')).props('dense outlined autogrow').classes('w-full').mark('contact-notes')
        )
        ui.button(t('panel.save'), on_click=self._save).props('dense outline').mark('save-contact')
        ui.label(t('panel.labels')).classes('text-sm font-semibold')
        self.labels = (
            ui.input_chips(new_value_mode='add-unique', on_change=self._labels_changed)
            .props('dense outlined')
            .classes('w-full')
            .mark('labels')
        )

    def show(self, detail: ConversationDetail) -> None:
        self._loading = True
        # Keep what the agent is typing when the same conversation is shown again after a live change.
        if self.conversation_id != detail.row.id:
            self.name.value = detail.contact_display_name or detail.contact_profile_name
            self.email.value = detail.contact_email
            self.notes.value = detail.contact_notes
        self.conversation_id = detail.row.id
        self.whatsapp_name.text = t('panel.whatsapp_name', name=detail.contact_profile_name or '—')
        self.lead.text = lead_line(detail)
        self.lead.props(f'href=/contactos/{detail.contact_id}')
        self.lead.classes(replace='text-xs ' + ('text-red-700' if detail.contact_opted_out else 'text-slate-600'))
        self.labels.value = list(detail.labels)
        self._loading = False

    def clear(self) -> None:
        self.conversation_id = None

    async def _save(self) -> None:
        if self.conversation_id is None:
            return
        try:
            await console.update_contact(
                self.context.db,
                viewer=self.context.viewer,
                conversation_id=self.conversation_id,
                display_name=self.name.value or '',
                email=self.email.value or '',
                notes=self.notes.value or '',
                publisher=self.context.publisher,
            )
        except ServiceError as exc:
            self.context.notify(str(exc), 'negative')
            return
        self.context.notify(t('panel.saved'), 'positive')

    async def _labels_changed(self) -> None:
        if not self._loading and self.conversation_id is not None:
            await console.set_labels(
                self.context.db,
                viewer=self.context.viewer,
                conversation_id=self.conversation_id,
                labels=list(self.labels.value or []),
                publisher=self.context.publisher,
            )
