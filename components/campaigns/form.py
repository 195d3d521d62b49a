"""The new-campaign form: number and approved template, each variable mapped to a contact field, the audience (a
branch's prospects, a label, a score band, validated only), the gate's threshold, the pace, the hours and an
optional schedule; "Calcular audiencia" counts who would get it and who the gate would block, before creating."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from components.i18n import format_count, t
from services.campaigns.pacing import DEFAULT_DAYS, DEFAULT_HOURS
from services.campaigns.service import CAMPAIGN_FIELDS, DEFAULT_FIELDS, Audience, AudiencePreview, Schedule
from services.errors import ServiceError
from services.models import Branch, MessageTemplate, WhatsAppNumber


@dataclass(frozen=True)
class CampaignDraft:
    name: str
    phone_number_id: str
    number_branch_id: int
    template_name: str
    variable_fields: list[str]
    audience: Audience
    min_score: int
    schedule: Schedule


class CampaignForm:
    def __init__(
        self,
        *,
        numbers: list[tuple[WhatsAppNumber, Branch]],
        templates: dict[int, list[MessageTemplate]],
        branches: list[Branch],
        all_branches_allowed: bool,
        min_score: int,
        rate_per_minute: float,
        zone: ZoneInfo,
        on_preview: Callable[[CampaignDraft], Awaitable[AudiencePreview]],
        on_create: Callable[[CampaignDraft], Awaitable[None]],
    ) -> None:
        self.numbers = {number.id: (number, branch) for number, branch in numbers}
        self.templates = templates
        self.zone = zone
        self.on_preview = on_preview
        self.on_create = on_create
        first_number = numbers[0][0].id if numbers else None
        with ui.card().classes('w-full max-w-4xl gap-3').mark('campaign-form'):
            self.name = ui.input(t('campaigns.form.name')).classes('w-96').mark('campaign-name')
            with ui.row().classes('gap-3 items-end'):
                self.number = (
                    ui.select(
                        {number.id: f'{branch.name} · {number.display_phone}' for number, branch in numbers},
                        value=first_number,
                        label=t('campaigns.form.number'),
                        on_change=lambda _: self._number_changed(),
                    )
                    .classes('w-72')
                    .mark('campaign-number')
                )
                self.template = (
                    ui.select({}, label=t('campaigns.form.template'), on_change=lambda _: self._fields())
                    .classes('w-72')
                    .mark('campaign-template')
                )
            self.no_templates = ui.label(t('campaigns.form.no_templates')).classes('text-negative')
            self.variables_row = ui.row().classes('gap-3')
            self.variables: list[ui.select] = []
            ui.label(t('campaigns.form.audience')).classes('font-medium')
            with ui.row().classes('gap-3 items-end'):
                branch_options: dict[int, str] = {0: t('campaigns.form.all_branches')} if all_branches_allowed else {}
                branch_options.update({branch.id or 0: branch.name for branch in branches})
                self.branch = (
                    ui.select(
                        branch_options,
                        value=(numbers[0][0].branch_id if numbers else next(iter(branch_options), None)),
                        label=t('campaigns.form.branch'),
                    )
                    .classes('w-56')
                    .mark('campaign-branch')
                )
                self.label = ui.input(t('campaigns.form.label')).classes('w-48').mark('campaign-label')
                self.score_from = (
                    ui.number(t('campaigns.form.score_from'), min=0, max=100, precision=0)
                    .classes('w-28')
                    .mark('campaign-score-from')
                )
                self.score_to = (
                    ui.number(t('campaigns.form.score_to'), min=0, max=100, precision=0)
                    .classes('w-28')
                    .mark('campaign-score-to')
                )
                self.only_validated = ui.checkbox(t('campaigns.form.only_validated')).mark('campaign-validated')
                self.min_score = (
                    ui.number(t('campaigns.form.min_score'), value=min_score, min=min_score, max=100, precision=0)
                    .classes('w-44')
                    .mark('campaign-min-score')
                )
            ui.label(t('campaigns.form.pace')).classes('font-medium')
            with ui.row().classes('gap-3 items-end'):
                self.rate = (
                    ui.number(t('campaigns.form.rate'), value=rate_per_minute, min=0.1, precision=1)
                    .classes('w-40')
                    .mark('campaign-rate')
                )
                day_names = t('campaigns.days').split(',')
                self.days = (
                    ui.select(
                        dict(enumerate(day_names)),
                        value=list(DEFAULT_DAYS),
                        multiple=True,
                        label=t('campaigns.form.days'),
                    )
                    .classes('w-72')
                    .mark('campaign-days')
                )
                self.from_hour = (
                    ui.number(t('campaigns.form.from_hour'), value=DEFAULT_HOURS[0], min=0, max=23, precision=0)
                    .classes('w-28')
                    .mark('campaign-from-hour')
                )
                self.to_hour = (
                    ui.number(t('campaigns.form.to_hour'), value=DEFAULT_HOURS[1], min=1, max=24, precision=0)
                    .classes('w-28')
                    .mark('campaign-to-hour')
                )
                self.start_at = (
                    ui.input(t('campaigns.form.start_at'))
                    .props('type=datetime-local stack-label')
                    .classes('w-56')
                    .mark('campaign-start-at')
                )
            with ui.row().classes('gap-3 items-center'):
                ui.button(t('campaigns.form.preview'), icon='groups', on_click=self._preview).props('outline').mark(
                    'campaign-preview'
                )
                self.preview = ui.label().classes('text-slate-600').mark('campaign-preview-result')
                ui.space()
                ui.button(t('campaigns.form.create'), icon='campaign', on_click=self._create).mark('campaign-create')
            self.error = ui.label().classes('text-negative').mark('campaign-form-error')
        self._number_changed()

    def _number_changed(self) -> None:
        templates = self.templates.get(self.number.value or 0, [])
        self.template.set_options({template.name: template.name for template in templates})
        self.template.value = templates[0].name if templates else None
        self.no_templates.set_visibility(not templates)
        self._fields()

    def _fields(self) -> None:
        templates = {template.name: template for template in self.templates.get(self.number.value or 0, [])}
        template = templates.get(self.template.value or '')
        count = template.variable_count if template else 0
        self.variables_row.clear()
        self.variables = []
        options = {field: t(f'campaigns.field.{field}') for field in CAMPAIGN_FIELDS}
        with self.variables_row:
            for index in range(count):
                default = DEFAULT_FIELDS[index] if index < len(DEFAULT_FIELDS) else 'name'
                self.variables.append(
                    ui.select(options, value=default, label=t('campaigns.form.variable', index=index + 1))
                    .classes('w-48')
                    .mark(f'campaign-variable-{index + 1}')
                )

    def draft(self) -> CampaignDraft:
        number, _branch = self.numbers[self.number.value]
        start_at = None
        if self.start_at.value:
            start_at = datetime.fromisoformat(str(self.start_at.value)).replace(tzinfo=self.zone)
        branch_id = int(self.branch.value) if self.branch.value else None
        return CampaignDraft(
            name=str(self.name.value or ''),
            phone_number_id=number.phone_number_id,
            number_branch_id=number.branch_id,
            template_name=str(self.template.value or ''),
            variable_fields=[str(select.value) for select in self.variables],
            audience=Audience(
                branch_id=branch_id or None,
                label=str(self.label.value or '').strip() or None,
                score_min=int(self.score_from.value) if self.score_from.value is not None else None,
                score_max=int(self.score_to.value) if self.score_to.value is not None else None,
                only_validated=bool(self.only_validated.value),
            ),
            min_score=int(self.min_score.value or 0),
            schedule=Schedule(
                rate_per_minute=float(self.rate.value or 0),
                days=tuple(sorted(int(day) for day in self.days.value or [])),
                from_hour=int(self.from_hour.value or 0),
                to_hour=int(self.to_hour.value or 0),
                start_at=start_at,
            ),
        )

    async def _preview(self) -> None:
        self.error.text = ''
        try:
            preview = await self.on_preview(self.draft())
        except (ServiceError, ValueError) as exc:  # refused, or a bad number or date: said in the form
            self.error.text = t('campaigns.error', reason=str(exc))
            return
        self.preview.text = t(
            'campaigns.form.preview_result',
            total=format_count(preview.total),
            send=format_count(preview.would_send),
            blocked=format_count(sum(preview.blocked.values())),
        )

    async def _create(self) -> None:
        self.error.text = ''
        try:
            await self.on_create(self.draft())
        except (ServiceError, ValueError) as exc:
            self.error.text = t('campaigns.error', reason=str(exc))
