"""Demo prospects (issue 16): about thirty contacts who never wrote, spread over the demo branches, with scores
across the bands so /contactos, /validacion and the campaigns' audiences have something to show: WhatsApp checked
yes, no and not yet, corporate and free e-mails, websites, a few validated, one opted out, one failing sends."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import col, select

from ..database import Database
from ..leads.rescoring import rescore
from ..models import Branch, Contact
from ..models.leads import ContactBranch, ContactLabel, LeadProfile
from ..models.types import utcnow

_FIRST = ('Juan', 'María', 'Carlos', 'Lucía', 'Diego', 'Sofía', 'Martín', 'Valeria', 'Pablo', 'Florencia')
_BUSINESSES = (
    ('Taller {name}', 'taller'),
    ('Repuestos {name}', 'repuestos'),
    ('Gomería {name}', 'gomería'),
    ('Transportes {name}', 'flota'),
    ('Lubricentro {name}', 'taller'),
)
_SURNAMES = ('Pérez', 'Gómez', 'Rodríguez', 'Fernández', 'López', 'Díaz', 'Martínez', 'Sosa', 'Romero', 'Álvarez')
_AREAS = ('11', '341', '351', '261', '291')


async def seed_leads(db: Database, *, count: int = 30, branch_ids: Sequence[int] | None = None, seed: int = 16) -> int:
    """Add `count` prospects to the given branches (every branch when None), scored as the nightly job would;
    returns how many were added. Numbers are fixed by `seed`, so running it twice adds nobody new."""
    rng = random.Random(seed)
    now = utcnow()
    async with db.session() as session:
        if branch_ids is None:
            branch_ids = [b for b in (await session.exec(select(Branch.id).order_by(col(Branch.id)))).all() if b]
        if not branch_ids:
            return 0
        added: list[int] = []
        for index in range(count):
            surname = _SURNAMES[index % len(_SURNAMES)]
            first = _FIRST[(index * 3) % len(_FIRST)]
            business, label = _BUSINESSES[index % len(_BUSINESSES)]
            company = business.format(name=surname)
            area = _AREAS[index % len(_AREAS)]
            local = f'{rng.randrange(4000000, 6999999):07d}' if area != '11' else f'{rng.randrange(40000000, 69999999)}'
            phone = f'+549{area}{local}'[:14]
            potencial = rng.randrange(20, 100)  # drawn for every row, so the sequence never depends on the skips
            if (await session.exec(select(Contact.id).where(col(Contact.phone_e164) == phone))).first():
                continue
            domain = f'{company.split()[0].lower()}{surname.lower()}.com.ar'.replace('é', 'e').replace('í', 'i')
            domain = domain.replace('á', 'a').replace('ó', 'o').replace('ú', 'u')
            kind = index % 6
            contact = Contact(
                phone_e164=phone,
                display_name=f'{first} {surname}',
                email=(
                    f'ventas@{domain}' if kind in (0, 1) else f'{first.lower()}{index}@gmail.com' if kind == 2 else ''
                ),
                validado_tecnicamente=index % 7 == 0,
                opted_out_at=now - timedelta(days=3) if index == 5 else None,
                created_at=now,
                updated_at=now,
            )
            session.add(contact)
            await session.flush()
            contact_id = contact.id or 0
            added.append(contact_id)
            session.add(
                LeadProfile(
                    contact_id=contact_id,
                    company=company,
                    website=f'https://www.{domain}' if kind in (0, 3) else ('www.mal escrito' if kind == 4 else ''),
                    social_profiles=[f'https://instagram.com/{domain.split(".")[0]}'] if kind in (0, 1, 3) else [],
                    whatsapp_exists=True if index % 3 == 0 else (False if index % 10 == 4 else None),
                    whatsapp_checked_at=now if index % 3 == 0 or index % 10 == 4 else None,
                    score_potencial=potencial if index % 2 == 0 else None,
                    validated_at=now if index % 7 == 0 else None,
                    validated_by='demo' if index % 7 == 0 else '',
                    source='demo',
                )
            )
            session.add(ContactBranch(contact_id=contact_id, branch_id=branch_ids[index % len(branch_ids)]))
            session.add(ContactLabel(contact_id=contact_id, label=label))
        await session.commit()
    if added:
        await rescore(db)  # the demo customers too: the nightly job would have scored them
    return len(added)
