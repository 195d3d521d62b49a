"""The template registry per number (M4): what may be sent outside the 24 h window."""

from __future__ import annotations

import re

from sqlmodel import col, select

from .. import audit
from ..access import Viewer
from ..database import Database, add_unique
from ..errors import InvalidInput, NotFound
from ..models import MessageTemplate, Role, TemplateStatus, WhatsAppNumber

_PLACEHOLDER = re.compile(r'\{\{(\d+)\}\}')
_NAME = re.compile(r'^[a-z0-9_]{1,512}$')  # Meta's rule for template names


def variable_count(body: str) -> int:
    """{{1}}…{{n}} must be numbered from 1 without gaps, as Meta requires."""
    numbers = sorted({int(n) for n in _PLACEHOLDER.findall(body)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInput(f'placeholders must be {{{{1}}}}…{{{{n}}}} without gaps, found {numbers}')
    return len(numbers)


async def register_template(
    db: Database,
    *,
    phone_number_id: str,
    name: str,
    body: str,
    language: str = 'es_AR',
    category: str = 'UTILITY',
    status: TemplateStatus = TemplateStatus.APPROVED,
    actor: Viewer | None = None,
) -> MessageTemplate:
    """Record a template approved in Meta's manager (or pending) for one number."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    if not _NAME.match(name):
        raise InvalidInput(f'template names are lower case letters, digits and underscores: {name!r}')
    async with db.session() as session:
        number = (
            await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == phone_number_id))
        ).first()
        if number is None:
            raise NotFound(f'no number with phone_number_id {phone_number_id!r}')
        template = MessageTemplate(
            number_id=number.id or 0,
            name=name,
            language=language,
            category=category.upper(),
            status=status,
            body=body,
            variable_count=variable_count(body),
        )
        await add_unique(
            session, template, conflict=f'template {name} ({language}) already exists for {phone_number_id}'
        )
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


async def list_templates(
    db: Database, *, number_id: int | None = None, only_approved: bool = False
) -> list[tuple[MessageTemplate, WhatsAppNumber]]:
    async with db.session() as session:
        query = (
            select(MessageTemplate, WhatsAppNumber)
            .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(MessageTemplate.number_id))
            .order_by(WhatsAppNumber.display_phone, MessageTemplate.name)
        )
        if number_id is not None:
            query = query.where(MessageTemplate.number_id == number_id)
        if only_approved:
            query = query.where(MessageTemplate.status == TemplateStatus.APPROVED)
        return [(template, number) for template, number in (await session.exec(query)).all()]
