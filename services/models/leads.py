"""Tables of the lead-quality feature (issue 16, SPEC L1-L4, seed 002): which branch's prospect list a contact is on,
and the labels a prospect carries (from an import, or put by a person), and each prospect's profile: what its
scores come from and why (`lead_profiles`). The scores the send gate reads live on `contacts`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class ContactBranch(SQLModel, table=True):
    """A contact is a prospect of a branch: imported for it, or written to one of its numbers. A campaign's audience
    by branch and a manager's view of contacts go through this link (contacts themselves belong to no branch, M7)."""

    __tablename__ = 'contact_branches'
    __table_args__ = (UniqueConstraint('contact_id', 'branch_id'),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contacts.id', index=True)
    branch_id: int = Field(foreign_key='branches.id', index=True)
    source: str = Field(default='import', max_length=16, description='import, conversation or manual')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactLabel(SQLModel, table=True):
    """A label on a contact (e.g. "taller", "flota"), for filters and campaign audiences."""

    __tablename__ = 'contact_labels'
    __table_args__ = (UniqueConstraint('contact_id', 'label'),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contacts.id', index=True)
    label: str = Field(max_length=40, index=True)


class LeadProfile(SQLModel, table=True):
    """What a prospect's scores are computed from, beyond the contact itself, and why each score is what it is
    (services/leads/scoring.py). One row per contact that was imported, scored or validated. The three values the
    send gate reads (score_contactabilidad, validado_tecnicamente, opted_out_at) stay on `contacts`."""

    __tablename__ = 'lead_profiles'

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key='contacts.id', unique=True)
    company: str = Field(default='', max_length=200)
    website: str = Field(default='', max_length=300)
    # Instagram / Facebook / LinkedIn … addresses, as written in the import.
    social_profiles: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Numbers besides the contact's own (a vCard's work phone, a second column): kept so a later import matches.
    other_phones: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Commercial value 0-100 when the list brings one (optional, seed 002's "score_potencial").
    score_potencial: int | None = Field(default=None, ge=0, le=100)
    # [{"code": "phone_valid", "points": 40}, …]: each reason with what it added (or took away).
    contactability_reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    maturity_reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # WhatsApp existence as a READY WA-Web session answered it; None: never asked ("sin verificar").
    whatsapp_exists: bool | None = None
    whatsapp_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who validated (a person, or "regla: …" when the admin's rule did), when, and their note.
    validated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    validated_by_user_id: int | None = Field(default=None, foreign_key='users.id')
    validated_by: str = Field(default='', max_length=80)
    validation_note: str = Field(default='', max_length=500)
    # Rejected on the validation screen: out of the queue, not validated, with the reason.
    rejected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str = Field(default='', max_length=500)
    source: str = Field(default='', max_length=120, description='the import file, "demo", "manual"…')
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
