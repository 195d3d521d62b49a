"""Importing a prospect list (SPEC L3, issue 16): every row becomes a new contact, or is merged into the contact it
duplicates (an existing one, matched on either form of an Argentine mobile, or an earlier row of the same file), or
is listed as invalid with its line number and why. Nothing else is dropped.

Set-wise, for 100,000 rows within a minute: the numbers are normalised in a worker thread chunk by chunk, existing
contacts are looked up with one IN per chunk, and contacts, profiles, branch links and labels go in as multi-row
INSERTs; only the contacts that already existed are re-scored afterwards (their send history counts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, exists, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer
from ..database import Database, select_columns
from ..models import Contact, Conversation
from ..models.base import table_of
from ..models.leads import ContactBranch, ContactLabel, LeadProfile
from ..models.types import UTCDateTime, utcnow
from ..phones import argentine_variants, numbers_in_cell
from ..whatsapp.ingest import among, insert_ignoring_duplicates
from . import scoring
from .files import ColumnMapping, ProspectTable, check_mapping
from .rescoring import _empty_profile, rescore

CHUNK = 5000
LOOKUP_CHUNK = 1000  # phone numbers per IN list (two forms each): well within SQLite's bound parameters

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowOutcome:
    line: int
    outcome: str  # 'created' | 'merged' | 'invalid'
    phone: str | None = None
    reason: str = ''  # invalid: why; merged: with what ("contacto 12" / "línea 4")
    contact_id: int | None = None


@dataclass
class ImportResult:
    rows: list[RowOutcome] = field(default_factory=list)
    blank: int = 0
    seconds: float = 0.0

    def _count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def created(self) -> int:
        return self._count('created')

    @property
    def merged(self) -> int:
        return self._count('merged')

    @property
    def invalid(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.outcome == 'invalid']


@dataclass
class _Prospect:
    line: int
    phones: list[str]
    name: str = ''
    email: str = ''
    website: str = ''
    company: str = ''
    social: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    score_potencial: int | None = None
    notes: str = ''
    contact_id: int | None = None  # the contact it became, or the existing one it merges into
    existed: bool = False
    # An existing contact the importing manager may not see (another branch's customer): left untouched.
    foreign: bool = False
    merged_lines: list[int] = field(default_factory=list)

    def absorb(self, other: _Prospect) -> None:
        """Another row of the same person: fill what this one lacks, keep every number, profile and label."""
        for name in ('name', 'email', 'website', 'company', 'notes'):
            if not getattr(self, name) and getattr(other, name):
                setattr(self, name, getattr(other, name))
        self.phones += [phone for phone in other.phones if phone not in self.phones]
        self.social += [profile for profile in other.social if profile not in self.social]
        self.labels += [label for label in other.labels if label not in self.labels]
        if other.score_potencial is not None:
            self.score_potencial = max(self.score_potencial or 0, other.score_potencial)
        self.merged_lines.append(other.line)


def _cell(row: Mapping[str, str], columns: Sequence[str]) -> str:
    return ' '.join(' '.join((row.get(column) or '').split()) for column in columns if row.get(column)).strip()


def _prepare(
    rows: Sequence[tuple[int, Mapping[str, str]]], mapping: ColumnMapping
) -> tuple[list[_Prospect], list[RowOutcome], int]:
    """Rows -> prospects (numbers normalised), invalid rows with their reason, and how many rows were blank. CPU
    work: the caller runs it in a thread."""
    prospects: list[_Prospect] = []
    invalid: list[RowOutcome] = []
    blank = 0
    phone_columns = mapping.get('phone', [])
    for line, row in rows:
        if not any((value or '').strip() for value in row.values()):
            blank += 1
            continue
        written = [row.get(column) or '' for column in phone_columns]
        phones: list[str] = []
        wrong: list[str] = []
        for cell in written:
            valid, invalid_pieces = numbers_in_cell(cell)
            phones += [phone for phone in valid if phone not in phones]
            wrong += invalid_pieces
        if not phones:
            reason = f'teléfono inválido: {", ".join(wrong)}'[:200] if wrong else 'sin teléfono'
            invalid.append(RowOutcome(line, 'invalid', None, reason))
            continue
        potencial_text = _cell(row, mapping.get('score_potencial', []))
        potencial = int(potencial_text) if potencial_text.isdigit() and int(potencial_text) <= 100 else None
        labels_text = _cell(row, mapping.get('labels', []))
        prospects.append(
            _Prospect(
                line=line,
                phones=phones,
                name=_cell(row, mapping.get('name', []))[:120],
                email=_cell(row, mapping.get('email', []))[:200],
                website=_cell(row, mapping.get('website', []))[:300],
                company=_cell(row, mapping.get('company', []))[:200],
                social=[
                    (row.get(column) or '').strip()[:300]
                    for column in mapping.get('social', [])
                    if (row.get(column) or '').strip()
                ],
                labels=[label.strip()[:40] for label in labels_text.replace(';', ',').split(',') if label.strip()],
                score_potencial=potencial,
                notes=_cell(row, mapping.get('notes', []))[:4000],
            )
        )
    return prospects, invalid, blank


async def import_prospects(
    db: Database,
    table: ProspectTable,
    *,
    mapping: Mapping[str, Sequence[str]],
    branch_id: int | None = None,
    labels: Sequence[str] = (),
    viewer: Viewer | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import `table` with `mapping` (field -> columns); contacts are put on `branch_id`'s prospect list when
    given (a manager's own branch, the CLI's --branch). ValueError for a mapping that names no phone column."""
    started = time.perf_counter()
    checked = check_mapping(mapping, table.headers)
    if viewer is not None and branch_id is not None:
        viewer.require_branch(branch_id)
    result = ImportResult()
    result.rows += [RowOutcome(line, 'invalid', None, reason) for line, reason in table.unreadable]
    prospects, merged_in_file = await _read_rows(table, checked, result, progress)
    existing_ids = await _write_all(
        db, table, prospects, branch_id=branch_id, labels=labels, progress=progress, viewer=viewer
    )
    for prospect in prospects:
        if prospect.foreign:
            outcome = RowOutcome(prospect.line, 'invalid', prospect.phones[0], FOREIGN_REASON)
        elif prospect.existed:
            outcome = RowOutcome(
                prospect.line, 'merged', prospect.phones[0], f'contacto {prospect.contact_id}', prospect.contact_id
            )
        else:
            outcome = RowOutcome(prospect.line, 'created', prospect.phones[0], '', prospect.contact_id)
        result.rows.append(outcome)
    for duplicate, first in merged_in_file:
        result.rows.append(
            RowOutcome(duplicate.line, 'merged', duplicate.phones[0], f'línea {first.line}', first.contact_id)
        )
    result.rows.sort(key=lambda row: row.line)
    if existing_ids:
        await rescore(db, contact_ids=sorted(existing_ids))
    async with db.session() as session:
        audit.record(
            session,
            action='leads.imported',
            actor=viewer,
            target_type='file',
            target_id=table.name[:100],
            created=result.created,
            merged=result.merged,
            invalid=len(result.invalid),
            branch_id=branch_id,
        )
        await session.commit()
    if progress:
        progress(len(table.rows), len(table.rows))
    result.seconds = time.perf_counter() - started
    return result


