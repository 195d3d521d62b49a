"""Contacts and prospects (M7, SPEC L1/L3): `/contactos` lists them with their scores, searched and filtered by
score band, validation, opt-out, label and branch, with the prospect import for managers and admins;
`/contactos/{id}` shows one: the score breakdown, validation, every conversation across numbers and branches, and
the merge of a duplicate into it. What a viewer may see is decided in services/leads (B2)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.i18n import format_count, local_time, t
from components.leads import LeadImportPanel, score_breakdown
from components.page_frame import selected_branch_id
from components.texts import TEXTS
from services import branches as branch_service
from services.access import Viewer
from services.errors import NotFound, PermissionDenied, ServiceError
from services.leads import (
    ContactDetail,
    ContactFilters,
    contact_id_for_phone,
    get_contact,
    list_contacts,
    merge_contacts,
    validate_contact,
)
from services.leads.contacts import PAGE_SIZE, contact_labels
from services.leads.scoring import SEND_GATE_MINIMUM
from services.models import Branch, Role

_ANY = ''


def _choice(value: str) -> bool | None:
    return None if value == _ANY else value == 'yes'


_COLUMNS = ('name', 'phone', 'company', 'score', 'maturity', 'validated', 'opted_out')
_RIGHT = {'score', 'maturity'}


class ContactsList:
    """The filters, the table and "ver más"; each change re-reads the list from services/leads (B2 there)."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.db = runtime().db
        self.limit = PAGE_SIZE
        self.latest = 0  # the newest read asked for: an older one that answers late is not shown

    def _select(self, options: dict[Any, str], *, label: str, marker: str, width: str, value: Any = _ANY) -> ui.select:
        return ui.select(options, value=value, label=label).props('dense outlined').classes(width).mark(marker)

    def build(self, *, labels: list[str], branches: list[Branch]) -> None:
        any_option = {_ANY: t('leads.contacts.any')}
        yes_no = {**any_option, 'yes': t('leads.contacts.yes'), 'no': t('leads.contacts.no')}
        with ui.row().classes('w-full items-end gap-2 flex-wrap'):
            self.search = ui.input(t('leads.contacts.search')).props('dense outlined clearable').classes('w-72')
            self.search.mark('contacts-search')
            bands = {**any_option, **{key: t(f'leads.band.{key}') for key in ('high', 'mid', 'low')}}
            self.band = self._select(bands, label=t('leads.contacts.band'), marker='contacts-band', width='w-44')
            self.validated = self._select(
                yes_no, label=t('leads.contacts.validated'), marker='contacts-validated', width='w-32'
            )
            self.opted_out = self._select(
                yes_no, label=t('leads.contacts.opted_out'), marker='contacts-opted-out', width='w-32'
            )
            self.label = self._select(
                {**any_option, **{name: name for name in labels}},
                label=t('leads.contacts.label'),
                marker='contacts-label',
                width='w-40',
            )
            self.branch = self._select(
                {**any_option, **{branch.id: branch.name for branch in branches}},
                label=t('leads.contacts.branch'),
                marker='contacts-branch',
                width='w-44',
                value=selected_branch_id() or _ANY,
            )
        self.count = ui.label('').classes('text-sm text-slate-600').mark('contacts-count')
        columns = [
            {
                'name': name,
                'label': t(f'leads.col.{name}'),
                'field': name,
                'align': 'right' if name in _RIGHT else 'left',
            }
            for name in _COLUMNS
        ]
        self.table = ui.table(columns=columns, rows=[], row_key='id').props('dense flat bordered').classes('w-full')
        self.table.mark('contacts-table')
        self.table.on('rowClick', lambda event: ui.navigate.to(f'/contactos/{event.args[1]["id"]}'))
        self.more = ui.button(t('leads.contacts.more'), on_click=self.show_more).props('flat').mark('contacts-more')
        for control in (self.band, self.validated, self.opted_out, self.label, self.branch):
            control.on_value_change(self.reset)
        for event in ('keydown.enter', 'clear', 'blur'):
            self.search.on(event, self.reset)

    def filters(self) -> ContactFilters:
        return ContactFilters(
            query=self.search.value or '',
            band=self.band.value or None,
            validated=_choice(self.validated.value),
            opted_out=_choice(self.opted_out.value),
            label=self.label.value or None,
            branch_id=self.branch.value if self.branch.value != _ANY else None,
        )

    async def refresh(self) -> None:
        self.latest += 1
        asked = self.latest
        try:
            rows, total = await list_contacts(self.db, viewer=self.viewer, filters=self.filters(), limit=self.limit)
        except PermissionDenied:
            rows, total = [], 0
        if asked != self.latest:
            return
        yes = t('leads.contacts.yes')
        self.table.rows = [
            {
                'id': row.id,
                'name': row.name,
                'phone': row.phone_e164 or '',
                'company': row.company,
                'score': row.score_contactabilidad,
                'maturity': row.digital_maturity,
                'validated': yes if row.validado_tecnicamente else '',
                'opted_out': yes if row.opted_out else '',
            }
            for row in rows
        ]
        self.table.update()
        self.count.text = (
            t('leads.contacts.count', shown=format_count(len(rows)), total=format_count(total))
            if total
            else t('leads.contacts.empty')
        )
        self.more.set_visibility(len(rows) < total)

    async def show_more(self) -> None:
        self.limit += PAGE_SIZE
        await self.refresh()

    async def reset(self) -> None:
        self.limit = PAGE_SIZE
        await self.refresh()


