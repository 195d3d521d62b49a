"""Contacts as prospects (M7, SPEC L1-L2): the filtered list, one contact's scores and full history across numbers
and branches, the validation queue and its decisions, and merging two contacts into one.

Branch isolation (B2) is here: an agent or manager sees the contacts on their branches' prospect lists
(contact_branches) or who wrote to one of their branches (a conversation there); admins see all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer
from ..database import Database
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..models import Branch, Contact, Conversation, Role, WhatsAppNumber
from ..models.base import table_of
from ..models.leads import ContactBranch, ContactLabel, LeadProfile
from ..models.types import utcnow
from ..phones import argentine_variants, normalize_phone
from ..whatsapp.ingest import insert_ignoring_duplicates
from . import scoring
from .rescoring import _empty_profile, rescore

PAGE_SIZE = 50


@dataclass(frozen=True)
class ContactFilters:
    query: str = ''  # name, phone digits, e-mail or company
    band: str | None = None  # scoring.BANDS key
    validated: bool | None = None
    opted_out: bool | None = None
    label: str | None = None
    branch_id: int | None = None


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    phone_e164: str | None
    email: str
    company: str
    score_contactabilidad: int
    digital_maturity: int
    validado_tecnicamente: bool
    opted_out: bool
    contactability_reasons: list[dict[str, Any]]
    maturity_reasons: list[dict[str, Any]]
    whatsapp_exists: bool | None
    rejection_reason: str = ''


@dataclass(frozen=True)
class HistoryItem:
    conversation_id: int
    branch_name: str
    number: str  # the business number they wrote to (or were written from)
    status: str
    last_message_at: datetime | None
    preview: str


@dataclass(frozen=True)
class ContactDetail:
    row: ContactRow
    profile: LeadProfile | None
    labels: list[str]
    branches: list[str]
    history: list[HistoryItem]
    merged_phones: list[str] = field(default_factory=list)  # the numbers of the contacts merged into this one


def visible_contact(viewer: Viewer) -> ColumnElement[bool]:
    """WHERE clause: the contacts this viewer may see (B2)."""
    if viewer.branch_ids is None:
        return true()
    branches = sorted(viewer.branch_ids)
    return or_(
        exists().where(col(ContactBranch.contact_id) == col(Contact.id), col(ContactBranch.branch_id).in_(branches)),
        exists().where(col(Conversation.contact_id) == col(Contact.id), col(Conversation.branch_id).in_(branches)),
    )


def _conditions(viewer: Viewer, filters: ContactFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(Contact.merged_into_id).is_(None), visible_contact(viewer)]
    text = filters.query.strip()
    if text:
        like = f'%{text.casefold()}%'
        digits = ''.join(ch for ch in text if ch.isdigit())
        options = [
            func.lower(col(Contact.display_name)).like(like),
            func.lower(col(Contact.profile_name)).like(like),
            func.lower(col(Contact.email)).like(like),
            func.lower(col(LeadProfile.company)).like(like),
        ]
        if len(digits) >= 3:
            options.append(col(Contact.phone_e164).like(f'%{digits}%'))
        conditions.append(or_(*options))
    if filters.band in scoring.BANDS:
        low, high = scoring.BANDS[filters.band]
        conditions.append(col(Contact.score_contactabilidad).between(low, high))
    if filters.validated is not None:
        conditions.append(col(Contact.validado_tecnicamente).is_(filters.validated))
    if filters.opted_out is not None:
        conditions.append(
            col(Contact.opted_out_at).is_not(None) if filters.opted_out else col(Contact.opted_out_at).is_(None)
        )
    if filters.label:
        conditions.append(
            exists().where(col(ContactLabel.contact_id) == col(Contact.id), col(ContactLabel.label) == filters.label)
        )
    if filters.branch_id is not None:
        viewer.require_branch(filters.branch_id)
        conditions.append(
            or_(
                exists().where(
                    col(ContactBranch.contact_id) == col(Contact.id), col(ContactBranch.branch_id) == filters.branch_id
                ),
                exists().where(
                    col(Conversation.contact_id) == col(Contact.id), col(Conversation.branch_id) == filters.branch_id
                ),
            )
        )
    return conditions


def _row(contact: Contact, profile: LeadProfile | None) -> ContactRow:
    return ContactRow(
        id=contact.id or 0,
        name=contact.name,
        phone_e164=contact.phone_e164,
        email=contact.email,
        company=profile.company if profile else '',
        score_contactabilidad=contact.score_contactabilidad,
        digital_maturity=contact.digital_maturity,
        validado_tecnicamente=contact.validado_tecnicamente,
        opted_out=contact.opted_out_at is not None,
        contactability_reasons=list(profile.contactability_reasons) if profile else [],
        maturity_reasons=list(profile.maturity_reasons) if profile else [],
        whatsapp_exists=profile.whatsapp_exists if profile else None,
        rejection_reason=profile.rejection_reason if profile and profile.rejected_at else '',
    )


async def list_contacts(
    db: Database, *, viewer: Viewer, filters: ContactFilters = ContactFilters(), limit: int = PAGE_SIZE, offset: int = 0
) -> tuple[list[ContactRow], int]:
    """(a page of contacts, best score first, how many match in all)."""
    conditions = _conditions(viewer, filters)
    async with db.autocommit_session() as session:
        total = (
            await session.exec(
                select(func.count())
                .select_from(Contact)
                .outerjoin(LeadProfile, col(LeadProfile.contact_id) == col(Contact.id))
                .where(*conditions)
            )
        ).one()
        found = (
            await session.exec(
                select(Contact, LeadProfile)
                .outerjoin(LeadProfile, col(LeadProfile.contact_id) == col(Contact.id))
                .where(*conditions)
                .order_by(col(Contact.score_contactabilidad).desc(), col(Contact.id))
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return [_row(contact, profile) for contact, profile in found], total


async def contact_labels(db: Database, *, viewer: Viewer) -> list[str]:
    """The labels on the contacts this viewer sees, for the filter."""
    async with db.autocommit_session() as session:
        rows = await session.exec(
            select(ContactLabel.label)
            .join(Contact, col(Contact.id) == col(ContactLabel.contact_id))
            .where(visible_contact(viewer), col(Contact.merged_into_id).is_(None))
            .distinct()
            .order_by(col(ContactLabel.label))
        )
        return list(rows.all())


async def _visible(session: AsyncSession, viewer: Viewer, contact_id: int) -> Contact:
    contact = (
        await session.exec(
            select(Contact).where(
                col(Contact.id) == contact_id, col(Contact.merged_into_id).is_(None), visible_contact(viewer)
            )
        )
    ).first()
    if contact is None:
        raise NotFound(f'contact {contact_id} not found')
    return contact


async def get_contact(db: Database, *, viewer: Viewer, contact_id: int) -> ContactDetail:
    """One contact: scores with their reasons, labels, branches, and every conversation on any number, its own
    and the merged contacts' (they moved here with the merge). A viewer sees the history of their branches."""
    async with db.autocommit_session() as session:
        contact = await _visible(session, viewer, contact_id)
        profile = (await session.exec(select(LeadProfile).where(col(LeadProfile.contact_id) == contact_id))).first()
        labels = list(
            (
                await session.exec(
                    select(ContactLabel.label)
                    .where(col(ContactLabel.contact_id) == contact_id)
                    .order_by(col(ContactLabel.label))
                )
            ).all()
        )
        branch_names = list(
            (
                await session.exec(
                    select(Branch.name)
                    .join(ContactBranch, col(ContactBranch.branch_id) == col(Branch.id))
                    .where(col(ContactBranch.contact_id) == contact_id)
                    .order_by(col(Branch.name))
                )
            ).all()
        )
        history_query = (
            select(Conversation, Branch.name, WhatsAppNumber.display_phone)
            .join(Branch, col(Branch.id) == col(Conversation.branch_id))
            .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(Conversation.number_id))
            .where(
                or_(
                    col(Conversation.contact_id) == contact_id,
                    col(Conversation.contact_id).in_(
                        select(Contact.id).where(col(Contact.merged_into_id) == contact_id)
                    ),
                )
            )
            .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        )
        if viewer.branch_ids is not None:
            history_query = history_query.where(col(Conversation.branch_id).in_(sorted(viewer.branch_ids)))
        history = [
            HistoryItem(
                conversation_id=conversation.id or 0,
                branch_name=branch_name,
                number=number,
                status=str(conversation.status),
                last_message_at=conversation.last_message_at,
                preview=conversation.last_message_preview,
            )
            for conversation, branch_name, number in (await session.exec(history_query)).all()
        ]
        merged = [
            phone
            for phone in (
                await session.exec(
                    select(Contact.phone_e164)
                    .where(col(Contact.merged_into_id) == contact_id)
                    .order_by(col(Contact.id))
                )
            ).all()
            if phone
        ]
    return ContactDetail(
        row=_row(contact, profile),
        profile=profile,
        labels=labels,
        branches=branch_names,
        history=history,
        merged_phones=merged,
    )


