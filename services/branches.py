"""Branches and their WhatsApp numbers (B1): creation, listing and inbound routing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException
from sqlmodel import col, select

from . import audit
from .access import Viewer, branch_scope
from .database import Database, add_unique
from .errors import Conflict, InvalidInput, NotFound
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

_BRANCH_CODE = re.compile(r'^[A-Z0-9][A-Z0-9-]{0,15}$')


def _check_branch(*, code: str, name: str) -> None:
    if not _BRANCH_CODE.match(code):
        raise InvalidInput(f'branch code must be letters and digits: {code!r}', reason='branch_code_format')
    if not name.strip():
        raise InvalidInput('the branch name is required', reason='name_required')


async def create_branch(db: Database, *, branch_in: BranchCreate, actor: Viewer | None = None) -> Branch:
    if actor is not None:
        actor.require_role(Role.ADMIN)
    branch = Branch.model_validate(
        branch_in, update={'code': branch_in.code.strip().upper(), 'name': branch_in.name.strip()}
    )
    _check_branch(code=branch.code, name=branch.name)
    async with db.session() as session:
        try:
            await add_unique(session, branch, conflict=f'branch {branch.code} already exists')
        except Conflict as exc:
            raise Conflict(str(exc), reason='branch_code_taken', code=branch.code) from exc
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


@dataclass(frozen=True)
class BranchChanges:
    name: str
    city: str
    address: str
    active: bool


async def get_branch(db: Database, *, branch_id: int, viewer: Viewer | None = None) -> Branch:
    async with db.session() as session:
        branch = await session.get(Branch, branch_id)
    if branch is None or (viewer is not None and not viewer.can_see_branch(branch_id)):
        raise NotFound(f'no branch {branch_id}')
    return branch


async def update_branch(db: Database, *, branch_id: int, changes: BranchChanges, actor: Viewer | None = None) -> Branch:
    """Name, city, address and active flag (the code stays: quote numbers and exports carry it). A deactivated
    branch keeps its data and its numbers' routing; it leaves the lists where new things are assigned to a
    branch."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    async with db.session() as session:
        branch = await session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(f'no branch {branch_id}')
        _check_branch(code=branch.code, name=changes.name)
        before = {'name': branch.name, 'city': branch.city, 'address': branch.address, 'active': branch.active}
        branch.name = changes.name.strip()
        branch.city = changes.city.strip()
        branch.address = changes.address.strip()
        branch.active = changes.active
        after = {'name': branch.name, 'city': branch.city, 'address': branch.address, 'active': branch.active}
        changed = [key for key in after if before[key] != after[key]]
        action = 'branch.updated'
        if changed == ['active']:
            action = 'branch.activated' if branch.active else 'branch.deactivated'
        audit.record(
            session,
            action=action,
            actor=actor,
            target_type='branch',
            target_id=branch_id,
            code=branch.code,
            changed=changed,
        )
        await session.commit()
        await session.refresh(branch)
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


def business_phone(raw: str) -> str:
    """E.164 of one of OUR numbers. Besides every valid number, Meta's test numbers: a new Cloud API app comes
    with a `+1 555 …` number, which phonenumbers rightly calls invalid (555 is the North American fiction
    range); it is still the number the webhooks report, so it is accepted when it has a possible length."""
    try:
        return normalize_phone(raw)
    except InvalidInput:
        pass
    text = raw.strip()
    try:
        number = phonenumbers.parse(text if text.startswith('+') else f'+{text}', None)
    except NumberParseException as exc:
        raise InvalidInput(f'not a phone number: {raw!r}', reason='phone_invalid') from exc
    if (
        number.country_code == 1
        and str(number.national_number).startswith('555')
        and phonenumbers.is_possible_number(number)
    ):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidInput(f'not a valid phone number: {raw!r}', reason='phone_invalid')


async def add_number(
    db: Database,
    *,
    branch_code: str,
    channel: ChannelKind,
    phone_number_id: str,
    display_phone: str,
    label: str = '',
    waba_id: str | None = None,
    actor: Viewer | None = None,
) -> WhatsAppNumber:
    if actor is not None:
        actor.require_role(Role.ADMIN)
    branch = await get_branch_by_code(db, code=branch_code)
    if not phone_number_id.strip():
        raise InvalidInput('phone_number_id is required', reason='phone_number_id_required')
    number_in = WhatsAppNumberCreate(
        branch_id=branch.id or 0,
        channel=channel,
        phone_number_id=phone_number_id.strip(),
        display_phone=business_phone(display_phone),
        label=label.strip(),
        waba_id=(waba_id or '').strip() or None,
        # M6: a WhatsApp-Web gateway number listens only until an admin enables sending.
        sending_enabled=channel != ChannelKind.WAHA,
    )
    number = WhatsAppNumber.model_validate(number_in)
    async with db.session() as session:
        try:
            await add_unique(session, number, conflict=f'phone_number_id {phone_number_id} is already configured')
        except Conflict as exc:
            raise Conflict(str(exc), reason='phone_number_id_taken', phone_number_id=number.phone_number_id) from exc
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


@dataclass(frozen=True)
class NumberChanges:
    """What may change about a number. Not its channel nor its phone_number_id: messages, sessions and templates
    hang from the row, and a different id is a different number (add it, deactivate this one)."""

    branch_id: int
    display_phone: str
    label: str
    waba_id: str | None
    active: bool


async def get_number(db: Database, *, number_id: int) -> WhatsAppNumber:
    async with db.session() as session:
        number = await session.get(WhatsAppNumber, number_id)
    if number is None:
        raise NotFound(f'no number {number_id}')
    return number


async def get_number_by_phone_number_id(db: Database, *, phone_number_id: str) -> WhatsAppNumber:
    async with db.session() as session:
        number = (
            await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == phone_number_id.strip()))
        ).first()
    if number is None:
        raise NotFound(f'no number with phone_number_id {phone_number_id!r}')
    return number


async def update_number(
    db: Database, *, number_id: int, changes: NumberChanges, actor: Viewer | None = None
) -> WhatsAppNumber:
    """Move a number to another branch, fix its display number or label, or (de)activate it. Inbound routing
    follows within a minute (the ingest's `NumberDirectory` re-reads its cache that often)."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    display = business_phone(changes.display_phone)
    async with db.session() as session:
        number = await session.get(WhatsAppNumber, number_id)
        if number is None:
            raise NotFound(f'no number {number_id}')
        if await session.get(Branch, changes.branch_id) is None:
            raise InvalidInput(f'no branch {changes.branch_id}', reason='branch_unknown')
        before = _number_state(number)
        number.branch_id = changes.branch_id
        number.display_phone = display
        number.label = changes.label.strip()
        number.waba_id = (changes.waba_id or '').strip() or None
        number.active = changes.active
        changed: dict[str, Any] = {key: value for key, value in _number_state(number).items() if before[key] != value}
        action = 'number.updated'
        if changed.keys() == {'active'}:
            action = 'number.activated' if number.active else 'number.deactivated'
        audit.record(
            session,
            action=action,
            actor=actor,
            target_type='whatsapp_number',
            target_id=number_id,
            phone_number_id=number.phone_number_id,
            **changed,
        )
        await session.commit()
        await session.refresh(number)
        return number


def _number_state(number: WhatsAppNumber) -> dict[str, object]:
    return {
        'branch_id': number.branch_id,
        'display_phone': number.display_phone,
        'label': number.label,
        'waba_id': number.waba_id,
        'active': number.active,
    }
