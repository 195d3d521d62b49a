"""Tables of the lead-quality feature (issue 16, SPEC L1-L4, seed 002): which branch's prospect list a contact is on,
and the labels a prospect carries (from an import, or put by a person). The scores themselves live on `contacts`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


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