# --- validation (L2) ------------------------------------------------------------------------------------------


async def validation_queue(
    db: Database, *, viewer: Viewer, label: str | None = None, limit: int = PAGE_SIZE
) -> list[ContactRow]:
    """Prospects a person has not decided on (neither validated nor rejected, not opted out), best score first:
    the validation screen works down this list (one label's, e.g. a list just imported, when given)."""
    conditions = [
        col(Contact.merged_into_id).is_(None),
        visible_contact(viewer),
        col(Contact.validado_tecnicamente).is_(False),
        col(Contact.opted_out_at).is_(None),
        col(Contact.phone_e164).is_not(None),
        col(LeadProfile.rejected_at).is_(None),
    ]
    if label:
        conditions.append(
            exists().where(col(ContactLabel.contact_id) == col(Contact.id), col(ContactLabel.label) == label)
        )
    async with db.autocommit_session() as session:
        found = (
            await session.exec(
                select(Contact, LeadProfile)
                .outerjoin(LeadProfile, col(LeadProfile.contact_id) == col(Contact.id))
                .where(*conditions)
                .order_by(col(Contact.score_contactabilidad).desc(), col(Contact.id))
                .limit(limit)
            )
        ).all()
    return [_row(contact, profile) for contact, profile in found]


async def _profile_for(session: AsyncSession, dialect: str, contact_id: int) -> LeadProfile:
    await session.exec(
        insert_ignoring_duplicates(dialect, table_of(LeadProfile)), params=[_empty_profile(contact_id, utcnow())]
    )
    return (await session.exec(select(LeadProfile).where(col(LeadProfile.contact_id) == contact_id))).one()


