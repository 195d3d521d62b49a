"""Customers and leads: one row per real person, whatever number or branch they write to (M7)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class ContactBase(SQLModel):
    # E.164 with Argentina's mobile 9 normalised (+549…), so +54 9 11… and +54 11… are one person.
    # None only for WhatsApp username users whose number Meta does not share (then wa_user_id identifies them).
    phone_e164: str | None = Field(default=None, max_length=20, unique=True)
    wa_id: str | None = Field(default=None, max_length=32, index=True)
    # Newer Cloud API payloads identify users by a business-scoped id when wa_id is absent.
    wa_user_id: str | None = Field(default=None, max_length=64, unique=True)
    profile_name: str = Field(default='', max_length=120, description='Name the customer set in WhatsApp')
    display_name: str = Field(default='', max_length=120, description='Name an agent typed; wins over profile')
    email: str = Field(default='', max_length=200)
    notes: str = Field(default='', max_length=4000)


class ContactCreate(ContactBase):
    pass


class ContactUpdate(SQLModel):
    display_name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)


class ContactPublic(ContactBase):
    id: int
    name: str


class Contact(ContactBase, table=True):
    __tablename__ = 'contacts'

    id: int | None = Field(default=None, primary_key=True)
    # A duplicate merged into another contact points at the survivor and is hidden everywhere.
    merged_into_id: int | None = Field(default=None, foreign_key='contacts.id')
    # L1-L4 (seed 002, issue 16): a prospect is a contact who may never have written. The scores and their reasons
    # are computed by services/leads/scoring.py; the send gate (services/whatsapp/outbox.py) reads them.
    score_contactabilidad: int = Field(default=0, ge=0, le=100, index=True)
    digital_maturity: int = Field(default=0, ge=0, le=100)
    validado_tecnicamente: bool = Field(default=False, index=True)
    # Opted out (BAJA, STOP…): honored at once and forever; nothing business-initiated reaches them again.
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def name(self) -> str:
        return self.display_name or self.profile_name or self.phone_e164 or self.wa_user_id or '?'
