"""`leadmaster campaigns …`: campaigns of approved templates to prospects, through the send gate (L2, L4).

`create` prints the new campaign's id last; `run` queues its messages now (the running app's outbox sends them at the
campaign's pace, within its hours); `show` prints the results and the response rate per score band. `--json`: one
object per line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from app.commands import run_job
from app.settings import Settings
from services import branches
from services.campaigns.pacing import DEFAULT_DAYS
from services.campaigns.service import (
    CAMPAIGN_FIELDS,
    Audience,
    CampaignResults,
    Schedule,
    campaign_results,
    create_campaign,
    get_campaign,
    list_campaigns,
    start_campaign,
)
from services.database import Database
from services.events import NullPublisher
from services.whatsapp.outbox import SendGate, configure_send_gate

cli = typer.Typer(help='Campaigns: approved templates to prospects, through the send gate (L4).', no_args_is_help=True)

REASONS = {'opted_out': 'pidió la baja', 'not_validated': 'no validado', 'low_score': 'contactabilidad baja'}


def _settings() -> Settings:
    settings = Settings()
    configure_send_gate(
        SendGate(min_score=settings.campaign_min_score, require_validated=settings.campaign_require_validated)
    )
    return settings


def _percent(rate: float | None) -> str:
    return '—' if rate is None else f'{rate * 100:.1f} %'.replace('.', ',')


@cli.command('create')
def create(
    name: Annotated[str, typer.Option('--name', help='What the team calls it')],
    number: Annotated[str, typer.Option('--number', help="The sending number's phone_number_id")],
    template: Annotated[str, typer.Option('--template', help='An approved template of that number')],
    min_score: Annotated[
        int | None, typer.Option('--min-score', help='Gate threshold (never below the global)')
    ] = None,
    label: Annotated[str | None, typer.Option('--label', help='Only prospects with this label')] = None,
    branch: Annotated[str | None, typer.Option('--branch', help="Only this branch's prospects (code)")] = None,
    score_from: Annotated[int | None, typer.Option('--score-from', help='Audience: score at least')] = None,
    score_to: Annotated[int | None, typer.Option('--score-to', help='Audience: score at most')] = None,
    validated: Annotated[bool, typer.Option('--validated', help='Audience: validated prospects only')] = False,
    variables: Annotated[
        list[str] | None,
        typer.Option('--var', help=f'Field per template variable, in order: {", ".join(CAMPAIGN_FIELDS)}'),
    ] = None,
    rate: Annotated[float | None, typer.Option('--rate', help='Messages per minute from the number')] = None,
    days: Annotated[str, typer.Option('--days', help='Sending days, Monday = 0 (e.g. 012345)')] = ''.join(
        map(str, DEFAULT_DAYS)
    ),
    hours: Annotated[str, typer.Option('--hours', help='Sending hours in the display time zone, FROM-TO')] = '9-20',
    at: Annotated[str | None, typer.Option('--at', help='Start at (YYYY-MM-DDTHH:MM, display time zone)')] = None,
    as_json: Annotated[bool, typer.Option('--json', help='One JSON object')] = False,
) -> None:
    """Create a campaign (a draft, or scheduled with --at); prints its id last."""
    settings = _settings()
    zone = ZoneInfo(settings.display_timezone)
    try:
        from_hour, to_hour = (int(part) for part in hours.split('-', 1))
        start_at = datetime.fromisoformat(at).replace(tzinfo=zone) if at else None
        send_days = tuple(sorted({int(day) for day in days}))
    except ValueError as exc:
        raise typer.BadParameter(f'{exc}') from exc

    async def work(db: Database) -> Any:
        branch_id = (await branches.get_branch_by_code(db, code=branch)).id if branch else None
        return await create_campaign(
            db,
            viewer=None,
            name=name,
            phone_number_id=number,
            template_name=template,
            variable_fields=variables or None,
            audience=Audience(
                branch_id=branch_id, label=label, score_min=score_from, score_max=score_to, only_validated=validated
            ),
            min_score=min_score,
            schedule=Schedule(
                rate_per_minute=rate or settings.campaign_rate_per_minute,
                days=send_days,
                from_hour=from_hour,
                to_hour=to_hour,
                start_at=start_at,
            ),
        )

    campaign = run_job(work, settings=settings)
    if as_json:
        typer.echo(json.dumps({'id': campaign.id, 'name': campaign.name, 'status': campaign.status}))
        return
    typer.echo(f'campaign {campaign.name!r} created ({campaign.status}); id:')
    typer.echo(str(campaign.id))


@cli.command('run')
def run(
    campaign_id: Annotated[int, typer.Argument(help='The campaign id')],
    as_json: Annotated[bool, typer.Option('--json', help='One JSON object')] = False,
) -> None:
    """Start a campaign now: each recipient's message queued at the campaign's pace, or blocked by the gate."""
    settings = _settings()
    outcome = run_job(
        lambda db: start_campaign(
            db, campaign_id=campaign_id, publisher=NullPublisher(), zone=ZoneInfo(settings.display_timezone)
        ),
        settings=settings,
    )
    if as_json:
        typer.echo(json.dumps(outcome.__dict__))
        return
    if not outcome.started and not outcome.recipients:
        typer.echo(f'campaign {campaign_id} was already started')
        return
    typer.echo(
        f'campaign {campaign_id}: {outcome.recipients} recipients, {outcome.queued} queued, '
        f'{outcome.blocked} blocked by the send gate'
    )


@cli.command('show')
def show(
    campaign_id: Annotated[int, typer.Argument(help='The campaign id')],
    as_json: Annotated[bool, typer.Option('--json', help='One JSON object')] = False,
) -> None:
    """The campaign's results: queued, blocked by reason, sent, delivered, read, failed, replied, opted out, and the
    response rate per score band."""
    settings = _settings()

    async def work(db: Database) -> tuple[str, CampaignResults]:
        campaign = await get_campaign(db, viewer=None, campaign_id=campaign_id)
        return campaign.name, await campaign_results(db, viewer=None, campaign_id=campaign_id)

    name, results = run_job(work, settings=settings)
    if as_json:
        typer.echo(json.dumps({'name': name, **results.as_dict()}, ensure_ascii=False))
        return
    lines = [
        f'{name} (#{campaign_id}, {results.status})',
        f'  destinatarios {results.recipients}, en cola {results.queued}',
        f'  bloqueados {results.blocked_total}'
        + ''.join(f'; {REASONS.get(reason, reason)}: {count}' for reason, count in sorted(results.blocked.items())),
        f'  enviados {results.sent}, entregados {results.delivered}, leídos {results.read}',
        f'  fallidos {results.failed_total}'
        + ''.join(f'; {reason}: {count}' for reason, count in sorted(results.failed.items())),
        f'  respondieron {results.replied} ({_percent(results.response_rate)}), bajas {results.opted_out}',
        '  respuesta por banda de score:',
        *(
            f'    {band.band:>7}: {band.replied}/{band.sent} {_percent(band.response_rate)}'
            f' ({band.recipients} destinatarios)'
            for band in results.bands
        ),
    ]
    typer.echo('\n'.join(lines))


@cli.command('list')
def list_(as_json: Annotated[bool, typer.Option('--json', help='One JSON object per line')] = False) -> None:
    """Every campaign, newest first."""
    campaigns = run_job(lambda db: list_campaigns(db, viewer=None), settings=_settings())
    for campaign in campaigns:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        'id': campaign.id,
                        'name': campaign.name,
                        'status': campaign.status,
                        'recipients': campaign.recipients_total,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(f'{campaign.id}\t{campaign.status}\t{campaign.recipients_total}\t{campaign.name}')
