"""`/campanas` (issue 16, SPEC L4): campaigns of approved templates to prospects, for managers (their branch) and
admins (all). The list and the new-campaign form; `?campana=ID` is one campaign: send it now or stop it, and its live
results (refreshed by one timer) with the response rate per score band."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.campaigns.form import CampaignDraft, CampaignForm
from components.campaigns.results_view import ResultsView
from components.i18n import format_count, local_time, t
from services import branches
from services.access import Viewer
from services.campaigns.service import (
    AudiencePreview,
    campaign_replies,
    campaign_results,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    preview_audience,
    start_campaign,
)
from services.errors import NotFound, ServiceError
from services.models import ChannelKind, MessageTemplate, Role, TemplateStatus
from services.models.campaigns import CampaignStatus
from services.whatsapp.outbox import send_gate
from services.whatsapp.templates import list_templates

REFRESH_SECONDS = 3.0


def _zone() -> ZoneInfo:
    return ZoneInfo(runtime().settings.display_timezone)


@signed_in_page('/campanas', minimum_role=Role.MANAGER, title_key='campaigns.title')
async def campaigns_page(viewer: Viewer, campana: int | None = None) -> None:
    if campana is not None:
        await _campaign(viewer, campana)
        return
    db = runtime().db
    with ui.row().classes('w-full items-center'):
        ui.label(t('campaigns.title')).classes('text-xl font-semibold')
    numbers = [
        (number, branch)
        for number, branch in await branches.list_numbers(db, viewer=viewer)
        if number.active and number.channel != ChannelKind.WAHA
    ]
    templates: dict[int, list[MessageTemplate]] = {}
    for template, number in await list_templates(db, only_approved=True, viewer=viewer):
        if template.status == TemplateStatus.APPROVED:
            templates.setdefault(number.id or 0, []).append(template)

    async def preview(draft: CampaignDraft) -> AudiencePreview:
        return await preview_audience(
            db,
            viewer=viewer,
            audience=draft.audience,
            number_branch_id=draft.number_branch_id,
            min_score=draft.min_score,
        )

    async def create(draft: CampaignDraft) -> None:
        campaign = await create_campaign(
            db,
            viewer=viewer,
            name=draft.name,
            phone_number_id=draft.phone_number_id,
            template_name=draft.template_name,
            variable_fields=draft.variable_fields,
            audience=draft.audience,
            min_score=draft.min_score,
            schedule=draft.schedule,
        )
        ui.navigate.to(f'/campanas?campana={campaign.id}')

    with ui.expansion(t('campaigns.new'), icon='add').classes('w-full').mark('campaign-new'):
        CampaignForm(
            numbers=numbers,
            templates=templates,
            branches=await branches.list_branches(db, viewer=viewer),
            all_branches_allowed=viewer.sees_all_branches,
            min_score=send_gate().min_score,
            rate_per_minute=runtime().settings.campaign_rate_per_minute,
            zone=_zone(),
            on_preview=preview,
            on_create=create,
        )
    campaigns = await list_campaigns(db, viewer=viewer)
    if not campaigns:
        ui.label(t('campaigns.empty')).classes('text-slate-500').mark('campaigns-empty')
        return
    with ui.column().classes('w-full gap-1').mark('campaigns-list'):
        for campaign in campaigns:
            with ui.row().classes('w-full items-center gap-4 border-b py-1').mark(f'campaign-{campaign.id}'):
                ui.link(campaign.name, f'/campanas?campana={campaign.id}').classes('font-medium w-72').mark(
                    'campaign-link'
                )
                ui.label(t(f'campaigns.status.{campaign.status}')).classes('w-28').mark('campaign-status')
                ui.label(f'{format_count(campaign.recipients_total)} {t("campaigns.col.recipients").lower()}')
                ui.label(local_time(campaign.scheduled_at or campaign.created_at, '%d/%m/%Y %H:%M')).classes(
                    'text-slate-500'
                )


async def _campaign(viewer: Viewer, campaign_id: int) -> None:
    db = runtime().db
    try:
        campaign = await get_campaign(db, viewer=viewer, campaign_id=campaign_id)
    except NotFound:
        ui.label(t('campaigns.not_found')).mark('campaign-not-found')
        ui.link(t('campaigns.back'), '/campanas')
        return
    with ui.row().classes('w-full items-center gap-3'):
        ui.link(t('campaigns.back'), '/campanas').classes('text-sm')
        ui.label(campaign.name).classes('text-xl font-semibold').mark('campaign-name-title')
        status = ui.label(t(f'campaigns.status.{campaign.status}')).classes('text-slate-600').mark('campaign-state')
        ui.space()
        run_button = ui.button(t('campaigns.run'), icon='send').mark('campaign-run')
        stop_button = (
            ui.button(t('campaigns.cancel'), icon='stop').props('outline color=negative').mark('campaign-cancel')
        )
    message = ui.label().classes('text-slate-600').mark('campaign-message')
    results_view = ResultsView()

    def show_actions(state: str) -> None:
        status.text = t(f'campaigns.status.{state}')
        run_button.set_visibility(state in {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})
        stop_button.set_visibility(state in {CampaignStatus.SCHEDULED, CampaignStatus.RUNNING})

    async def refresh() -> None:
        try:
            results = await campaign_results(db, viewer=viewer, campaign_id=campaign_id)
            replies = await campaign_replies(db, viewer=viewer, campaign_id=campaign_id)
        except ServiceError:
            return
        show_actions(results.status)
        results_view.update(results, replies)

    async def run() -> None:
        run_button.disable()
        try:
            outcome = await start_campaign(
                db, campaign_id=campaign_id, publisher=runtime().bus, zone=_zone(), viewer=viewer
            )
        except ServiceError as exc:
            message.text = t('campaigns.error', reason=str(exc))
            return
        finally:
            run_button.enable()
        message.text = t(
            'campaigns.started', queued=format_count(outcome.queued), blocked=format_count(outcome.blocked)
        )
        await refresh()

    async def stop() -> None:
        try:
            await cancel_campaign(db, viewer=viewer, campaign_id=campaign_id)
        except ServiceError as exc:
            message.text = t('campaigns.error', reason=str(exc))
        await refresh()

    run_button.on_click(run)
    stop_button.on_click(stop)
    show_actions(campaign.status)
    await refresh()
    ui.timer(REFRESH_SECONDS, refresh)  # one timer per page: the live results (sent, read, replies…)
