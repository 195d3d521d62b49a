"""Campaigns (L4): create one (audience, template, variables, pace, hours, schedule), start it, read its results.

Starting a campaign writes one `campaign_recipients` row and one `messages` row per contact of the audience, in
chunks of one transaction each: the message is `queued` at BULK priority with its own send time (the pace), or
`blocked` by the send gate (services/whatsapp/outbox.py) with the reason. The recipients' unique (campaign, contact)
makes a start that two processes race, or one resumed after a crash, message nobody twice. A prospect who never wrote
gets an open conversation on the campaign's number (its branch), the same one-per-customer-and-number rule ingest
keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..events import CONVERSATION_UPDATED, Event, EventPublisher
from ..models import (
    Branch,
    ChannelKind,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    MessageTemplate,
    Role,
    TemplateStatus,
    WhatsAppNumber,
    table_of,
)
from ..models.campaigns import Campaign, CampaignRecipient, CampaignStatus, OptOut
from ..models.leads import ContactBranch, ContactLabel
from ..models.types import utcnow
from ..whatsapp.ingest import among, insert_ignoring_duplicates
from ..whatsapp.outbox import BulkRecipient, campaign_events, send_gate, stage_campaign_templates
from .pacing import DEFAULT_DAYS, DEFAULT_HOURS, Pacer, SendHours

log = logging.getLogger(__name__)

# What a template variable can be filled with, per recipient.
CAMPAIGN_FIELDS = ('first_name', 'name', 'phone', 'branch')
DEFAULT_FIELDS = ('first_name', 'branch', 'phone')
# When a prospect has no name: Meta refuses an empty parameter, and "Hola cliente" reads better than a phone number.
NAMELESS = 'cliente'
CHUNK = 500
# Score bands of the response-rate chart (seed 002: "response rates by score band"); the gate's 70 is an edge.
SCORE_BANDS: tuple[tuple[int, int], ...] = ((0, 49), (50, 69), (70, 79), (80, 89), (90, 100))
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED)
WAITING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING)
# A start that has not finished queueing after this long died with its process: the campaigns job resumes it.
RESUME_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Audience:
    branch_id: int | None = None  # prospects of this branch (contact_branches); None = every branch (admins)
    label: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    only_validated: bool = False


@dataclass(frozen=True)
class Schedule:
    rate_per_minute: float = 60.0
    days: tuple[int, ...] = DEFAULT_DAYS
    from_hour: int = DEFAULT_HOURS[0]
    to_hour: int = DEFAULT_HOURS[1]
    start_at: datetime | None = None  # None: a draft, started by hand (`run` / the page's button)


def audience_of(campaign: Campaign) -> Audience:
    return Audience(
        branch_id=campaign.audience_branch_id,
        label=campaign.audience_label,
        score_min=campaign.audience_score_min,
        score_max=campaign.audience_score_max,
        only_validated=campaign.audience_only_validated,
    )


def _audience_conditions(audience: Audience) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        col(Contact.merged_into_id).is_(None),
        or_(col(Contact.phone_e164).is_not(None), col(Contact.wa_id).is_not(None)),  # someone we can write to
    ]
    if audience.branch_id is not None:
        conditions.append(
            exists().where(
                col(ContactBranch.contact_id) == col(Contact.id), col(ContactBranch.branch_id) == audience.branch_id
            )
        )
    if audience.label:
        conditions.append(
            exists().where(col(ContactLabel.contact_id) == col(Contact.id), col(ContactLabel.label) == audience.label)
        )
    if audience.score_min is not None:
        conditions.append(col(Contact.score_contactabilidad) >= audience.score_min)
    if audience.score_max is not None:
        conditions.append(col(Contact.score_contactabilidad) <= audience.score_max)
    if audience.only_validated:
        conditions.append(col(Contact.validado_tecnicamente).is_(True))
    return conditions


def _scoped_audience(viewer: Viewer | None, audience: Audience, *, number_branch_id: int) -> Audience:
    """Managers reach their own branch's prospects only (B2); without a branch filter, the number's branch."""
    if viewer is None or viewer.sees_all_branches:
        return audience
    branch_id = audience.branch_id if audience.branch_id is not None else number_branch_id
    if not viewer.can_see_branch(branch_id):
        raise PermissionDenied(f'{viewer.username} may not reach the prospects of branch {branch_id}')
    return Audience(
        branch_id=branch_id,
        label=audience.label,
        score_min=audience.score_min,
        score_max=audience.score_max,
        only_validated=audience.only_validated,
    )


# --- create ---------------------------------------------------------------------------------------------


async def create_campaign(
    db: Database,
    *,
    viewer: Viewer | None,
    name: str,
    phone_number_id: str,
    template_name: str,
    audience: Audience,
    language: str | None = None,
    variable_fields: Sequence[str] | None = None,
    min_score: int | None = None,
    schedule: Schedule = Schedule(),
) -> Campaign:
    """A campaign of the number's branch (a manager's own; an admin's any). `viewer` None is the command line."""
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    name = name.strip()
    if not name:
        raise InvalidInput('the campaign needs a name')
    gate = send_gate()
    if min_score is not None and min_score < gate.min_score:
        raise InvalidInput(f'the send gate refuses scores under {gate.min_score}; a campaign cannot go lower')
    hours = SendHours.of(
        days=schedule.days, from_hour=schedule.from_hour, to_hour=schedule.to_hour, zone=ZoneInfo('UTC')
    )  # checked here; the campaign's zone is the display zone, applied when it starts
    if schedule.rate_per_minute <= 0:
        raise InvalidInput('the pace must be above 0 messages per minute')
    async with db.session() as session:
        number = (
            await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == phone_number_id))
        ).first()
        if number is None or (viewer is not None and not viewer.can_see_branch(number.branch_id)):
            raise NotFound(f'no number {phone_number_id!r}')
        if number.channel == ChannelKind.WAHA:
            raise InvalidInput(
                'campaigns go through the official API (templates); a WhatsApp Web number cannot send them'
            )
        query = select(MessageTemplate).where(
            MessageTemplate.number_id == number.id, MessageTemplate.name == template_name
        )
        if language:
            query = query.where(MessageTemplate.language == language)
        template = (await session.exec(query)).first()
        if template is None:
            raise NotFound(f'no template {template_name!r} for {number.display_phone}')
        if template.status != TemplateStatus.APPROVED:
            raise InvalidInput(f'template {template_name!r} is {template.status}, not approved')
        fields = list(variable_fields) if variable_fields else list(DEFAULT_FIELDS[: template.variable_count])
        if len(fields) != template.variable_count:
            raise InvalidInput(
                f'template {template_name!r} has {template.variable_count} variables, {len(fields)} given'
            )
        if unknown := [field_ for field_ in fields if field_ not in CAMPAIGN_FIELDS]:
            raise InvalidInput(f'unknown contact fields {unknown}; use {", ".join(CAMPAIGN_FIELDS)}')
        scoped = _scoped_audience(viewer, audience, number_branch_id=number.branch_id)
        campaign = Campaign(
            name=name[:120],
            number_id=number.id or 0,
            branch_id=number.branch_id,
            template_id=template.id or 0,
            variable_fields=fields,
            audience_branch_id=scoped.branch_id,
            audience_label=(scoped.label or '').strip()[:40] or None,
            audience_score_min=scoped.score_min,
            audience_score_max=scoped.score_max,
            audience_only_validated=scoped.only_validated,
            min_score=max(gate.min_score, min_score or 0),
            rate_per_minute=schedule.rate_per_minute,
            send_days=sorted(hours.days),
            send_from_hour=hours.from_hour,
            send_to_hour=hours.to_hour,
            status=CampaignStatus.SCHEDULED if schedule.start_at else CampaignStatus.DRAFT,
            scheduled_at=schedule.start_at,
            created_by_user_id=viewer.user_id if viewer else None,
        )
        session.add(campaign)
        await session.flush()
        audit.record(
            session, action='campaign.created', actor=viewer, target_type='campaign', target_id=campaign.id or 0
        )
        await session.commit()
    return campaign


