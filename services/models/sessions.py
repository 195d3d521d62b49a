"""WhatsApp-Web sessions through a WAHA gateway (SPEC M6, seeds 000 and 001): our view of each session's state,
every transition it went through, and what the probes learnt about it.

A session is a `WhatsAppNumber` of channel `waha` whose `phone_number_id` is the gateway's session name; this
table holds what only a WA-Web session has. The state uses seed 000's names, mapped from WAHA's statuses
(`services/sessions/states.py`); the raw gateway status is kept beside it, so a status WAHA adds later
(`PASSKEY_REQUIRED` in 2026) is shown as the gateway said it instead of breaking us.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class SessionState(StrEnum):
    INITIALIZING = 'INITIALIZING'  # the gateway is starting it (WAHA STARTING) or we have not heard yet
    QR_REQUIRED = 'QR_REQUIRED'  # a person must scan the QR (or confirm a passkey) on the phone
    READY = 'READY'  # paired and connected: messages flow
    DISCONNECTED = 'DISCONNECTED'  # stopped, or the gateway cannot be reached
    FAILED = 'FAILED'  # the gateway gave up on it; the probes restart it with backoff


class WaSessionPublic(SQLModel):
    """What admins and other systems see of a session."""

    id: int
    number_id: int
    branch_id: int
    name: str
    display_phone: str
    label: str
    state: SessionState
    reason: str
    gateway_status: str
    state_since: datetime
    last_event_at: datetime | None
    last_probe_at: datetime | None
    me_id: str
    me_name: str
    sending_enabled: bool
    failures: int
    silent: bool


class WaSession(SQLModel, table=True):
    __tablename__ = 'wa_sessions'

    id: int | None = Field(default=None, primary_key=True)
    number_id: int = Field(foreign_key='whatsapp_numbers.id', unique=True)
    # The gateway's session name (= the number's phone_number_id), denormalized: webhooks and the API name it.
    name: str = Field(max_length=64, unique=True)
    state: SessionState = Field(default=SessionState.INITIALIZING, sa_type=String(16))
    reason: str = Field(default='', max_length=300, description='Why it is in this state, in words for an admin')
    gateway_status: str = Field(default='', max_length=32, description="WAHA's status as it said it")
    state_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the gateway said what we hold (a webhook's own time; for a probe, the moment before asking): news older
    # than this arrived late (WAHA retries, an ingest backlog) and does not overwrite it.
    status_observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last webhook of any kind for this session: a READY session that goes quiet may be dead without knowing.
    last_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_probe_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    me_id: str = Field(default='', max_length=64, description="The paired account's WhatsApp id")
    me_name: str = Field(default='', max_length=120)
    # Consecutive failed starts: the restart backoff doubles with each, up to a cap.
    failures: int = 0
    next_restart_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Flagged by the probes: READY but no event for longer than the silence threshold in business hours.
    silent: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WaSessionTransition(SQLModel, table=True):
    """One state change, with when and why: the history admins read, and what daily uptime is computed from."""

    __tablename__ = 'wa_session_transitions'
    __table_args__ = (Index('ix_wa_session_transitions_session_at', 'session_id', 'at'),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key='wa_sessions.id')
    from_state: SessionState | None = Field(default=None, sa_type=String(16))
    to_state: SessionState = Field(sa_type=String(16))
    gateway_status: str = Field(default='', max_length=32)
    reason: str = Field(default='', sa_type=Text)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WaSessionTransitionPublic(SQLModel):
    from_state: SessionState | None
    to_state: SessionState
    gateway_status: str
    reason: str
    at: datetime
