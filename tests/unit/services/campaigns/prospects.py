"""Prospects for campaign tests: contacts of a branch with a score, a validation flag, labels, maybe opted out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.database import Database
from services.models import Contact, MessageTemplate, WhatsAppNumber
from services.models.leads import ContactBranch, ContactLabel

TEMPLATE = 'novedades_taller'
TEMPLATE_BODY = 'Hola {{1}}, te escribimos de {{2}}: llegaron las pastillas de freno que buscabas.'


@dataclass(frozen=True)
class Prospect:
    phone: str  # E.164 digits without '+', e.g. 5491160000001
    name: str
    score: int
    validated: bool = True
    labels: Sequence[str] = ()
    opted_out_at: datetime | None = None
    branch_ids: Sequence[int] = field(default_factory=tuple)


async def add_template(
    db: Database, number: WhatsAppNumber, *, name: str = TEMPLATE, body: str = TEMPLATE_BODY
) -> None:
    async with db.session() as session:
        session.add(MessageTemplate(number_id=number.id or 0, name=name, body=body, variable_count=body.count('{{')))
        await session.commit()


async def add_prospects(db: Database, prospects: Sequence[Prospect]) -> dict[str, int]:
    """The contacts (by phone → id), linked to their branches and labels."""
    ids: dict[str, int] = {}
    async with db.session() as session:
        for prospect in prospects:
            contact = Contact(
                phone_e164=f'+{prospect.phone}',
                wa_id=prospect.phone,
                display_name=prospect.name,
                score_contactabilidad=prospect.score,
                validado_tecnicamente=prospect.validated,
                opted_out_at=prospect.opted_out_at,
            )
            session.add(contact)
            await session.flush()
            ids[prospect.phone] = contact.id or 0
            for branch_id in prospect.branch_ids:
                session.add(ContactBranch(contact_id=contact.id or 0, branch_id=branch_id))
            for label in prospect.labels:
                session.add(ContactLabel(contact_id=contact.id or 0, label=label))
        await session.commit()
    return ids