async def _read_rows(
    table: ProspectTable, mapping: ColumnMapping, result: ImportResult, progress: Progress | None
) -> tuple[list[_Prospect], list[tuple[_Prospect, _Prospect]]]:
    """The file's prospects, each person once (later rows of the same number absorbed into the first), and the
    (duplicate, first) pairs. Invalid and blank rows go onto `result`."""
    total = len(table.rows)
    by_phone: dict[str, _Prospect] = {}  # every number seen in the file -> the prospect that holds it
    prospects: list[_Prospect] = []
    merged_in_file: list[tuple[_Prospect, _Prospect]] = []
    for start in range(0, total, CHUNK):
        ready, invalid, blank = await asyncio.to_thread(_prepare, table.rows[start : start + CHUNK], mapping)
        result.rows += invalid
        result.blank += blank
        for prospect in ready:
            first = next((by_phone[phone] for phone in prospect.phones if phone in by_phone), None)
            if first is not None:
                first.absorb(prospect)
                merged_in_file.append((prospect, first))
                for phone in prospect.phones:
                    by_phone.setdefault(phone, first)
                continue
            prospects.append(prospect)
            for phone in prospect.phones:
                by_phone[phone] = prospect
        if progress:
            progress(min(start + CHUNK, total) // 2, total)  # reading is the first half of the work
    return prospects, merged_in_file


async def _write_all(
    db: Database,
    table: ProspectTable,
    prospects: list[_Prospect],
    *,
    branch_id: int | None,
    labels: Sequence[str],
    progress: Progress | None,
    viewer: Viewer | None = None,
) -> set[int]:
    """Writes the prospects chunk by chunk (one transaction each); returns the ids of contacts that existed."""
    total = len(table.rows)
    extra = {label.strip()[:40] for label in labels if label.strip()}
    existing_ids: set[int] = set()
    for start in range(0, len(prospects), CHUNK):
        batch = prospects[start : start + CHUNK]
        async with db.session() as session:
            await _match_existing(session, db.dialect, batch)
            if viewer is not None and viewer.branch_ids is not None:
                await _mark_foreign(session, db.dialect, batch, viewer.branch_ids)
                batch = [prospect for prospect in batch if not prospect.foreign]
            await _write(session, db.dialect, batch, branch_id=branch_id, labels=extra, source=table.name[:120])
            await session.commit()
        existing_ids.update(p.contact_id for p in batch if p.existed and p.contact_id)
        if progress:
            written = min(start + CHUNK, len(prospects))
            progress(total // 2 + written * (total - total // 2) // max(len(prospects), 1), total)
    return existing_ids


FOREIGN_REASON = 'ya es cliente de otra sucursal: pedile a un administrador que lo importe'


async def _mark_foreign(
    session: AsyncSession, dialect: str, prospects: list[_Prospect], branch_ids: frozenset[int]
) -> None:
    """A manager's file must not pull another branch's customer onto her list nor change their data (B2): the
    existing contacts she cannot see are left out of the import, each row told why."""
    existing = sorted({p.contact_id for p in prospects if p.existed and p.contact_id})
    if not existing:
        return
    branches = sorted(branch_ids)
    visible = set(
        (
            await session.exec(
                select(Contact.id).where(
                    among(col(Contact.id), existing, dialect),
                    or_(
                        exists().where(
                            col(ContactBranch.contact_id) == col(Contact.id), col(ContactBranch.branch_id).in_(branches)
                        ),
                        exists().where(
                            col(Conversation.contact_id) == col(Contact.id), col(Conversation.branch_id).in_(branches)
                        ),
                    ),
                )
            )
        ).all()
    )
    for prospect in prospects:
        if prospect.existed and prospect.contact_id not in visible:
            prospect.foreign = True


async def _match_existing(session: AsyncSession, dialect: str, prospects: list[_Prospect]) -> None:
    """Set `contact_id` (and `existed`) on the prospects that are contacts already, by any of their numbers in
    either Argentine form; a contact merged into another stands for the survivor."""
    forms: dict[str, _Prospect] = {}
    for prospect in prospects:
        for phone in prospect.phones:
            for form in argentine_variants(phone):
                forms.setdefault(form, prospect)
    keys = sorted(forms)
    contacts = table_of(Contact)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        rows = await session.exec(
            select_columns(contacts.c.phone_e164, contacts.c.id, contacts.c.merged_into_id).where(
                among(contacts.c.phone_e164, keys[start : start + LOOKUP_CHUNK], dialect)
            )
        )
        for phone, contact_id, merged_into_id in rows.all():
            prospect = forms[phone]
            if prospect.contact_id is None:
                prospect.contact_id = merged_into_id or contact_id
                prospect.existed = True


async def _write(
    session: AsyncSession,
    dialect: str,
    prospects: list[_Prospect],
    *,
    branch_id: int | None,
    labels: set[str],
    source: str,
) -> None:
    now = utcnow()
    contacts = table_of(Contact)
    profiles = table_of(LeadProfile)
    new = [prospect for prospect in prospects if prospect.contact_id is None]
    new_profiles: dict[str, dict[str, Any]] = {}
    if new:
        contact_rows = []
        for prospect in new:
            reach = scoring.contactability(scoring.ContactFacts(phone_e164=prospect.phones[0]))
            presence = scoring.digital_maturity(
                scoring.PresenceFacts(
                    website=prospect.website, email=prospect.email, social_profiles=tuple(prospect.social)
                )
            )
            contact_rows.append(
                {
                    'phone_e164': prospect.phones[0],
                    'wa_id': None,
                    'wa_user_id': None,
                    'profile_name': '',
                    'display_name': prospect.name,
                    'email': prospect.email,
                    'notes': prospect.notes,
                    'merged_into_id': None,
                    'score_contactabilidad': reach.value,
                    'digital_maturity': presence.value,
                    'validado_tecnicamente': False,
                    'opted_out_at': None,
                    'created_at': now,
                    'updated_at': now,
                }
            )
            new_profiles[prospect.phones[0]] = {
                **_empty_profile(0, now),
                'company': prospect.company,
                'website': prospect.website,
                'social_profiles': prospect.social,
                'other_phones': prospect.phones[1:],
                'score_potencial': prospect.score_potencial,
                'contactability_reasons': reach.reasons_json(),
                'maturity_reasons': presence.reasons_json(),
                'source': source,
                'scored_at': now,
            }
        # Ignoring duplicates: a contact another request created meanwhile is then matched below instead.
        await session.exec(insert_ignoring_duplicates(dialect, contacts), params=contact_rows)
        phones = sorted(new_profiles)
        for start in range(0, len(phones), LOOKUP_CHUNK):
            rows = await session.exec(
                select_columns(contacts.c.phone_e164, contacts.c.id).where(
                    among(contacts.c.phone_e164, phones[start : start + LOOKUP_CHUNK], dialect)
                )
            )
            for phone, contact_id in rows.all():
                new_profiles[phone]['contact_id'] = contact_id
        for prospect in new:
            prospect.contact_id = new_profiles[prospect.phones[0]]['contact_id'] or None
        await session.exec(
            insert_ignoring_duplicates(dialect, profiles),
            params=[row for row in new_profiles.values() if row['contact_id']],
        )
    old = [prospect for prospect in prospects if prospect.existed and prospect.contact_id]
    if old:
        await _fill_existing(session, dialect, old, now=now, source=source)
    links = [
        {'contact_id': prospect.contact_id, 'branch_id': branch_id, 'source': 'import', 'created_at': now}
        for prospect in prospects
        if prospect.contact_id and branch_id is not None
    ]
    if links:
        await session.exec(insert_ignoring_duplicates(dialect, table_of(ContactBranch)), params=links)
    label_rows = {
        (prospect.contact_id, label)
        for prospect in prospects
        if prospect.contact_id
        for label in (*prospect.labels, *labels)
    }
    if label_rows:
        await session.exec(
            insert_ignoring_duplicates(dialect, table_of(ContactLabel)),
            params=[{'contact_id': contact_id, 'label': label} for contact_id, label in sorted(label_rows)],
        )


async def _fill_existing(
    session: AsyncSession, dialect: str, prospects: list[_Prospect], *, now: Any, source: str
) -> None:
    """A row that is an existing contact adds what the contact lacks (a name, an e-mail, a website…) and its other
    numbers and profiles; it never overwrites what a person or WhatsApp already set. Read set-wise, and only what
    changes is written (importing the same list again writes nothing)."""
    contacts = table_of(Contact)
    profiles = table_of(LeadProfile)
    by_contact: dict[int, _Prospect] = {}
    for prospect in prospects:
        if prospect.contact_id in by_contact:
            by_contact[prospect.contact_id].absorb(prospect)  # two rows, two numbers of one existing contact
        elif prospect.contact_id:
            by_contact[prospect.contact_id] = prospect
    ids = sorted(by_contact)
    contact_updates: list[dict[str, Any]] = []
    current: dict[int, tuple[Any, ...]] = {}
    extra_phones: dict[int, list[str]] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for row in (
            await session.exec(
                select_columns(
                    contacts.c.id,
                    contacts.c.phone_e164,
                    contacts.c.display_name,
                    contacts.c.profile_name,
                    contacts.c.email,
                ).where(among(contacts.c.id, chunk, dialect))
            )
        ).all():
            contact_id, phone, display_name, profile_name, email = row
            prospect = by_contact[contact_id]
            new_name = display_name if display_name or profile_name else prospect.name
            new_email = email or prospect.email
            if (new_name, new_email) != (display_name, email):
                contact_updates.append(
                    {'target_id': contact_id, 'new_name': new_name, 'new_email': new_email, 'now': now}
                )
            extra_phones[contact_id] = [number for number in prospect.phones if number != phone]
        for row in (
            await session.exec(
                select_columns(
                    profiles.c.contact_id,
                    profiles.c.company,
                    profiles.c.website,
                    profiles.c.social_profiles,
                    profiles.c.other_phones,
                    profiles.c.score_potencial,
                ).where(among(profiles.c.contact_id, chunk, dialect))
            )
        ).all():
            current[row[0]] = tuple(row[1:])
    if contact_updates:
        await session.exec(
            update(contacts)
            .where(contacts.c.id == bindparam('target_id'))
            .values(
                display_name=bindparam('new_name'),
                email=bindparam('new_email'),
                updated_at=bindparam('now', type_=UTCDateTime()),
            ),
            params=contact_updates,
        )
    await _fill_profiles(session, dialect, by_contact, current, extra_phones, now=now, source=source)


async def _fill_profiles(
    session: AsyncSession,
    dialect: str,
    by_contact: dict[int, _Prospect],
    current: dict[int, tuple[Any, ...]],
    extra_phones: dict[int, list[str]],
    *,
    now: Any,
    source: str,
) -> None:
    profiles = table_of(LeadProfile)
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for contact_id, prospect in by_contact.items():
        phones = extra_phones.get(contact_id, [])
        if contact_id not in current:
            fresh.append(
                {
                    **_empty_profile(contact_id, now),
                    'company': prospect.company,
                    'website': prospect.website,
                    'social_profiles': prospect.social,
                    'other_phones': phones,
                    'score_potencial': prospect.score_potencial,
                    'source': source,
                }
            )
            continue
        company, website, social, others, potencial = current[contact_id]
        social, others = list(social or []), list(others or [])
        merged = (
            company or prospect.company,
            website or prospect.website,
            [*social, *(p for p in prospect.social if p not in social)],
            [*others, *(p for p in phones if p not in others)],
            max(potencial or 0, prospect.score_potencial) if prospect.score_potencial is not None else potencial,
        )
        if merged != (company, website, social, others, potencial):
            changed.append(
                {
                    'target_id': contact_id,
                    'new_company': merged[0],
                    'new_website': merged[1],
                    'new_social': merged[2],
                    'new_others': merged[3],
                    'new_potencial': merged[4],
                    'now': now,
                }
            )
    if fresh:
        await session.exec(insert_ignoring_duplicates(dialect, profiles), params=fresh)
    if changed:
        await session.exec(
            update(profiles)
            .where(profiles.c.contact_id == bindparam('target_id'))
            .values(
                company=bindparam('new_company'),
                website=bindparam('new_website'),
                social_profiles=bindparam('new_social', type_=profiles.c.social_profiles.type),
                other_phones=bindparam('new_others', type_=profiles.c.other_phones.type),
                score_potencial=bindparam('new_potencial'),
                updated_at=bindparam('now', type_=UTCDateTime()),
            ),
            params=changed,
        )
