"""What agents send from (M4, B4): the template registry per number (what may be sent outside the 24 h window),
its sync from Meta's Graph API, and the quick replies (canned responses) per branch.

Admins manage every branch's; a manager those of their own branch's numbers and their branch's quick replies (a
quick reply for every branch is the admins'). A template is "deactivated" by pausing it (status PAUSED): every
sender already requires APPROVED, so nothing else has to remember a second flag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database, add_unique
from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from ..models import Branch, CannedResponse, MessageTemplate, Role, TemplateStatus, WhatsAppNumber
from ..models.types import utcnow
from .graph_client import classify_error

_PLACEHOLDER = re.compile(r'\{\{(\d+)\}\}')
_NAMED_PLACEHOLDER = re.compile(r'\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}')
_NAME = re.compile(r'^[a-z0-9_]{1,512}$')  # Meta's rule for template names
_LANGUAGE = re.compile(r'^[a-z]{2,3}(_[A-Z]{2})?$')  # Meta's codes: es, es_AR, en_US, pt_BR…
CATEGORIES = ('UTILITY', 'MARKETING', 'AUTHENTICATION')
_SHORTCUT = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
SYNC_PAGE_SIZE = 100


class TemplateSyncFailed(ServiceError):
    code = 'template_sync_failed'


def variable_count(body: str) -> int:
    """{{1}}…{{n}} must be numbered from 1 without gaps, as Meta requires."""
    numbers = sorted({int(n) for n in _PLACEHOLDER.findall(body)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInput(
            f'placeholders must be {{{{1}}}}…{{{{n}}}} without gaps, found {numbers}', reason='placeholders_gap'
        )
    return len(numbers)


def _check_template(*, name: str, language: str, category: str, body: str) -> int:
    if not _NAME.match(name):
        raise InvalidInput(
            f'template names are lower case letters, digits and underscores: {name!r}', reason='template_name_format'
        )
    if not _LANGUAGE.match(language):
        raise InvalidInput(f'not a language code: {language!r}', reason='language_format')
    if category.upper() not in CATEGORIES:
        raise InvalidInput(f'category must be one of {CATEGORIES}', reason='category_unknown')
    return variable_count(body)


async def _number_for(session: AsyncSession, *, number_id: int, actor: Viewer | None) -> WhatsAppNumber:
    """The number, if the actor may manage its templates; a manager does not learn other branches' numbers."""
    number = await session.get(WhatsAppNumber, number_id)
    if number is None or (actor is not None and not actor.can_see_branch(number.branch_id)):
        raise NotFound(f'no number {number_id}')
    if actor is not None:
        actor.require_role(Role.MANAGER)
    return number


async def register_template(
    db: Database,
    *,
    phone_number_id: str | None = None,
    number_id: int | None = None,
    name: str,
    body: str,
    language: str = 'es_AR',
    category: str = 'UTILITY',
    status: TemplateStatus = TemplateStatus.APPROVED,
    actor: Viewer | None = None,
) -> MessageTemplate:
    """Record a template approved in Meta's manager (or pending) for one number (by id or phone_number_id)."""
    name, language = name.strip(), language.strip()
    count = _check_template(name=name, language=language, category=category, body=body)
    async with db.session() as session:
        if number_id is None:
            found = (
                await session.exec(
                    select(WhatsAppNumber.id).where(WhatsAppNumber.phone_number_id == (phone_number_id or '').strip())
                )
            ).first()
            if found is None:
                raise NotFound(f'no number with phone_number_id {phone_number_id!r}')
            number_id = found
        number = await _number_for(session, number_id=number_id, actor=actor)
        template = MessageTemplate(
            number_id=number.id or 0,
            name=name,
            language=language,
            category=category.upper(),
            status=status,
            body=body,
            variable_count=count,
        )
        try:
            await add_unique(
                session,
                template,
                conflict=f'template {name} ({language}) already exists for {number.phone_number_id}',
            )
        except Conflict as exc:
            raise Conflict(str(exc), reason='template_taken', name=name, language=language) from exc
        audit.record(
            session,
            action='template.registered',
            actor=actor,
            target_type='message_template',
            target_id=template.id or '',
            name=name,
        )
        await session.commit()
        return template


