"""Audit trail (B4, O3): who did what, never message bodies or secrets."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from .access import Viewer
from .models import AuditEntry


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