async def list_campaigns(db: Database, *, viewer: Viewer | None, limit: int = 100) -> list[Campaign]:
    async with db.session() as session:
        query = select(Campaign).order_by(col(Campaign.id).desc()).limit(limit)
        if viewer is not None:
            query = query.where(branch_scope(col(Campaign.branch_id), viewer))
        return list((await session.exec(query)).all())


async def get_campaign(db: Database, *, viewer: Viewer | None, campaign_id: int) -> Campaign:
    async with db.session() as session:
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None or (viewer is not None and not viewer.can_see_branch(campaign.branch_id)):
        raise NotFound(f'no campaign {campaign_id}')  # another branch's is "not found" (B2)
    return campaign


@dataclass(frozen=True)
class AudiencePreview:
    total: int
    would_send: int
    blocked: dict[str, int]


async def preview_audience(
    db: Database, *, viewer: Viewer | None, audience: Audience, number_branch_id: int, min_score: int | None = None
) -> AudiencePreview:
    """How many the audience holds and how many the gate would let through, before starting anything."""
    scoped = _scoped_audience(viewer, audience, number_branch_id=number_branch_id)
    threshold = max(send_gate().min_score, min_score or 0)
    async with db.session() as session:
        groups = (
            col(Contact.opted_out_at).is_not(None),
            col(Contact.validado_tecnicamente),
            col(Contact.score_contactabilidad) >= threshold,
        )
        rows = (
            await session.exec(
                select_columns(*groups, func.count()).where(*_audience_conditions(scoped)).group_by(*groups)
            )
        ).all()
    blocked: dict[str, int] = {}
    total = would_send = 0
    for opted_out, validated, scores, count in rows:
        total += count
        reason = (
            'opted_out'
            if opted_out
            else 'not_validated'
            if send_gate().require_validated and not validated
            else 'low_score'
            if not scores
            else None
        )
        if reason is None:
            would_send += count
        else:
            blocked[reason] = blocked.get(reason, 0) + count
    return AudiencePreview(total=total, would_send=would_send, blocked=blocked)