@dataclass(frozen=True)
class TemplateChanges:
    """The name and language identify a template at Meta: changing them is another template."""

    category: str
    status: TemplateStatus
    body: str


async def get_template(db: Database, *, template_id: int, viewer: Viewer | None = None) -> MessageTemplate:
    async with db.session() as session:
        template = await session.get(MessageTemplate, template_id)
        if template is None:
            raise NotFound(f'no template {template_id}')
        await _number_for(session, number_id=template.number_id, actor=viewer)
        return template


async def update_template(
    db: Database, *, template_id: int, changes: TemplateChanges, actor: Viewer | None = None
) -> MessageTemplate:
    async with db.session() as session:
        template = await session.get(MessageTemplate, template_id)
        if template is None:
            raise NotFound(f'no template {template_id}')
        await _number_for(session, number_id=template.number_id, actor=actor)
        count = _check_template(
            name=template.name, language=template.language, category=changes.category, body=changes.body
        )
        previous_status = template.status
        template.category = changes.category.upper()
        template.status = changes.status
        template.body = changes.body
        template.variable_count = count
        template.updated_at = utcnow()
        audit.record(
            session,
            action='template.updated',
            actor=actor,
            target_type='message_template',
            target_id=template_id,
            name=template.name,
            status=str(changes.status),
            previous_status=str(previous_status),
        )
        await session.commit()
        await session.refresh(template)
        return template


async def list_templates(
    db: Database, *, number_id: int | None = None, only_approved: bool = False, viewer: Viewer | None = None
) -> list[tuple[MessageTemplate, WhatsAppNumber]]:
    async with db.session() as session:
        query = (
            select(MessageTemplate, WhatsAppNumber)
            .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(MessageTemplate.number_id))
            .order_by(WhatsAppNumber.display_phone, MessageTemplate.name, MessageTemplate.language)
        )
        if number_id is not None:
            query = query.where(MessageTemplate.number_id == number_id)
        if only_approved:
            query = query.where(MessageTemplate.status == TemplateStatus.APPROVED)
        if viewer is not None:
            query = query.where(branch_scope(WhatsAppNumber.branch_id, viewer))
        return [(template, number) for template, number in (await session.exec(query)).all()]


# --- sync from Meta -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncOutcome:
    added: int
    updated: int
    unchanged: int


def _template_body(components: list[dict[str, Any]]) -> str:
    for component in components:
        if str(component.get('type', '')).upper() == 'BODY':
            return str(component.get('text') or '')
    return ''


def _placeholders(body: str) -> int:
    """Positional ({{1}}) or named ({{customer}}) parameters; Meta allows either format per template."""
    positional = {int(n) for n in _PLACEHOLDER.findall(body)}
    return len(positional) if positional else len(set(_NAMED_PLACEHOLDER.findall(body)))


async def fetch_waba_templates(
    *, graph_api_base: str, token: str, waba_id: str, transport: httpx.AsyncBaseTransport | None = None
) -> list[dict[str, Any]]:
    """Every template of a WhatsApp Business Account: `GET /{waba_id}/message_templates`, following
    `paging.next` (Meta pages with cursors; `limit` up to a few hundred)."""
    url: str | None = f'{graph_api_base.rstrip("/")}/{waba_id}/message_templates'
    params: dict[str, str] | None = {'fields': 'name,language,status,category,components', 'limit': str(SYNC_PAGE_SIZE)}
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(
        transport=transport, timeout=20.0, headers={'Authorization': f'Bearer {token}'}
    ) as client:
        while url:
            try:
                response = await client.get(url, params=params)
            except httpx.HTTPError as exc:
                raise TemplateSyncFailed(f'Graph API unreachable: {exc}', reason='sync_unreachable') from exc
            if response.status_code != 200:
                error = classify_error(response.status_code, response.content)
                raise TemplateSyncFailed(str(error), reason='sync_refused', detail=str(error)[:300])
            page = response.json()
            found.extend(item for item in page.get('data', []) if isinstance(item, dict))
            url = (page.get('paging') or {}).get('next')
            params = None  # the next URL carries its own query (cursor, fields, limit)
    return found