async def validate_contact(db: Database, *, viewer: Viewer | None, contact_id: int, note: str = '') -> None:
    """A person says this prospect is fit to be written to (`validado_tecnicamente`, L2): who, when, and why.
    Without a viewer it is the command line. The send gate still wants the score as well."""
    await _decide(db, viewer=viewer, contact_id=contact_id, validated=True, text=note)


async def reject_contact(db: Database, *, viewer: Viewer | None, contact_id: int, reason: str) -> None:
    """A person says this prospect must not be written to: out of the queue, not validated, with the reason."""
    if not reason.strip():
        raise InvalidInput('a rejection needs its reason')
    await _decide(db, viewer=viewer, contact_id=contact_id, validated=False, text=reason)


async def _decide(db: Database, *, viewer: Viewer | None, contact_id: int, validated: bool, text: str) -> None:
    now = utcnow()
    text = text.strip()[:500]
    async with db.session() as session:
        if viewer is not None:
            contact = await _visible(session, viewer, contact_id)
        else:
            found = await session.get(Contact, contact_id)
            if found is None or found.merged_into_id is not None:
                raise NotFound(f'contact {contact_id} not found')
            contact = found
        profile = await _profile_for(session, db.dialect, contact_id)
        contact.validado_tecnicamente = validated
        contact.updated_at = now
        if validated:
            profile.validated_at = now
            profile.validated_by_user_id = viewer.user_id if viewer else None
            profile.validated_by = (viewer.full_name or viewer.username) if viewer else 'cli'
            profile.validation_note = text
            profile.rejected_at = None
            profile.rejection_reason = ''
        else:
            profile.rejected_at = now
            profile.rejection_reason = text
            profile.validated_at = None
            profile.validated_by_user_id = None
            profile.validated_by = (viewer.full_name or viewer.username) if viewer else 'cli'
            profile.validation_note = ''
        profile.updated_at = now
        session.add_all([contact, profile])
        audit.record(
            session,
            action='lead.validated' if validated else 'lead.rejected',
            actor=viewer,
            target_type='contact',
            target_id=contact_id,
            score=contact.score_contactabilidad,
            note=text,
        )
        await session.commit()