# --- start ----------------------------------------------------------------------------------------------


@dataclass
class StartOutcome:
    campaign_id: int
    started: bool = False  # this call claimed it (another process, or an earlier call, may have)
    recipients: int = 0
    queued: int = 0
    blocked: int = 0


async def start_campaign(
    db: Database,
    *,
    campaign_id: int,
    publisher: EventPublisher,
    zone: ZoneInfo,
    viewer: Viewer | None = None,
    resume: bool = False,
    chunk: int = CHUNK,
) -> StartOutcome:
    """Start a draft or scheduled campaign now: every recipient gets its message, queued at the campaign's pace or
    blocked by the gate. `resume` continues a start a dead process left half done (the campaigns job does)."""
    outcome = StartOutcome(campaign_id)
    now = utcnow()
    campaign = await get_campaign(db, viewer=viewer, campaign_id=campaign_id)
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    table = table_of(Campaign)
    async with db.session() as session:
        claimed = await session.exec(
            update(table)
            .where(
                table.c.id == campaign_id,
                table.c.status.in_([CampaignStatus.DRAFT, CampaignStatus.SCHEDULED]),
            )
            .values(status=CampaignStatus.RUNNING, started_at=now, next_slot_at=now)
        )
        if claimed.rowcount:
            audit.record(
                session, action='campaign.started', actor=viewer, target_type='campaign', target_id=campaign_id
            )
        await session.commit()
    outcome.started = bool(claimed.rowcount)
    if not outcome.started and not (resume and campaign.status == CampaignStatus.RUNNING and not campaign.enqueued_at):
        if campaign.status in {CampaignStatus.DONE, CampaignStatus.CANCELLED}:
            raise InvalidInput(f'campaign {campaign_id} is {campaign.status}')
        return outcome  # already started elsewhere
    campaign = await get_campaign(db, viewer=None, campaign_id=campaign_id)
    hours = SendHours.of(
        days=campaign.send_days, from_hour=campaign.send_from_hour, to_hour=campaign.send_to_hour, zone=zone
    )
    async with db.session() as session:
        template = await session.get(MessageTemplate, campaign.template_id)
        number = await session.get(WhatsAppNumber, campaign.number_id)
        branch = await session.get(Branch, campaign.branch_id)
    assert template is not None and number is not None and branch is not None
    audience = audience_of(campaign)
    while True:
        staged_count = await _start_chunk(
            db,
            campaign=campaign,
            template=template,
            branch_name=branch.name,
            audience=audience,
            hours=hours,
            publisher=publisher,
            chunk=chunk,
            outcome=outcome,
        )
        if staged_count == 0:
            break
    async with db.session() as session:
        await session.exec(update(table).where(table.c.id == campaign_id).values(enqueued_at=utcnow()))
        await session.commit()
    log.info(
        'campaign %s started: %d recipients, %d queued, %d blocked',
        campaign_id,
        outcome.recipients,
        outcome.queued,
        outcome.blocked,
    )
    return outcome


