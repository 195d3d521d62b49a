"""Tables of the campaigns feature (issue 16, SPEC L4): a campaign (audience, template, pace, hours, schedule), one
row per recipient (the message that carries it, the score it was sent at, why the gate blocked it), and the opt-outs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class CampaignStatus(StrEnum):
    DRAFT = 'draft'  # created, not started
    SCHEDULED = 'scheduled'  # waits for `scheduled_at`; the campaigns job starts it, in whichever process runs it
    RUNNING = 'running'  # its messages are queued (or being queued) and paced by `next_attempt_at`
    DONE = 'done'  # nothing of it is left queued
    CANCELLED = 'cancelled'


class Campaign(SQLModel, table=True):
    __tablename__ = 'campaigns'
    __table_args__ = (Index('ix_campaigns_due', 'status', 'scheduled_at'),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    # The number that sends it (Cloud API templates only); its branch owns the campaign (B2).
    number_id: int = Field(foreign_key='whatsapp_numbers.id')
    branch_id: int = Field(foreign_key='branches.id', index=True)
    template_id: int = Field(foreign_key='message_templates.id')
    # One contact field per template variable ({{1}}, {{2}}…): name, first_name, phone, branch (CAMPAIGN_FIELDS).
    variable_fields: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # The audience: prospects of a branch (contact_branches), with a label, in a score band, validated or not.
    audience_branch_id: int | None = Field(default=None, foreign_key='branches.id')
    audience_label: str | None = Field(default=None, max_length=40)
    audience_score_min: int | None = Field(default=None, ge=0, le=100)
    audience_score_max: int | None = Field(default=None, ge=0, le=100)
    audience_only_validated: bool = False
    # The send gate's threshold for this campaign; never below the gate's own (LEADMASTER_CAMPAIGN_MIN_SCORE).
    min_score: int = Field(default=70, ge=0, le=100)
    # Pace: messages per minute from this campaign's number; the hours it may send in (the display time zone).
    rate_per_minute: float = Field(default=60.0, gt=0)
    send_days: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5], sa_column=Column(JSONType, nullable=False)
    )  # Monday = 0
    send_from_hour: int = Field(default=9, ge=0, le=23)
    send_to_hour: int = Field(default=20, ge=1, le=24)
    status: CampaignStatus = Field(default=CampaignStatus.DRAFT, sa_type=String(16))
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when every recipient has its message (queued or blocked); a start cut short resumes until then.
    enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The next free send slot: the pacing cursor, so a resumed start continues the same pace.
    next_slot_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recipients_total: int = 0
    created_by_user_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CampaignRecipient(SQLModel, table=True):
    """One contact of a campaign's audience. Unique per campaign, so two processes starting the same campaign (or a
    start resumed after a crash) never message anyone twice."""

    __tablename__ = 'campaign_recipients'
    __table_args__ = (UniqueConstraint('campaign_id', 'contact_id'),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key='campaigns.id', index=True)
    contact_id: int = Field(foreign_key='contacts.id', index=True)
    message_id: int | None = Field(default=None, foreign_key='messages.id', index=True)
    score: int = Field(default=0, description='score_contactabilidad when the message was queued (its band)')
    # Why the send gate blocked it (opted_out, not_validated, low_score); '' = it went to the outbox.
    blocked_reason: str = Field(default='', max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OptOut(SQLModel, table=True):
    """A contact's "BAJA" (L4): the first one wins (unique contact), and only its winner sends the confirmation, so
    two processes seeing the same message never confirm twice."""

    __tablename__ = 'opt_outs'

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contacts.id', unique=True)
    message_id: int | None = Field(default=None, foreign_key='messages.id')
    keyword: str = Field(default='', max_length=60, description='the keyword it matched, as configured')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def campaign_payload(campaign_id: int, template: dict[str, Any]) -> dict[str, Any]:
    """What a campaign message's `payload` holds: the template the worker sends and the campaign it belongs to."""
    return {'template': template, 'campaign_id': campaign_id}
