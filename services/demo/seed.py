"""Demo data for `make run`: three branches with simulator numbers, named people, a few live-looking
conversations and a generated ~10,000-product catalog, so the product can be shown offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from ..branches import WAITING_FOR_GATEWAY
from ..catalog.importer import after_bulk_write, import_into_session
from ..database import Database
from ..models import (
    AssignmentRule,
    Branch,
    CannedResponse,
    ChannelKind,
    Contact,
    Conversation,
    ConversationMode,
    Direction,
    Message,
    MessageStatus,
    MessageTemplate,
    Role,
    SenderKind,
    User,
    WaSession,
    WaSessionTransition,
    WhatsAppNumber,
)
from ..models.types import utcnow
from ..passwords import hash_password
from ..sales.closing import TICKET_TEMPLATE, TICKET_TEMPLATE_BODY
from ..sales.sending import QUOTE_TEMPLATE, QUOTE_TEMPLATE_BODY
from .campaigns import seed_campaigns
from .catalog import generate_catalog
from .leads import seed_leads


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: Role
    branch_code: str | None


DEMO_SESSION = 'central-celular'  # the demo's WhatsApp-Web session (M6)

BRANCHES = [
    # code, name, city, address, two simulator numbers (phone_number_id, display)
    (
        'SUC1',
        'Casa Central',
        'CABA',
        'Av. Warnes 1450',
        [('sim-suc1-ventas', '+5491150000101'), ('sim-suc1-mostrador', '+5491150000102')],
    ),
    (
        'SUC2',
        'Rosario',
        'Rosario',
        'Bv. Oroño 2870',
        [('sim-suc2-ventas', '+5493415000201'), ('sim-suc2-mostrador', '+5493415000202')],
    ),
    (
        'SUC3',
        'Córdoba',
        'Córdoba',
        'Av. Colón 3120',
        [('sim-suc3-ventas', '+5493515000301'), ('sim-suc3-mostrador', '+5493515000302')],
    ),
]
# T4: Rosario shows the automatic rule (the others leave it to agents pressing "Tomar").
ASSIGNMENT_RULES = {'SUC2': AssignmentRule.ROUND_ROBIN}
# S4: each branch's default commission (% of the net), and one agent with her own rate.
BRANCH_COMMISSIONS = {'SUC1': Decimal('2.00'), 'SUC2': Decimal('2.50'), 'SUC3': Decimal('1.50')}
AGENT_COMMISSIONS = {'ana': Decimal('3.00')}

PEOPLE = [
    # username, full name, role, branch code
    ('admin', 'Jorge Pereyra', Role.ADMIN, None),
    ('marta', 'Marta Sosa', Role.MANAGER, 'SUC1'),
    ('raul', 'Raúl Acosta', Role.MANAGER, 'SUC2'),
    ('silvia', 'Silvia Benítez', Role.MANAGER, 'SUC3'),
    ('ana', 'Ana Gómez', Role.AGENT, 'SUC1'),
    ('bruno', 'Bruno Fernández', Role.AGENT, 'SUC1'),
    ('carla', 'Carla Rodríguez', Role.AGENT, 'SUC2'),
    ('diego', 'Diego López', Role.AGENT, 'SUC2'),
    ('elena', 'Elena Martínez', Role.AGENT, 'SUC3'),
    ('facundo', 'Facundo Díaz', Role.AGENT, 'SUC3'),
]

# (branch code, customer phone, profile name, [(sender, text, minutes ago)], mode, assigned username)
CONVERSATIONS: list[tuple[str, str, str, list[tuple[SenderKind, str, int]], ConversationMode, str | None]] = [
    (
        'SUC1',
        '+5491133334444',
        'Martín Ruiz',
        [
            (SenderKind.CUSTOMER, 'Hola, buenas tardes. Necesito pastillas de freno para un Gol Trend 2012', 42),
            (
                SenderKind.AI,
                '¡Hola Martín! Tenemos pastillas delanteras Ferodo y TRW para el Gol Trend 1.6. '
                '¿Me confirmás el motor o me pasás el VIN?',
                41,
            ),
            (SenderKind.CUSTOMER, 'Es 1.6 nafta. Cuánto salen?', 12),
        ],
        ConversationMode.AI,
        None,
    ),
    (
        'SUC1',
        '+5491122223333',
        'Lucía Herrera',
        [
            (SenderKind.CUSTOMER, 'Buen día, tienen kit de distribución Gates para Clio 1.6 16v?', 95),
            (
                SenderKind.AGENT,
                'Hola Lucía, sí, tenemos stock. ¿Te paso el presupuesto con la bomba de agua incluida?',
                80,
            ),
            (SenderKind.CUSTOMER, 'Dale, pasame', 3),
        ],
        ConversationMode.HUMAN,
        'ana',
    ),
    (
        'SUC2',
        '+5493416667777',
        'Gustavo Paz',
        [
            (SenderKind.CUSTOMER, 'Hola! Amortiguadores traseros para Fiat Palio 2008, precio?', 20),
        ],
        ConversationMode.AI,
        None,
    ),
    (
        'SUC3',
        '+5493517778888',
        'Carolina Vega',
        [
            (SenderKind.CUSTOMER, 'Quiero hablar con una persona por favor', 7),
        ],
        ConversationMode.AI,
        None,
    ),
]

# T4: customers who are an agent's own ("cliente fiel"): the rule offers their conversations to her first.
FAITHFUL = {'+5491122223333': 'ana'}  # Lucía Herrera

TEMPLATES = [
    ('seguimiento_presupuesto', 'Hola {{1}}, ¿pudiste ver el presupuesto {{2}}? Quedamos atentos.', 2),
    ('retomar_conversacion', 'Hola {{1}}, te escribimos de {{2}} para continuar tu consulta.', 2),
    # S3/S4: quotes and tickets outside the 24 h window (docs/sales.md).
    (QUOTE_TEMPLATE, QUOTE_TEMPLATE_BODY, 5),
    (TICKET_TEMPLATE, TICKET_TEMPLATE_BODY, 4),
]

CANNED = [
    ('hola', 'Saludo', '¡Hola! Gracias por escribirnos. ¿En qué te podemos ayudar?'),
    ('vin', 'Pedir VIN', '¿Nos mandás una foto de la chapa VIN o el número de chasis para confirmar el repuesto?'),
    ('horario', 'Horario', 'Atendemos de lunes a viernes de 8 a 18 y sábados de 8 a 13.'),
    ('envio', 'Envíos', 'Hacemos envíos en el día dentro de la ciudad y a todo el país por correo.'),
]


async def database_is_empty(db: Database) -> bool:
    async with db.session() as session:
        return (await session.exec(select(User.id).limit(1))).first() is None


async def seed_demo(db: Database, *, password: str, catalog_size: int = 10_000) -> list[DemoLogin]:
    """Load the demo into an empty database in one transaction; returns who can log in."""
    now = utcnow()
    async with db.session() as session:
        branches: dict[str, Branch] = {}
        numbers: dict[str, WhatsAppNumber] = {}
        for code, name, city, address, branch_numbers in BRANCHES:
            branch = Branch(
                code=code,
                name=name,
                city=city,
                address=address,
                commission_rate=BRANCH_COMMISSIONS.get(code, Decimal('2.00')),
                assignment_rule=ASSIGNMENT_RULES.get(code, AssignmentRule.MANUAL),
            )
            session.add(branch)
            await session.flush()
            branches[code] = branch
            for index, (phone_number_id, display) in enumerate(branch_numbers):
                number = WhatsAppNumber(
                    branch_id=branch.id or 0,
                    channel=ChannelKind.SIMULATOR,
                    phone_number_id=phone_number_id,
                    display_phone=display,
                    label='Ventas' if index == 0 else 'Mostrador',
                )
                session.add(number)
                await session.flush()
                numbers.setdefault(code, number)  # conversations below use each branch's first number
                for template_name, body, variables in TEMPLATES:
                    session.add(
                        MessageTemplate(
                            number_id=number.id or 0, name=template_name, body=body, variable_count=variables
                        )
                    )

        # M6: Casa Central's counter phone, an ordinary WhatsApp account through the (simulated) WAHA gateway. Not on
        # the gateway yet: an admin starts it in /admin/sessions and "scans" its QR from /simulador.
        web_number = WhatsAppNumber(
            branch_id=branches['SUC1'].id or 0,
            channel=ChannelKind.WAHA,
            phone_number_id=DEMO_SESSION,
            display_phone='',
            label='Celular del local (WhatsApp Web)',
            sending_enabled=False,  # seed 001: listen-only until an admin allows sending
        )
        session.add(web_number)
        await session.flush()
        web_session = WaSession(number_id=web_number.id or 0, name=DEMO_SESSION, reason=WAITING_FOR_GATEWAY)
        session.add(web_session)
        await session.flush()
        session.add(
            WaSessionTransition(session_id=web_session.id or 0, to_state=web_session.state, reason=web_session.reason)
        )

        # One hash for everyone: Argon2 is deliberately slow and the demo shares one password.
        password_hash = hash_password(password)
        users: dict[str, User] = {}
        for username, full_name, role, branch_code in PEOPLE:
            user = User(
                username=username,
                full_name=full_name,
                role=role,
                password_hash=password_hash,
                branch_id=branches[branch_code].id if branch_code else None,
                commission_rate=AGENT_COMMISSIONS.get(username),
            )
            session.add(user)
            users[username] = user
        for shortcut, title, body in CANNED:
            session.add(CannedResponse(shortcut=shortcut, title=title, body=body))
        await session.flush()

        for code, phone, profile_name, lines, mode, assignee in CONVERSATIONS:
            contact = Contact(phone_e164=phone, wa_id=phone.lstrip('+'), profile_name=profile_name)
            session.add(contact)
            await session.flush()
            faithful = users[FAITHFUL[phone]] if phone in FAITHFUL else None
            conversation = Conversation(
                contact_id=contact.id or 0,
                number_id=numbers[code].id or 0,
                branch_id=branches[code].id or 0,
                mode=mode,
                assigned_user_id=users[assignee].id if assignee else None,
                faithful_user_id=faithful.id if faithful else None,
            )
            session.add(conversation)
            await session.flush()
            _add_demo_messages(session, conversation, lines, users.get(assignee or ''), now)

        # The same import path as `leadmaster catalog import` and the admin page (codes, fitments, stock, search).
        await import_into_session(session, generate_catalog(catalog_size, branch_codes=list(branches)))
        await session.commit()
    await after_bulk_write(db)
    # Issue 16: one finished campaign with its results, then prospects who never wrote; seed_leads scores every
    # contact as the nightly job would (the campaign's opted-out recipient at 0, as the rules say).
    await seed_campaigns(db)
    await seed_leads(db)

    return [DemoLogin(username, full_name, role, branch_code) for username, full_name, role, branch_code in PEOPLE]


def _add_demo_messages(
    session: Any,
    conversation: Conversation,
    lines: list[tuple[SenderKind, str, int]],
    agent: User | None,
    now: Any,
) -> None:
    for index, (sender, text, minutes_ago) in enumerate(lines):
        at = now - timedelta(minutes=minutes_ago)
        inbound = sender == SenderKind.CUSTOMER
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                sender_kind=sender,
                sent_by_user_id=agent.id if agent and sender == SenderKind.AGENT else None,
                text=text,
                wa_message_id=f'wamid.DEMO{conversation.id:04d}{index:02d}',
                status=MessageStatus.RECEIVED if inbound else MessageStatus.READ,
                sent_at=at,
                created_at=at,
            )
        )
        conversation.last_message_at = at
        conversation.last_message_preview = text[:200]
        if inbound:
            conversation.last_inbound_at = at
            conversation.unread_count += 1
            conversation.waiting_since = conversation.waiting_since or at
        else:
            conversation.unread_count = 0
            conversation.waiting_since = None
    if agent is not None:
        conversation.takeover_deadline = now + timedelta(minutes=5)