async def _start_chunk(
    db: Database,
    *,
    campaign: Campaign,
    template: MessageTemplate,
    branch_name: str,
    audience: Audience,
    hours: SendHours,
    publisher: EventPublisher,
    chunk: int,
    outcome: StartOutcome,
) -> int:
    """The next `chunk` contacts of the audience without a recipient row, in one transaction. 0 when none is left."""
    campaign_id = campaign.id or 0
    recipients = table_of(CampaignRecipient)
    campaigns = table_of(Campaign)
    async with db.session() as session:
        contacts = (
            await session.exec(
                select(Contact)
                .where(
                    *_audience_conditions(audience),
                    ~exists().where(
                        col(CampaignRecipient.campaign_id) == campaign_id,
                        col(CampaignRecipient.contact_id) == col(Contact.id),
                    ),
                )
                .order_by(col(Contact.id))
                .limit(chunk)
            )
        ).all()
        if not contacts:
            return 0
        now = utcnow()
        # The recipients first: a contact another process is starting right now is skipped (unique campaign+contact).
        claimed = (
            await session.exec(
                insert_ignoring_duplicates(db.dialect, recipients).returning(recipients.c.contact_id),
                params=[
                    {
                        'campaign_id': campaign_id,
                        'contact_id': contact.id,
                        'score': contact.score_contactabilidad,
                        'blocked_reason': '',
                        'created_at': now,
                    }
                    for contact in contacts
                ],
            )
        ).all()
        mine = {contact_id for (contact_id,) in claimed}
        contacts = [contact for contact in contacts if contact.id in mine]
        if not contacts:
            await session.commit()
            return len(mine) or -1  # another process took this chunk; look again
        conversation_ids = await open_conversations(
            session,
            db.dialect,
            contact_ids=[contact.id or 0 for contact in contacts],
            number_id=campaign.number_id,
            branch_id=campaign.branch_id,
        )
        # Locked: two starters of one campaign (a resume racing a slow start) take turns on the pace's cursor
        # instead of handing out the same send times.
        cursor = (
            await session.exec(select(Campaign.next_slot_at).where(Campaign.id == campaign_id).with_for_update())
        ).one()
        pacer = Pacer(start=max(cursor or now, now), per_minute=campaign.rate_per_minute, hours=hours)
        staged = await stage_campaign_templates(
            session,
            campaign_id=campaign_id,
            template=template,
            min_score=campaign.min_score,
            next_slot=pacer,
            recipients=[
                BulkRecipient(
                    conversation_id=conversation_ids[contact.id or 0],
                    contact_id=contact.id or 0,
                    score=contact.score_contactabilidad,
                    validated=contact.validado_tecnicamente,
                    opted_out_at=contact.opted_out_at,
                    variables=[_field_value(contact, field_, branch_name) for field_ in campaign.variable_fields],
                )
                for contact in contacts
            ],
        )
        await session.exec(
            update(recipients)
            .where(recipients.c.campaign_id == campaign_id, recipients.c.contact_id == bindparam('the_contact'))
            .values(message_id=bindparam('the_message'), blocked_reason=bindparam('the_reason')),
            params=[
                {'the_contact': item.contact_id, 'the_message': item.message_id, 'the_reason': item.blocked or ''}
                for item in staged
            ],
        )
        conversations = table_of(Conversation)
        await session.exec(
            update(conversations)
            .where(conversations.c.id == bindparam('the_conversation'))
            .values(
                last_message_at=bindparam('the_time', type_=conversations.c.last_message_at.type),
                last_message_preview=bindparam('the_preview'),
                updated_at=bindparam('the_time', type_=conversations.c.updated_at.type),
            ),
            params=[
                {'the_conversation': item.conversation_id, 'the_time': now, 'the_preview': item.text[:200]}
                for item in staged
            ],
        )
        moved = await session.exec(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.status == CampaignStatus.RUNNING)
            .values(next_slot_at=pacer.cursor, recipients_total=campaigns.c.recipients_total + len(staged))
        )
        if moved.rowcount == 0:
            # Stopped (or finished) while this chunk was being prepared: none of it may go out.
            await session.rollback()
            return 0
        await session.commit()
    outcome.recipients += len(staged)
    outcome.queued += sum(1 for item in staged if item.blocked is None)
    outcome.blocked += sum(1 for item in staged if item.blocked is not None)
    events = campaign_events(campaign.branch_id, staged)
    events.extend(
        Event(CONVERSATION_UPDATED, campaign.branch_id, conversation_id, {'reason': 'outbound'})
        for conversation_id in sorted({item.conversation_id for item in staged})
    )
    await publisher.publish(events)
    return len(staged)


