"""Audit trail (B4, O3): who did what, never message bodies or secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .access import Viewer
from .database import Database
from .models import AuditEntry, Role


def record(
    session: AsyncSession,
    *,
    action: str,
    actor: Viewer | None = None,
    actor_label: str = '',
    target_type: str = '',
    target_id: str | int = '',
    **details: Any,
) -> None:
    """Add an audit row to the caller's transaction, so it commits (or not) with the change it describes.
    Without an actor or label the change came from the command line (`cli`)."""
    session.add(
        AuditEntry(
            actor_user_id=actor.user_id if actor else None,
            actor_label=actor_label or (actor.username if actor else 'cli'),
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details,
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    """The audit page's filters; every one optional. `until` is inclusive of its whole day (dates, not moments)."""

    actor: str = ''
    action: str = ''
    target_type: str = ''
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def list_entries(
    db: Database,
    *,
    viewer: Viewer,
    filters: AuditFilter = AuditFilter(),
    page: int = 1,
    page_size: int = 50,
    zone: ZoneInfo = ZoneInfo('America/Argentina/Buenos_Aires'),
) -> AuditPage:
    """The audit log newest first, for admins only (it names every branch's people). Dates are the staff's days
    in `zone`. The rows carry no message bodies: nothing that writes here puts them in (see `record`)."""
    viewer.require_role(Role.ADMIN)
    conditions: list[ColumnElement[bool]] = []
    if filters.actor.strip():
        conditions.append(col(AuditEntry.actor_label).ilike(f'%{_escape_like(filters.actor.strip())}%', escape='\\'))
    if filters.action.strip():
        conditions.append(col(AuditEntry.action).ilike(f'{_escape_like(filters.action.strip())}%', escape='\\'))
    if filters.target_type.strip():
        conditions.append(col(AuditEntry.target_type) == filters.target_type.strip())
    if filters.since is not None:
        conditions.append(col(AuditEntry.at) >= datetime.combine(filters.since, time.min, zone))
    if filters.until is not None:
        conditions.append(col(AuditEntry.at) < datetime.combine(filters.until + timedelta(days=1), time.min, zone))
    page = max(1, page)
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(AuditEntry).where(*conditions))).one()
        entries = (
            await session.exec(
                select(AuditEntry)
                .where(*conditions)
                .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
        ).all()
    return AuditPage(entries=list(entries), total=total, page=page, page_size=page_size)


async def target_types(db: Database) -> list[str]:
    """The kinds of things the log mentions, for the page's filter."""
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEntry.target_type)
            .where(AuditEntry.target_type != '')
            .distinct()
            .order_by(AuditEntry.target_type)
        )
        return list(rows.all())


def _escape_like(text: str) -> str:
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