async def sync_templates(
    db: Database,
    *,
    number_id: int,
    graph_api_base: str,
    token: str,
    actor: Viewer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SyncOutcome:
    """Bring the number's templates in line with its WABA at Meta: new ones added, status / category / body of
    known ones updated (Meta decides approval). Templates only we know are left alone: they may be waiting to be
    created at Meta, and a pause is the admin's call."""
    async with db.session() as session:
        number = await _number_for(session, number_id=number_id, actor=actor)
    if not number.waba_id:
        raise InvalidInput('the number has no WABA id', reason='waba_missing')
    remote = await fetch_waba_templates(
        graph_api_base=graph_api_base, token=token, waba_id=number.waba_id, transport=transport
    )
    added = updated = unchanged = 0
    async with db.session() as session:
        known = {
            (template.name, template.language): template
            for template in (
                await session.exec(select(MessageTemplate).where(MessageTemplate.number_id == number_id))
            ).all()
        }
        for item in remote:
            name, language = str(item.get('name') or ''), str(item.get('language') or '')
            status_text = str(item.get('status') or '').upper()
            if not name or not language or status_text not in TemplateStatus.__members__:
                continue  # DISABLED, IN_APPEAL and such: nothing an agent could send
            components = [c for c in item.get('components') or [] if isinstance(c, dict)]
            body = _template_body(components)
            fields: dict[str, Any] = {
                'status': TemplateStatus(status_text),
                'category': str(item.get('category') or 'UTILITY').upper()[:24],
                'body': body,
                'components': components,
                'variable_count': _placeholders(body),
            }
            template = known.get((name, language))
            if template is None:
                session.add(MessageTemplate(number_id=number_id, name=name[:512], language=language[:16], **fields))
                added += 1
            elif any(getattr(template, key) != value for key, value in fields.items()):
                for key, value in fields.items():
                    setattr(template, key, value)
                template.updated_at = utcnow()
                updated += 1
            else:
                unchanged += 1
        audit.record(
            session,
            action='template.synced',
            actor=actor,
            target_type='whatsapp_number',
            target_id=number_id,
            added=added,
            updated=updated,
        )
        await session.commit()
    return SyncOutcome(added=added, updated=updated, unchanged=unchanged)


# --- quick replies ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CannedInput:
    branch_id: int | None  # None: every branch (admins only)
    shortcut: str
    title: str
    body: str


def _check_canned(canned: CannedInput, actor: Viewer | None) -> CannedInput:
    shortcut = canned.shortcut.strip().lstrip('/').lower()
    if not _SHORTCUT.match(shortcut):
        raise InvalidInput(f'invalid shortcut {canned.shortcut!r}', reason='shortcut_format')
    if not canned.title.strip():
        raise InvalidInput('the title is required', reason='title_required')
    if not canned.body.strip():
        raise InvalidInput('the text is required', reason='body_required')
    if actor is not None:
        actor.require_role(Role.MANAGER)
        if canned.branch_id is None:
            actor.require_role(Role.ADMIN)
        elif not actor.can_see_branch(canned.branch_id):
            raise PermissionDenied(f'{actor.username} may not see branch {canned.branch_id}', reason='other_branch')
    return CannedInput(
        branch_id=canned.branch_id, shortcut=shortcut, title=canned.title.strip()[:120], body=canned.body.strip()
    )


async def list_canned(db: Database, *, viewer: Viewer | None = None) -> list[tuple[CannedResponse, Branch | None]]:
    """Quick replies with their branch (None: every branch), by branch then shortcut. A manager sees their
    branch's and the ones for every branch (which their agents use too)."""
    async with db.session() as session:
        query = (
            select(CannedResponse, Branch)
            .join(Branch, col(Branch.id) == col(CannedResponse.branch_id), isouter=True)
            .order_by(col(Branch.code).nulls_first(), CannedResponse.shortcut)
        )
        if viewer is not None and not viewer.sees_all_branches:
            query = query.where(
                branch_scope(CannedResponse.branch_id, viewer) | col(CannedResponse.branch_id).is_(None)
            )
        return [(canned, branch) for canned, branch in (await session.exec(query)).all()]


async def get_canned(db: Database, *, canned_id: int, viewer: Viewer | None = None) -> CannedResponse:
    async with db.session() as session:
        canned = await session.get(CannedResponse, canned_id)
    if canned is None or (
        viewer is not None and canned.branch_id is not None and not viewer.can_see_branch(canned.branch_id)
    ):
        raise NotFound(f'no quick reply {canned_id}')
    return canned


async def create_canned(db: Database, *, canned_in: CannedInput, actor: Viewer | None = None) -> CannedResponse:
    checked = _check_canned(canned_in, actor)
    canned = CannedResponse(
        branch_id=checked.branch_id, shortcut=checked.shortcut, title=checked.title, body=checked.body
    )
    async with db.session() as session:
        await _shortcut_free(session, checked, exclude_id=None)
        try:
            await add_unique(session, canned, conflict=f'/{checked.shortcut} exists already')
        except Conflict as exc:
            raise Conflict(str(exc), reason='shortcut_taken', shortcut=checked.shortcut) from exc
        audit.record(
            session,
            action='canned.created',
            actor=actor,
            target_type='canned_response',
            target_id=canned.id or '',
            shortcut=checked.shortcut,
            branch_id=checked.branch_id,
        )
        await session.commit()
        return canned


async def _shortcut_free(session: AsyncSession, canned: CannedInput, *, exclude_id: int | None) -> None:
    """The unique constraint (branch_id, shortcut) does not hold for NULL branch ids on either database: the
    "every branch" replies are checked here."""
    query = select(CannedResponse.id).where(
        CannedResponse.shortcut == canned.shortcut,
        col(CannedResponse.branch_id).is_(None)
        if canned.branch_id is None
        else col(CannedResponse.branch_id) == canned.branch_id,
    )
    if exclude_id is not None:
        query = query.where(col(CannedResponse.id) != exclude_id)
    if (await session.exec(query)).first() is not None:
        raise Conflict(f'/{canned.shortcut} exists already', reason='shortcut_taken', shortcut=canned.shortcut)


async def update_canned(
    db: Database, *, canned_id: int, canned_in: CannedInput, actor: Viewer | None = None
) -> CannedResponse:
    checked = _check_canned(canned_in, actor)
    async with db.session() as session:
        canned = await session.get(CannedResponse, canned_id)
        if canned is None:
            raise NotFound(f'no quick reply {canned_id}')
        if actor is not None:
            # The reply as it is now must be theirs too: a manager cannot pull another branch's reply into theirs.
            _check_canned(CannedInput(branch_id=canned.branch_id, shortcut=canned.shortcut, title='-', body='-'), actor)
        await _shortcut_free(session, checked, exclude_id=canned_id)
        canned.branch_id = checked.branch_id
        canned.shortcut = checked.shortcut
        canned.title = checked.title
        canned.body = checked.body
        audit.record(
            session,
            action='canned.updated',
            actor=actor,
            target_type='canned_response',
            target_id=canned_id,
            shortcut=checked.shortcut,
            branch_id=checked.branch_id,
        )
        await session.commit()
        await session.refresh(canned)
        return canned


async def delete_canned(db: Database, *, canned_id: int, actor: Viewer | None = None) -> None:
    """A quick reply is only text to copy: nothing refers to it, so retiring it deletes it (the audit log keeps
    that it existed and who removed it)."""
    async with db.session() as session:
        canned = await session.get(CannedResponse, canned_id)
        if canned is None:
            raise NotFound(f'no quick reply {canned_id}')
        if actor is not None:
            _check_canned(CannedInput(branch_id=canned.branch_id, shortcut=canned.shortcut, title='-', body='-'), actor)
        await session.delete(canned)
        audit.record(
            session,
            action='canned.deleted',
            actor=actor,
            target_type='canned_response',
            target_id=canned_id,
            shortcut=canned.shortcut,
            branch_id=canned.branch_id,
        )
        await session.commit()