@signed_in_page('/contactos', title_key='nav.contacts')
async def contacts_page(viewer: Viewer) -> None:
    db = runtime().db
    visible_branches = await branch_service.list_branches(db, viewer=viewer)
    ui.label(t('leads.contacts.title')).classes('text-xl font-semibold')
    ui.label(t('leads.score.gate', minimum=SEND_GATE_MINIMUM)).classes('text-sm text-slate-500')
    listing = ContactsList(viewer)
    listing.build(labels=await contact_labels(db, viewer=viewer), branches=visible_branches)
    await listing.refresh()
    if viewer.has_role(Role.MANAGER):
        ui.separator().classes('my-4')

        class RefreshingPanel(LeadImportPanel):
            async def _import(self) -> None:
                await super()._import()
                await listing.refresh()

        RefreshingPanel(
            db=db,
            viewer=viewer,
            branches=visible_branches,
            default_branch_id=selected_branch_id() or viewer.branch_id,
        )


@signed_in_page('/contactos/{contact_id}', title_key='nav.contacts')
async def contact_page(viewer: Viewer, contact_id: int) -> None:
    db = runtime().db
    ui.link(t('leads.contact.back'), '/contactos').classes('text-sm')
    try:
        detail = await get_contact(db, viewer=viewer, contact_id=contact_id)
    except NotFound:
        ui.label(t('leads.contact.not_found')).classes('text-red-700').mark('contact-not-found')
        return
    row, profile = detail.row, detail.profile
    ui.label(row.name).classes('text-xl font-semibold').mark('contact-name')
    ui.label(row.phone_e164 or '').classes('text-sm').mark('contact-phone')
    _contact_data(detail)
    with ui.row().classes('gap-12 mt-2 items-start'):
        score_breakdown(
            t('leads.score.contactability'),
            row.score_contactabilidad,
            row.contactability_reasons,
            marker='contact-score',
        )
        score_breakdown(
            t('leads.score.maturity'), row.digital_maturity, row.maturity_reasons, marker='contact-maturity'
        )
        if profile is not None and profile.score_potencial is not None:
            with ui.column().classes('gap-0'):
                ui.label(t('leads.score.potential')).classes('text-sm text-slate-600')
                ui.label(str(profile.score_potencial)).classes('text-2xl font-semibold')
    ui.label(t('leads.score.gate', minimum=SEND_GATE_MINIMUM)).classes('text-xs text-slate-500')
    with ui.row().classes('items-center gap-3'):
        ui.label(_validation_status(detail)).classes('text-sm font-medium').mark('contact-validation')
        if not row.validado_tecnicamente and not row.opted_out:
            _validate_button(viewer, contact_id)
    _history(detail)
    if viewer.has_role(Role.MANAGER):
        _merge_form(viewer, contact_id, row.name)


