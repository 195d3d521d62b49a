"""Branches and their WhatsApp numbers (B1): creation, listing and inbound routing."""

from __future__ import annotations

from sqlmodel import col, select

from . import audit
from .access import Viewer, branch_scope
from .database import Database, add_unique
from .errors import InvalidInput, NotFound
from .models import (
    Branch,
    BranchCreate,
    ChannelKind,
    Role,
    WaSession,
    WaSessionTransition,
    WhatsAppNumber,
    WhatsAppNumberCreate,
)
from .phones import normalize_phone


async def create_branch(db: Database, *, branch_in: BranchCreate, actor: Viewer | None = None) -> Branch:
    if actor is not None:
        actor.require_role(Role.ADMIN)
    branch = Branch.model_validate(branch_in, update={'code': branch_in.code.strip().upper()})
    if not branch.code.replace('-', '').isalnum():
        raise InvalidInput(f'branch code must be letters and digits: {branch_in.code!r}')
    async with db.session() as session:
        await add_unique(session, branch, conflict=f'branch {branch.code} already exists')
        audit.record(
            session,
            action='branch.created',
            actor=actor,
            target_type='branch',
            target_id=branch.id or '',
            code=branch.code,
        )
        await session.commit()
        return branch


async def list_branches(db: Database, *, viewer: Viewer | None = None) -> list[Branch]:
    """Branches ordered by code; only those the viewer may see (None = unrestricted, for the CLI)."""
    async with db.session() as session:
        query = select(Branch).order_by(Branch.code)
        if viewer is not None:
            query = query.where(branch_scope(Branch.id, viewer))
        return list((await session.exec(query)).all())


async def set_retention(db: Database, *, code: str, days: int | None, actor: Viewer | None = None) -> Branch:
    """O3: how long the branch keeps what customers wrote (None: kept); the retention job anonymizes the rest."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    if days is not None and not 30 <= days <= 3650:
        raise InvalidInput(f'retention must be between 30 and 3650 days, got {days}')
    async with db.session() as session:
        branch = (await session.exec(select(Branch).where(Branch.code == code.strip().upper()))).first()
        if branch is None:
            raise NotFound(f'no branch with code {code!r}')
        branch.retention_days = days
        audit.record(
            session, action='branch.retention', actor=actor, target_type='branch', target_id=branch.id or '', days=days
        )
        await session.commit()
        return branch


async def get_branch_by_code(db: Database, *, code: str) -> Branch:
    async with db.session() as session:
        branch = (await session.exec(select(Branch).where(Branch.code == code.strip().upper()))).first()
    if branch is None:
        raise NotFound(f'no branch with code {code!r}')
    return branch


WAITING_FOR_GATEWAY = 'creada; esperando al gateway'  # a new WA-Web session's reason until the first probe


async def add_number(
    db: Database,
    *,
    branch_code: str,
    channel: ChannelKind,
    phone_number_id: str,
    display_phone: str,
    label: str = '',
    actor: Viewer | None = None,
) -> WhatsAppNumber:
    if actor is not None:
        actor.require_role(Role.ADMIN)
    branch = await get_branch_by_code(db, code=branch_code)
    number_in = WhatsAppNumberCreate(
        branch_id=branch.id or 0,
        channel=channel,
        phone_number_id=phone_number_id.strip(),
        display_phone=normalize_phone(display_phone),
        label=label,
        # M6: a WhatsApp-Web gateway number listens only until an admin enables sending.
        sending_enabled=channel != ChannelKind.WAHA,
    )
    number = WhatsAppNumber.model_validate(number_in)
    async with db.session() as session:
        await add_unique(session, number, conflict=f'phone_number_id {phone_number_id} is already configured')
        if channel == ChannelKind.WAHA:
            # A WA-Web number is a session (M6): its state row, so the probes, the admin page and the alerts see it.
            web = WaSession(
                number_id=number.id or 0, name=number.phone_number_id, reason='creada; esperando al gateway'
            )
            await add_unique(session, web, conflict=f'a session named {phone_number_id} already exists')
            session.add(WaSessionTransition(session_id=web.id or 0, to_state=web.state, reason=web.reason))
        audit.record(
            session,
            action='number.created',
            actor=actor,
            target_type='whatsapp_number',
            target_id=number.id or '',
            branch=branch.code,
        )
        await session.commit()
        return number


async def list_numbers(db: Database, *, viewer: Viewer | None = None) -> list[tuple[WhatsAppNumber, Branch]]:
    async with db.session() as session:
        query = (
            select(WhatsAppNumber, Branch)
            .join(Branch, col(Branch.id) == col(WhatsAppNumber.branch_id))
            .order_by(Branch.code, WhatsAppNumber.display_phone)
        )
        if viewer is not None:
            query = query.where(branch_scope(WhatsAppNumber.branch_id, viewer))
        return [(number, branch) for number, branch in (await session.exec(query)).all()]