async def open_conversations(
    session: Any, dialect: str, *, contact_ids: list[int], number_id: int, branch_id: int
) -> dict[int, int]:
    """Each contact's open conversation on the number, opened where there is none: the same INSERT … ON CONFLICT
    DO NOTHING on the one-open-conversation-per-customer-and-number index that ingest uses, for a whole chunk."""

    async def load() -> dict[int, int]:
        rows = await session.exec(
            select(Conversation.contact_id, Conversation.id).where(
                among(col(Conversation.contact_id), contact_ids, dialect),
                Conversation.number_id == number_id,
                Conversation.status == ConversationStatus.OPEN,
            )
        )
        return dict(rows.all())

    found = await load()
    if missing := [contact_id for contact_id in contact_ids if contact_id not in found]:
        now = utcnow()
        await session.exec(
            insert_ignoring_duplicates(dialect, table_of(Conversation)),
            params=[
                {
                    'contact_id': contact_id,
                    'number_id': number_id,
                    'branch_id': branch_id,
                    'status': ConversationStatus.OPEN,
                    'mode': 'ai',
                    'unread_count': 0,
                    'last_message_preview': '',
                    'created_at': now,
                    'updated_at': now,
                }
                for contact_id in missing
            ],
        )
        found = await load()
    return found


def _field_value(contact: Contact, field_: str, branch_name: str) -> str:
    full_name = (contact.display_name or contact.profile_name).strip()
    if field_ == 'first_name':
        return full_name.split()[0] if full_name else NAMELESS
    if field_ == 'name':
        return full_name or NAMELESS
    if field_ == 'phone':
        return contact.phone_e164 or contact.wa_id or ''
    return branch_name


# --- the campaigns job's rounds ------------------------------------------------------------------------


async def due_campaigns(db: Database, *, now: datetime | None = None) -> list[int]:
    """Scheduled campaigns whose time has come, and starts a dead process left half done."""
    now = now or utcnow()
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Campaign.id).where(
                    or_(
                        and_(col(Campaign.status) == CampaignStatus.SCHEDULED, col(Campaign.scheduled_at) <= now),
                        and_(
                            col(Campaign.status) == CampaignStatus.RUNNING,
                            col(Campaign.enqueued_at).is_(None),
                            col(Campaign.started_at) < now - RESUME_AFTER,
                        ),
                    )
                )
            )
        ).all()
    return [campaign_id for campaign_id in rows if campaign_id is not None]


async def finish_campaigns(db: Database) -> list[int]:
    """Running campaigns with every message settled (none queued or sending) are done."""
    recipients, messages, campaigns = table_of(CampaignRecipient), table_of(Message), table_of(Campaign)
    waiting = (
        exists()
        .where(
            recipients.c.campaign_id == campaigns.c.id,
            messages.c.id == recipients.c.message_id,
            messages.c.status.in_(WAITING_STATUSES),
        )
        .correlate(campaigns)
    )
    async with db.session() as session:
        result = await session.exec(
            update(campaigns)
            .where(campaigns.c.status == CampaignStatus.RUNNING, campaigns.c.enqueued_at.is_not(None), ~waiting)
            .values(status=CampaignStatus.DONE, finished_at=utcnow())
            .returning(campaigns.c.id)
        )
        done = [campaign_id for (campaign_id,) in result.all()]
        await session.commit()
    return done


