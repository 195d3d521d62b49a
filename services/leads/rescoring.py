"""Computing and storing the lead scores (SPEC L1) set-wise: a batch of contacts, their profiles and their send
history are read in three statements, scored with services/leads/scoring.py, and only what changed is written.

Runs when a contact's data changes (an import, a merge, a validation, a failed send: app/background_leads.py) and
every night over everyone (the WhatsApp answers and the 90-day failure window move with time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import Boolean, and_, bindparam, case, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..database import Database, select_columns
from ..models import Contact, Conversation, Direction, Message, MessageStatus, SessionState, WaSession
from ..models.base import table_of
from ..models.leads import LeadProfile
from ..models.types import UTCDateTime, utcnow
from ..whatsapp.ingest import among, insert_ignoring_duplicates
from . import scoring

log = logging.getLogger(__name__)

BATCH = 2000
# A WhatsApp answer is asked again after this long (people move their number to another phone, or drop it).
WHATSAPP_RECHECK = timedelta(days=30)
# Asked at most this many numbers per run: the gateway is a phone, not a lookup service.
WHATSAPP_CHECKS_PER_RUN = 200
RULE_VALIDATOR_PREFIX = 'regla'

# (phone E.164) -> True/False as WhatsApp answered, None when it could not be asked.
WhatsAppChecker = Callable[[str], Awaitable[bool | None]]

_DELIVERED = [MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED]


@dataclass(frozen=True)
class RescoreResult:
    scored: int
    changed: int
    whatsapp_checked: int
    auto_validated: int


@dataclass
class _Row:
    contact_id: int
    phone_e164: str | None
    email: str
    opted_out: bool
    score: int
    maturity: int
    validated: bool
    profile_id: int | None
    website: str
    social_profiles: list[str]
    contactability_reasons: list[dict[str, Any]]
    maturity_reasons: list[dict[str, Any]]
    whatsapp_exists: bool | None
    whatsapp_checked_at: Any
    rejected: bool


async def rescore(
    db: Database,
    *,
    contact_ids: Sequence[int] | None = None,
    checker: WhatsAppChecker | None = None,
    auto_validate_minimum: int | None = None,
    whatsapp_checks: int = WHATSAPP_CHECKS_PER_RUN,
) -> RescoreResult:
    """Score `contact_ids` (every contact not merged into another when None). With `checker`, numbers WhatsApp was
    never asked about (or not for WHATSAPP_RECHECK) are asked first, up to `whatsapp_checks`. With
    `auto_validate_minimum` (the admin's rule, `LEADMASTER_LEADS_AUTO_VALIDATE_MINIMUM`), a prospect at or above it,
    neither opted out nor rejected, is validated by the rule."""
    scored = changed = checked = validated = 0
    budget = whatsapp_checks if checker else 0
    after = 0
    wanted = sorted(set(contact_ids)) if contact_ids is not None else None
    while True:
        if wanted is not None:
            ids = wanted[after : after + BATCH]
            after += BATCH
        else:
            async with db.autocommit_session() as session:
                found = (
                    await session.exec(
                        select(Contact.id)
                        .where(col(Contact.id) > after, col(Contact.merged_into_id).is_(None))
                        .order_by(col(Contact.id))
                        .limit(BATCH)
                    )
                ).all()
            ids = [contact_id for contact_id in found if contact_id is not None]
            after = ids[-1] if ids else after
        if not ids:
            break
        async with db.session() as session:
            rows = await _load(session, db.dialect, ids)
            stats = await _send_history(session, db.dialect, ids)
            if budget and checker is not None:
                # Who wrote to us is on WhatsApp already (their message): the gateway's checks go to prospects.
                wrote = {contact_id for contact_id, history in stats.items() if history.wrote_to_us}
                unproven = [row for row in rows if row.contact_id not in wrote]
                asked = await _ask_whatsapp(session, unproven, checker, budget)
                budget -= asked
                checked += asked
            batch_changed, batch_validated = await _store(session, db.dialect, rows, stats, auto_validate_minimum)
            await session.commit()
        scored += len(rows)
        changed += batch_changed
        validated += batch_validated
    return RescoreResult(scored=scored, changed=changed, whatsapp_checked=checked, auto_validated=validated)


async def _load(session: AsyncSession, dialect: str, ids: list[int]) -> list[_Row]:
    contacts = table_of(Contact)
    profiles = table_of(LeadProfile)
    result = await session.exec(
        select_columns(
            contacts.c.id,
            contacts.c.phone_e164,
            contacts.c.email,
            contacts.c.opted_out_at,
            contacts.c.score_contactabilidad,
            contacts.c.digital_maturity,
            contacts.c.validado_tecnicamente,
            profiles.c.id,
            profiles.c.website,
            profiles.c.social_profiles,
            profiles.c.contactability_reasons,
            profiles.c.maturity_reasons,
            profiles.c.whatsapp_exists,
            profiles.c.whatsapp_checked_at,
            profiles.c.rejected_at,
        )
        .select_from(contacts.outerjoin(profiles, profiles.c.contact_id == contacts.c.id))
        .where(among(contacts.c.id, ids, dialect), contacts.c.merged_into_id.is_(None))
    )
    return [
        _Row(
            contact_id=row[0],
            phone_e164=row[1],
            email=row[2] or '',
            opted_out=row[3] is not None,
            score=row[4],
            maturity=row[5],
            validated=bool(row[6]),
            profile_id=row[7],
            website=row[8] or '',
            social_profiles=list(row[9] or []),
            contactability_reasons=list(row[10] or []),
            maturity_reasons=list(row[11] or []),
            whatsapp_exists=row[12],
            whatsapp_checked_at=row[13],
            rejected=row[14] is not None,
        )
        for row in result.all()
    ]


async def _ask_whatsapp(session: AsyncSession, rows: list[_Row], checker: WhatsAppChecker, budget: int) -> int:
    stale = utcnow() - WHATSAPP_RECHECK
    due = [
        row
        for row in rows
        if row.phone_e164
        and not row.opted_out
        and (row.whatsapp_exists is None or row.whatsapp_checked_at is None or row.whatsapp_checked_at < stale)
    ][:budget]
    if not due:
        return 0
    limit = asyncio.Semaphore(4)  # a few at a time: each answer is a round trip through the gateway's phone

    async def ask(row: _Row) -> bool | None:
        async with limit:
            try:
                return await checker(row.phone_e164 or '')
            except Exception:  # the gateway dropped; the number stays "sin verificar" until the next run
                log.warning('WhatsApp existence check failed', exc_info=True)
                return None

    answers = await asyncio.gather(*(ask(row) for row in due))
    asked = 0
    now = utcnow()
    for row, answer in zip(due, answers, strict=True):
        if answer is None:
            continue
        asked += 1
        row.whatsapp_exists = answer
        row.whatsapp_checked_at = now
        if row.profile_id is None:
            profile = LeadProfile(contact_id=row.contact_id, whatsapp_exists=answer, whatsapp_checked_at=now)
            session.add(profile)
            await session.flush()
            row.profile_id = profile.id
        else:
            await session.exec(
                update(table_of(LeadProfile))
                .where(table_of(LeadProfile).c.id == row.profile_id)
                .values(whatsapp_exists=answer, whatsapp_checked_at=now, updated_at=now)
            )
    return asked


class _History(NamedTuple):
    failures: int = 0
    undeliverable: int = 0
    delivered: bool = False
    wrote_to_us: bool = False


async def _send_history(session: AsyncSession, dialect: str, ids: list[int]) -> dict[int, _History]:
    """contact id -> (recent failures, recent undeliverable, delivered before) from their outbound messages, and
    whether they ever wrote to us (a conversation with an inbound message)."""
    since = utcnow() - timedelta(days=scoring.RECENT_FAILURE_DAYS)
    recent_failure = and_(col(Message.status) == MessageStatus.FAILED, col(Message.sent_at) >= since)
    rows = await session.exec(
        select_columns(
            col(Conversation.contact_id),
            func.sum(case((recent_failure, 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(recent_failure, col(Message.error_code).in_(sorted(scoring.UNDELIVERABLE_ERROR_CODES))),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((col(Message.status).in_(_DELIVERED), 1), else_=0)),
        )
        .select_from(Message)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(among(col(Conversation.contact_id), ids, dialect), col(Message.direction) == Direction.OUTBOUND)
        .group_by(col(Conversation.contact_id))
    )
    history = {row[0]: _History(int(row[1] or 0), int(row[2] or 0), bool(row[3])) for row in rows.all()}
    wrote = await session.exec(
        select(col(Conversation.contact_id))
        .where(among(col(Conversation.contact_id), ids, dialect), col(Conversation.last_inbound_at).is_not(None))
        .distinct()
    )
    for contact_id in wrote.all():
        history[contact_id] = history.get(contact_id, _History())._replace(wrote_to_us=True)
    return history


def score_row(row: _Row, stats: _History | None) -> tuple[scoring.Score, scoring.Score]:
    failures, undeliverable, delivered, wrote_to_us = stats or _History()
    reach = scoring.contactability(
        scoring.ContactFacts(
            phone_e164=row.phone_e164,
            opted_out=row.opted_out,
            whatsapp_exists=row.whatsapp_exists,
            delivered_before=delivered,
            recent_failures=failures,
            recent_undeliverable=undeliverable,
            wrote_to_us=wrote_to_us,
        )
    )
    presence = scoring.digital_maturity(
        scoring.PresenceFacts(website=row.website, email=row.email, social_profiles=tuple(row.social_profiles))
    )
    return reach, presence


async def _store(
    session: AsyncSession,
    dialect: str,
    rows: list[_Row],
    stats: dict[int, _History],
    auto_validate_minimum: int | None,
) -> tuple[int, int]:
    now = utcnow()
    contact_updates: list[dict[str, Any]] = []
    profile_updates: list[dict[str, Any]] = []
    new_profiles: list[dict[str, Any]] = []
    rule_validated: list[dict[str, Any]] = []
    for row in rows:
        reach, presence = score_row(row, stats.get(row.contact_id))
        validate = (
            auto_validate_minimum is not None
            and not row.validated
            and not row.opted_out
            and not row.rejected
            and reach.value >= auto_validate_minimum
        )
        if reach.value != row.score or presence.value != row.maturity or validate:
            contact_updates.append(
                {
                    'contact_id': row.contact_id,
                    'new_score': reach.value,
                    'new_maturity': presence.value,
                    'new_validated': row.validated or validate,
                    'now': now,
                }
            )
        reasons = (reach.reasons_json(), presence.reasons_json())
        if row.profile_id is None:
            new_profiles.append(
                {
                    **_empty_profile(row.contact_id, now),
                    'contactability_reasons': reasons[0],
                    'maturity_reasons': reasons[1],
                    'scored_at': now,
                }
            )
        elif reasons != (row.contactability_reasons, row.maturity_reasons):
            profile_updates.append(
                {'profile_id': row.profile_id, 'new_reach': reasons[0], 'new_presence': reasons[1], 'now': now}
            )
        if validate:
            rule_validated.append(
                {'rule_contact_id': row.contact_id, 'by': f'{RULE_VALIDATOR_PREFIX}: ≥ {auto_validate_minimum}'}
            )
    contacts = table_of(Contact)
    profiles = table_of(LeadProfile)
    if contact_updates:
        await session.exec(
            update(contacts)
            .where(contacts.c.id == bindparam('contact_id'))
            .values(
                score_contactabilidad=bindparam('new_score'),
                digital_maturity=bindparam('new_maturity'),
                # OR, not the value read: a person who validated the contact while this batch was being scored
                # keeps their validation (the rows were read before it).
                validado_tecnicamente=or_(
                    contacts.c.validado_tecnicamente, bindparam('new_validated', type_=Boolean())
                ),
                updated_at=bindparam('now', type_=UTCDateTime()),
            ),
            params=contact_updates,
        )
    if new_profiles:
        await session.exec(insert_ignoring_duplicates(dialect, profiles), params=new_profiles)
    if profile_updates:
        await session.exec(
            update(profiles)
            .where(profiles.c.id == bindparam('profile_id'))
            .values(
                contactability_reasons=bindparam('new_reach', type_=profiles.c.contactability_reasons.type),
                maturity_reasons=bindparam('new_presence', type_=profiles.c.maturity_reasons.type),
                scored_at=bindparam('now', type_=UTCDateTime()),
                updated_at=bindparam('now', type_=UTCDateTime()),
            ),
            params=profile_updates,
        )
    if rule_validated:
        await session.exec(
            update(profiles)
            .where(profiles.c.contact_id == bindparam('rule_contact_id'))
            .values(validated_by=bindparam('by'), validated_at=now, validated_by_user_id=None),
            params=rule_validated,
        )
    return len(contact_updates), len(rule_validated)


def _empty_profile(contact_id: int, now: Any) -> dict[str, Any]:
    """Every column of a new `lead_profiles` row (a multi-row INSERT needs them all)."""
    return {
        'contact_id': contact_id,
        'company': '',
        'website': '',
        'social_profiles': [],
        'other_phones': [],
        'score_potencial': None,
        'contactability_reasons': [],
        'maturity_reasons': [],
        'whatsapp_exists': None,
        'whatsapp_checked_at': None,
        'validated_at': None,
        'validated_by_user_id': None,
        'validated_by': '',
        'validation_note': '',
        'rejected_at': None,
        'rejection_reason': '',
        'source': '',
        'scored_at': None,
        'created_at': now,
        'updated_at': now,
    }


def waha_checker(db: Database, client: Any) -> WhatsAppChecker:
    """Asks through whichever WA-Web session is READY now (services/sessions); None when none is, so the number
    stays "sin verificar". `client` is a services.whatsapp.waha.client.WahaClient."""

    async def check(phone: str) -> bool | None:
        async with db.autocommit_session() as session:
            name = (
                await session.exec(
                    select(WaSession.name).where(col(WaSession.state) == SessionState.READY).order_by(col(WaSession.id))
                )
            ).first()
        if name is None:
            return None
        exists, _chat_id = await client.check_exists(name, phone=phone)
        return bool(exists)

    return check
