"""API keys for the HTTP API (O2). The key is shown once; the database keeps a prefix and a SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from . import audit
from .access import Viewer
from .database import Database
from .errors import InvalidInput
from .models import ApiKey, Branch, Role
from .models.types import utcnow

KEY_PREFIX = 'lm_'
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    db: Database,
    *,
    name: str,
    branch_id: int | None = None,
    actor: Viewer | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored key and the plaintext key (`lm_<prefix>_<secret>`), which is never stored."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    if not name.strip():
        raise InvalidInput('an API key needs a name saying what it is for', reason='name_required')
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    plaintext = f'{KEY_PREFIX}{prefix}_{secret}'
    key = ApiKey(
        name=name.strip()[:120],
        prefix=prefix,
        key_hash=_digest(plaintext),
        branch_id=branch_id,
        created_by_id=actor.user_id if actor else None,
    )
    async with db.session() as session:
        session.add(key)
        await session.flush()
        audit.record(
            session,
            action='api_key.created',
            actor=actor,
            target_type='api_key',
            target_id=key.id or '',
            prefix=prefix,
            branch_id=branch_id,
        )
        await session.commit()
    return key, plaintext


async def viewer_for_api_key(db: Database, plaintext: str | None) -> Viewer | None:
    """The principal behind a presented key, or None if malformed, unknown or revoked."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = plaintext.removeprefix(KEY_PREFIX).partition('_')
    if not prefix or not secret:
        return None
    async with db.session() as session:
        key = (
            await session.exec(select(ApiKey).where(ApiKey.prefix == prefix, col(ApiKey.revoked_at).is_(None)))
        ).first()
        if key is None or not hmac.compare_digest(key.key_hash, _digest(plaintext)):
            return None
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            # Coarse on purpose: a write per API call would compete with ingest for the database.
            await session.exec(update(ApiKey).where(col(ApiKey.id) == key.id).values(last_used_at=now))
            await session.commit()
        branch = await session.get(Branch, key.branch_id) if key.branch_id else None
        if key.branch_id and branch is None:
            return None  # a branch key must never fall back to seeing every branch
    return Viewer(
        user_id=None,
        username=f'api:{key.prefix}',
        full_name=key.name,
        # A global key acts as an admin; a branch key sees one branch as its manager would.
        role=Role.ADMIN if branch is None else Role.MANAGER,
        branch_id=branch.id if branch else None,
        branch_ids=None if branch is None else frozenset({branch.id or 0}),
    )


async def revoke_api_key(db: Database, *, prefix: str, actor: Viewer | None = None) -> bool:
    """Revoke the active key with this prefix; False when there is none (unknown, or revoked already). Only a
    revocation that happened is audited."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    async with db.session() as session:
        result = await session.exec(
            update(ApiKey)
            .where(col(ApiKey.prefix) == prefix.strip(), col(ApiKey.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        if not result.rowcount:
            return False
        audit.record(session, action='api_key.revoked', actor=actor, target_type='api_key', target_id=prefix.strip())
        await session.commit()
        return True


async def list_api_keys(db: Database, *, viewer: Viewer | None = None) -> list[tuple[ApiKey, Branch | None]]:
    """Every key with its branch (None: all branches), newest first, revoked ones too (for the record)."""
    if viewer is not None:
        viewer.require_role(Role.ADMIN)
    async with db.session() as session:
        rows = await session.exec(
            select(ApiKey, Branch)
            .join(Branch, col(Branch.id) == col(ApiKey.branch_id), isouter=True)
            .order_by(col(ApiKey.id).desc())
        )
        return [(key, branch) for key, branch in rows.all()]