async def cancel_campaign(db: Database, *, viewer: Viewer | None, campaign_id: int) -> int:
    """Stop a campaign: its messages still queued are cancelled (never sent). Returns how many."""
    campaign = await get_campaign(db, viewer=viewer, campaign_id=campaign_id)
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    if campaign.status in {CampaignStatus.DONE, CampaignStatus.CANCELLED}:
        return 0
    messages, recipients = table_of(Message), table_of(CampaignRecipient)
    async with db.session() as session:
        result = await session.exec(
            update(messages)
            .where(
                messages.c.status == MessageStatus.QUEUED,
                messages.c.id.in_(
                    select(recipients.c.message_id).where(recipients.c.campaign_id == campaign_id).scalar_subquery()
                ),
            )
            .values(status=MessageStatus.CANCELLED, error_title='Campaña detenida', status_updated_at=utcnow())
        )
        await session.exec(
            update(table_of(Campaign))
            .where(table_of(Campaign).c.id == campaign_id)
            .values(status=CampaignStatus.CANCELLED, finished_at=utcnow())
        )
        audit.record(session, action='campaign.cancelled', actor=viewer, target_type='campaign', target_id=campaign_id)
        await session.commit()
    return int(result.rowcount or 0)


# --- results --------------------------------------------------------------------------------------------


def band_of(score: int) -> str:
    for low, high in SCORE_BANDS:
        if low <= score <= high:
            return f'{low}–{high}'
    return f'{SCORE_BANDS[-1][0]}–{SCORE_BANDS[-1][1]}'


@dataclass
class BandFigures:
    band: str
    recipients: int = 0
    sent: int = 0
    replied: int = 0

    @property
    def response_rate(self) -> float | None:
        """Replied / sent (accepted by WhatsApp); None when nothing of the band was sent."""
        return self.replied / self.sent if self.sent else None