def _validate_button(viewer: Viewer, contact_id: int) -> None:
    """L2 in one click where the sender lands: the console's score link opens this page, and a follow-up template
    to a customer whose window closed waits for this validation (docs/decisions.md, "The send gate and
    customers")."""

    async def validate() -> None:
        try:
            await validate_contact(runtime().db, viewer=viewer, contact_id=contact_id)
        except ServiceError as error:
            ui.notify(str(error), type='negative')
            return
        ui.navigate.to(f'/contactos/{contact_id}')

    ui.button(t('leads.contact.validate'), on_click=validate).props('dense outline color=primary').mark(
        'contact-validate'
    )


def _contact_data(detail: ContactDetail) -> None:
    row, profile = detail.row, detail.profile
    with ui.column().classes('gap-0 text-sm').mark('contact-data'):
        if row.email:
            ui.label(t('leads.contact.email', value=row.email))
        if profile is not None:
            if profile.company:
                ui.label(t('leads.contact.company', value=profile.company))
            if profile.website:
                ui.label(t('leads.contact.website', value=profile.website))
            if profile.social_profiles:
                ui.label(t('leads.contact.social', value=', '.join(profile.social_profiles)))
            others = [phone for phone in profile.other_phones if phone != row.phone_e164]
            if others:
                ui.label(t('leads.contact.other_phones', value=', '.join(others)))
        if detail.labels:
            ui.label(t('leads.contact.labels', value=', '.join(detail.labels)))
        if detail.branches:
            ui.label(t('leads.contact.branches', value=', '.join(detail.branches)))
        if detail.merged_phones:
            ui.label(t('leads.contact.merged_phones', value=', '.join(detail.merged_phones))).mark('contact-merged')


def _validation_status(detail: ContactDetail) -> str:
    row, profile = detail.row, detail.profile
    if row.opted_out:
        return t('leads.reason.opted_out')
    if profile is not None and row.validado_tecnicamente and profile.validated_at:
        note = f' — {profile.validation_note}' if profile.validation_note else ''
        when = local_time(profile.validated_at, '%d/%m/%Y')
        return t('leads.contact.validated_by', who=profile.validated_by, when=when, note=note)
    if profile is not None and profile.rejected_at:
        return t('leads.contact.rejected_by', who=profile.validated_by, reason=profile.rejection_reason)
    return t('leads.contact.validated') if row.validado_tecnicamente else t('leads.contact.not_validated')


def _history(detail: ContactDetail) -> None:
    ui.label(t('leads.contact.history')).classes('text-lg font-semibold mt-4')
    with ui.column().classes('gap-1').mark('contact-history'):
        if not detail.history:
            ui.label(t('leads.contact.no_history')).classes('text-sm text-slate-500')
        for item in detail.history:
            ui.link(
                t(
                    'leads.contact.history_row',
                    when=local_time(item.last_message_at, '%d/%m/%Y %H:%M'),
                    branch=item.branch_name,
                    number=item.number,
                    status=t(f'leads.contact.status.{item.status}'),
                    preview=item.preview,
                ),
                f'/?c={item.conversation_id}',
            ).classes('text-sm').mark('contact-history-item')


def _merge_form(viewer: Viewer, contact_id: int, name: str) -> None:
    db = runtime().db
    ui.separator().classes('my-4')
    ui.label(t('leads.contact.merge_title')).classes('text-lg font-semibold')
    ui.label(t('leads.contact.merge_help')).classes('text-sm text-slate-500 max-w-[48rem]')
    result = ui.label('').classes('text-sm').mark('contact-merge-result')

    async def merge() -> None:
        try:
            loser_id = await contact_id_for_phone(db, phone=phone.value or '')
            await merge_contacts(db, viewer=viewer, survivor_id=contact_id, loser_id=loser_id)
        except ServiceError as error:
            known = f'leads.contact.merge_error.{error.params.get("reason", "")}'
            reason = t(known) if known in TEXTS else str(error)
            result.text = t('leads.contact.merge_failed', reason=reason)
            result.classes(add='text-red-700')
            return
        ui.navigate.to(f'/contactos/{contact_id}')

    with ui.row().classes('items-end gap-2'):
        phone = ui.input(t('leads.contact.merge_phone')).props('dense outlined').classes('w-64')
        phone.mark('contact-merge-phone')
        ui.button(t('leads.contact.merge'), on_click=merge).props('color=primary').mark('contact-merge')