async def contact_id_for_phone(db: Database, *, phone: str) -> int:
    """The contact a number belongs to (either Argentine form; a merged contact's survivor). NotFound if none."""
    e164 = normalize_phone(phone)
    async with db.autocommit_session() as session:
        found = (
            await session.exec(
                select(Contact.id, Contact.merged_into_id).where(col(Contact.phone_e164).in_(argentine_variants(e164)))
            )
        ).first()
    if found is None:
        raise NotFound(f'no contact with phone {e164}')
    contact_id, merged_into_id = found
    return merged_into_id or contact_id or 0


# --- merge (M7) -------------------------------------------------------------------------------------------------


async def merge_contacts(db: Database, *, viewer: Viewer | None, survivor_id: int, loser_id: int) -> None:
    """`loser_id` becomes part of `survivor_id`: its labels, branches, quotes and sales move, the best data of the
    two is kept (a name a person typed, an e-mail, the profile's website…), and the loser stays as a pointer
    (`merged_into_id`), hidden from lists. Its conversations stay on its own number (the survivor's page shows them
    in its history): a reply must reach the number that wrote. Managers and admins; both contacts must be visible
    to them."""
    if survivor_id == loser_id:
        raise InvalidInput('a contact cannot be merged into itself')
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    now = utcnow()
    async with db.session() as session:
        if viewer is not None:
            survivor = await _visible(session, viewer, survivor_id)
            loser = await _visible(session, viewer, loser_id)
            if viewer.branch_ids is not None and await _known_elsewhere(session, loser_id, viewer.branch_ids):
                # Merged, it would vanish from the other branch's lists: that is for an admin, who sees both.
                raise PermissionDenied(
                    'that contact is also a customer of another branch; ask an admin to merge it',
                    reason='merge_other_branch',
                )
        else:
            survivor_found = await session.get(Contact, survivor_id)
            loser_found = await session.get(Contact, loser_id)
            if survivor_found is None or loser_found is None:
                raise NotFound('contact not found')
            if survivor_found.merged_into_id or loser_found.merged_into_id:
                raise InvalidInput('a merged contact cannot be merged again')
            survivor, loser = survivor_found, loser_found
        await _move_records(session, survivor_id=survivor_id, loser_id=loser_id)
        await _move_links(session, db.dialect, survivor_id=survivor_id, loser_id=loser_id)
        await _merge_profiles(session, db.dialect, survivor=survivor, loser=loser, now=now)
        survivor.display_name = survivor.display_name or loser.display_name
        survivor.profile_name = survivor.profile_name or loser.profile_name
        survivor.email = survivor.email or loser.email
        if loser.notes and loser.notes not in survivor.notes:
            survivor.notes = '\n'.join(part for part in (survivor.notes, loser.notes) if part)[:4000]
        # Either person asked not to be written to: the merged one did.
        opt_outs = [at for at in (survivor.opted_out_at, loser.opted_out_at) if at is not None]
        survivor.opted_out_at = min(opt_outs) if opt_outs else None
        survivor.validado_tecnicamente = survivor.validado_tecnicamente or loser.validado_tecnicamente
        survivor.updated_at = now
        loser.merged_into_id = survivor_id
        loser.validado_tecnicamente = False
        loser.updated_at = now
        session.add_all([survivor, loser])
        # Contacts merged into the loser earlier now point at the survivor: ingest follows one step only.
        await session.exec(
            update(table_of(Contact))
            .where(table_of(Contact).c.merged_into_id == loser_id)
            .values(merged_into_id=survivor_id, updated_at=now)
        )
        audit.record(
            session,
            action='contact.merged',
            actor=viewer,
            target_type='contact',
            target_id=survivor_id,
            merged_contact_id=loser_id,
        )
        await session.commit()
    await rescore(db, contact_ids=[survivor_id])