@dataclass
class CampaignResults:
    campaign_id: int
    status: str
    recipients: int = 0
    queued: int = 0
    blocked: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # accepted by WhatsApp (sent, delivered or read)
    delivered: int = 0  # delivered or read
    read: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # Meta's reason → count
    cancelled: int = 0
    replied: int = 0
    opted_out: int = 0
    bands: list[BandFigures] = field(default_factory=list)

    @property
    def blocked_total(self) -> int:
        return sum(self.blocked.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.sent if self.sent else None

    def as_dict(self) -> dict[str, Any]:
        return {
            'campaign_id': self.campaign_id,
            'status': self.status,
            'recipients': self.recipients,
            'queued': self.queued,
            'blocked': self.blocked,
            'sent': self.sent,
            'delivered': self.delivered,
            'read': self.read,
            'failed': self.failed,
            'cancelled': self.cancelled,
            'replied': self.replied,
            'opted_out': self.opted_out,
            'response_rate': self.response_rate,
            'bands': [
                {
                    'band': band.band,
                    'recipients': band.recipients,
                    'sent': band.sent,
                    'replied': band.replied,
                    'response_rate': band.response_rate,
                }
                for band in self.bands
            ],
        }


async def campaign_results(db: Database, *, viewer: Viewer | None, campaign_id: int) -> CampaignResults:
    """Live figures of a campaign. "Replied": the recipient wrote anything in that conversation after the campaign's
    message was sent (an opt-out too: it is an answer; it is also counted under opted out)."""
    campaign = await get_campaign(db, viewer=viewer, campaign_id=campaign_id)
    answer = aliased(Message)  # the outer query reads the campaign's message itself
    replies = (
        select(answer.id)
        .where(
            col(answer.conversation_id) == col(Conversation.id),
            col(answer.direction) == Direction.INBOUND,
            col(answer.id) > col(CampaignRecipient.message_id),
        )
        .exists()
    )
    opted_out = (
        select(OptOut.id)
        .where(
            col(OptOut.contact_id) == col(CampaignRecipient.contact_id),
            col(OptOut.created_at) >= col(CampaignRecipient.created_at),
        )
        .exists()
    )
    async with db.session() as session:
        rows = (
            await session.exec(
                select_columns(
                    CampaignRecipient.score,
                    CampaignRecipient.blocked_reason,
                    Message.status,
                    Message.error_code,
                    Message.error_title,
                    replies,
                    opted_out,
                )
                .select_from(CampaignRecipient)
                .join(Message, col(Message.id) == col(CampaignRecipient.message_id))
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(CampaignRecipient.campaign_id == campaign_id)
            )
        ).all()
    results = CampaignResults(campaign_id=campaign_id, status=campaign.status)
    bands = {band_of(low): BandFigures(band_of(low)) for low, _ in SCORE_BANDS}
    for score, blocked_reason, status, error_code, error_title, replied, opted in rows:
        results.recipients += 1
        band = bands[band_of(score)]
        band.recipients += 1
        if status == MessageStatus.BLOCKED:
            reason = blocked_reason or 'opted_out'
            results.blocked[reason] = results.blocked.get(reason, 0) + 1
        elif status in WAITING_STATUSES:
            results.queued += 1
        elif status in {MessageStatus.FAILED, MessageStatus.UNCONFIRMED}:
            reason = error_title or (f'#{error_code}' if error_code else str(status))
            results.failed[reason] = results.failed.get(reason, 0) + 1
        elif status == MessageStatus.CANCELLED:
            results.cancelled += 1
        if status in SENT_STATUSES:
            results.sent += 1
            band.sent += 1
            if status in {MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED}:
                results.delivered += 1
            if status in {MessageStatus.READ, MessageStatus.PLAYED}:
                results.read += 1
            if replied:
                results.replied += 1
                band.replied += 1
        if opted:
            results.opted_out += 1
    results.bands = list(bands.values())
    return results


__all__ = [
    'CAMPAIGN_FIELDS',
    'SCORE_BANDS',
    'Audience',
    'AudiencePreview',
    'CampaignResults',
    'Schedule',
    'StartOutcome',
    'band_of',
    'campaign_results',
    'cancel_campaign',
    'create_campaign',
    'due_campaigns',
    'finish_campaigns',
    'get_campaign',
    'list_campaigns',
    'preview_audience',
    'start_campaign',
]


@dataclass(frozen=True)
class CampaignReply:
    conversation_id: int
    contact_name: str
    text: str
    at: datetime


async def campaign_replies(
    db: Database, *, viewer: Viewer | None, campaign_id: int, limit: int = 20
) -> list[CampaignReply]:
    """The latest answers to a campaign (what recipients wrote after its message), newest first."""
    await get_campaign(db, viewer=viewer, campaign_id=campaign_id)
    async with db.session() as session:
        rows = (
            await session.exec(
                select_columns(
                    Message.conversation_id,
                    Contact.display_name,
                    Contact.profile_name,
                    Contact.phone_e164,
                    Message.text,
                    Message.type,
                    Message.sent_at,
                )
                .select_from(CampaignRecipient)
                .join(Contact, col(Contact.id) == col(CampaignRecipient.contact_id))
                .join(Conversation, col(Conversation.contact_id) == col(CampaignRecipient.contact_id))
                .join(Campaign, col(Campaign.id) == col(CampaignRecipient.campaign_id))
                .join(Message, col(Message.conversation_id) == col(Conversation.id))
                .where(
                    col(CampaignRecipient.campaign_id) == campaign_id,
                    col(Conversation.number_id) == col(Campaign.number_id),
                    col(Message.direction) == Direction.INBOUND,
                    col(Message.id) > col(CampaignRecipient.message_id),
                )
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
        ).all()
    return [
        CampaignReply(
            conversation_id=conversation_id,
            contact_name=display or profile or phone or '?',
            text=text or f'[{type_}]',
            at=at,
        )
        for conversation_id, display, profile, phone, text, type_, at in rows
    ]
