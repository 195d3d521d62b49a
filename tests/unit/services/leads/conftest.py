"""Fixtures of the lead-quality tests: viewers of the named test users, and prospects built as an import would."""

from __future__ import annotations

from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.models import User


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        return await viewer_for_user(session, user)