async def _move_records(session: AsyncSession, *, survivor_id: int, loser_id: int) -> None:
    # The loser's conversations stay its own: each is a WhatsApp chat with the loser's number, and the outbox
    # answers a conversation at its contact's number — moved, a reply would go to the survivor's phone (a number
    # that never wrote: Meta refuses it, or a stranger gets it). The survivor's page shows them (`get_contact`).
    # Quotes and sales name the contact too (services/models/sales.py); any other table pointing at contacts
    # without a unique constraint on it moves the same way.
    for table in table_of(Contact).metadata.sorted_tables:
        if table.name in {'contacts', 'conversations', 'contact_labels', 'contact_branches', 'lead_profiles'}:
            continue
        for column in table.columns:
            if any(fk.column.table.name == 'contacts' for fk in column.foreign_keys) and not _unique_on(table, column):
                await session.exec(update(table).where(column == loser_id).values({column.name: survivor_id}))


async def _known_elsewhere(session: AsyncSession, contact_id: int, branch_ids: frozenset[int]) -> bool:
    """Whether the contact has a conversation in, or is a prospect of, a branch outside `branch_ids`."""
    branches = sorted(branch_ids)
    found = await session.exec(
        select(Contact.id).where(
            col(Contact.id) == contact_id,
            or_(
                exists().where(
                    col(Conversation.contact_id) == contact_id, col(Conversation.branch_id).not_in(branches)
                ),
                exists().where(
                    col(ContactBranch.contact_id) == contact_id, col(ContactBranch.branch_id).not_in(branches)
                ),
            ),
        )
    )
    return found.first() is not None


def _unique_on(table: Any, column: Any) -> bool:
    return bool(column.unique) or any(
        column.name in constraint.columns.keys()  # noqa: SIM118 - a ColumnCollection, not a dict
        for constraint in table.constraints
        if constraint.__class__.__name__ == 'UniqueConstraint'
    )


async def _move_links(session: AsyncSession, dialect: str, *, survivor_id: int, loser_id: int) -> None:
    now = utcnow()
    branches = (
        await session.exec(
            select(ContactBranch.branch_id, ContactBranch.source).where(col(ContactBranch.contact_id) == loser_id)
        )
    ).all()
    if branches:
        await session.exec(
            insert_ignoring_duplicates(dialect, table_of(ContactBranch)),
            params=[
                {'contact_id': survivor_id, 'branch_id': branch_id, 'source': source, 'created_at': now}
                for branch_id, source in branches
            ],
        )
    labels = (await session.exec(select(ContactLabel.label).where(col(ContactLabel.contact_id) == loser_id))).all()
    if labels:
        await session.exec(
            insert_ignoring_duplicates(dialect, table_of(ContactLabel)),
            params=[{'contact_id': survivor_id, 'label': label} for label in labels],
        )
    await session.exec(delete(table_of(ContactBranch)).where(table_of(ContactBranch).c.contact_id == loser_id))
    await session.exec(delete(table_of(ContactLabel)).where(table_of(ContactLabel).c.contact_id == loser_id))


async def _merge_profiles(
    session: AsyncSession, dialect: str, *, survivor: Contact, loser: Contact, now: datetime
) -> None:
    lost = (await session.exec(select(LeadProfile).where(col(LeadProfile.contact_id) == loser.id))).first()
    kept = await _profile_for(session, dialect, survivor.id or 0)
    if lost is not None:
        kept.company = kept.company or lost.company
        kept.website = kept.website or lost.website
        kept.social_profiles = [
            *kept.social_profiles,
            *(p for p in lost.social_profiles if p not in kept.social_profiles),
        ]
        if lost.score_potencial is not None:
            kept.score_potencial = max(kept.score_potencial or 0, lost.score_potencial)
        if kept.whatsapp_exists is None:
            kept.whatsapp_exists, kept.whatsapp_checked_at = lost.whatsapp_exists, lost.whatsapp_checked_at
        if kept.validated_at is None and lost.validated_at is not None:
            kept.validated_at, kept.validated_by = lost.validated_at, lost.validated_by
            kept.validated_by_user_id, kept.validation_note = lost.validated_by_user_id, lost.validation_note
        phones = [*kept.other_phones, *lost.other_phones]
        await session.delete(lost)
    else:
        phones = list(kept.other_phones)
    if loser.phone_e164:
        phones.append(loser.phone_e164)
    kept.other_phones = [
        phone for i, phone in enumerate(phones) if phone not in phones[:i] and phone != survivor.phone_e164
    ]
    kept.updated_at = now
    session.add(kept)
