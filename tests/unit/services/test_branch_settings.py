"""Per-branch settings (issue 15): who may change them (in the service, not only the page), what each one does —
opening hours, the faithful client's offer, the IVA of free quote lines, the assistant's switch and LLM."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr
from sqlmodel import select

from services.access import Viewer
from services.assistant import AssistantWorker, RuleEngine
from services.assistant.engine import AssistantTools
from services.branch_settings import (
    SettingsInvalid,
    get_branch_settings,
    is_open,
    parse_settings,
    update_branch_settings,
)
from services.database import Database
from services.errors import PermissionDenied
from services.models import AssignmentRule, AuditEntry, Branch, Message, Role, SenderKind, User
from services.models.types import utcnow
from services.sales.quotes import LineDraft, create_quote
from services.secrets import Keyring, SecretsKey
from services.takeover import apply_rule, set_faithful
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.unit.services.takeover.conftest import NOW, Recorder, later, load, set_rule, viewer_of


def viewer(user: User) -> Viewer:
    branch_ids = None if user.role == Role.ADMIN else frozenset({user.branch_id or 0})
    return Viewer(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        branch_id=user.branch_id,
        branch_ids=branch_ids,
    )


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(current=SecretsKey.generate())


async def reload(db: Database, branch: Branch) -> Branch:
    async with db.session() as session:
        return (await session.exec(select(Branch).where(Branch.id == branch.id))).one()


# --- validation and access --------------------------------------------------------------------------------------


def test_every_invalid_value_is_reported_at_once_in_english_for_the_command_line() -> None:
    values, problems = parse_settings(
        {
            'takeover_timeout_seconds': 29,
            'assignment_rule': 'lottery',
            'iva_default_rate': '10.555',
            'business_hours': {'sat': ['13:00', '09:00'], 'sun': ['9']},
            'quote_valid_days': '7',
            'colour': 'red',
        }
    )
    assert values == {'quote_valid_days': 7}
    assert [f'{problem.field}: {problem.message}' for problem in problems] == [
        'takeover_timeout_seconds: must be between 30 and 86400',
        'assignment_rule: must be one of: manual, round_robin, least_busy',
        'iva_default_rate: must be a percentage between 0 and 100 with at most 2 decimals',
        'business_hours.sat: sat: closes (09:00) before it opens (13:00)',
        'business_hours.sun: sun: give the opening and closing time, e.g. ["09:00", "18:00"]',
        'colour: unknown setting',
    ]


async def test_a_manager_changes_only_their_own_branch_and_never_the_llm(
    db: Database, world: World, keyring: Keyring
) -> None:
    marta = viewer(world.marta)

    await update_branch_settings(db, viewer=marta, branch_id=world.central.id or 0, raw={'quote_valid_days': 10})
    assert (await reload(db, world.central)).quote_valid_days == 10

    with pytest.raises(PermissionDenied):
        await update_branch_settings(db, viewer=marta, branch_id=world.rosario.id or 0, raw={'quote_valid_days': 10})
    with pytest.raises(PermissionDenied):
        await get_branch_settings(db, viewer=marta, branch_id=world.rosario.id or 0)
    with pytest.raises(PermissionDenied):
        await update_branch_settings(
            db, viewer=marta, branch_id=world.central.id or 0, raw={'llm_model': 'otro-modelo'}
        )
    with pytest.raises(PermissionDenied):
        await update_branch_settings(
            db,
            viewer=marta,
            branch_id=world.central.id or 0,
            raw={},
            keyring=keyring,
            llm_api_key=SecretStr('sk-de-marta'),
        )
    with pytest.raises(PermissionDenied):
        await update_branch_settings(db, viewer=viewer(world.ana), branch_id=world.central.id or 0, raw={})
    assert (await reload(db, world.rosario)).quote_valid_days == 7
    assert (await reload(db, world.central)).llm_model is None


async def test_an_invalid_change_writes_nothing(db: Database, world: World) -> None:
    with pytest.raises(SettingsInvalid) as raised:
        await update_branch_settings(
            db, viewer=None, branch_id=world.central.id or 0, raw={'quote_valid_days': 3, 'llm_base_url': 'nada'}
        )
    assert [problem.code for problem in raised.value.problems] == ['url']
    assert (await reload(db, world.central)).quote_valid_days == 7
    async with db.session() as session:
        assert (await session.exec(select(AuditEntry).where(AuditEntry.action == 'branch.settings'))).all() == []


async def test_the_key_is_kept_encrypted_and_the_audit_says_only_that_it_was_set(
    db: Database, world: World, keyring: Keyring
) -> None:
    changes = await update_branch_settings(
        db,
        viewer=viewer(world.jorge),
        branch_id=world.central.id or 0,
        raw={'assistant_engine': 'llm'},
        keyring=keyring,
        llm_api_key=SecretStr('sk-secreto-de-la-sucursal'),
    )

    assert [(change.field, change.old, change.new) for change in changes] == [
        ('assistant_engine', None, 'llm'),
        ('llm_api_key', 'unset', 'set'),
    ]
    assert (await get_branch_settings(db, viewer=viewer(world.jorge), branch_id=world.central.id or 0)).llm_key_set
    async with db.session() as session:
        entries = (await session.exec(select(AuditEntry))).all()
    assert entries and not any('sk-secreto' in str(entry.details) for entry in entries)

    cleared = await update_branch_settings(
        db, viewer=viewer(world.jorge), branch_id=world.central.id or 0, raw={}, clear_llm_key=True
    )
    assert [(change.field, change.new) for change in cleared] == [('llm_api_key', 'unset')]


# --- what the settings do ---------------------------------------------------------------------------------------


def test_is_open_follows_the_weekday_hours_in_argentine_time() -> None:
    branch = Branch(
        code='SUC1', name='Casa Central', business_hours={'mon': ['09:00', '18:00'], 'sat': ['09:00', '24:00']}
    )
    monday = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday; Argentina is UTC-3
    assert not is_open(branch, monday.replace(hour=11, minute=59))  # 08:59 there
    assert is_open(branch, monday.replace(hour=12))  # 09:00
    assert is_open(branch, monday.replace(hour=20, minute=59))  # 17:59
    assert not is_open(branch, monday.replace(hour=21))  # 18:00: closed
    assert not is_open(branch, monday + timedelta(days=1, hours=15))  # Tuesday: not listed, closed
    assert is_open(branch, datetime(2026, 12, 13, 2, 59, tzinfo=UTC))  # Saturday 23:59 there
    assert is_open(Branch(code='SUC2', name='Rosario'), monday)  # hours never set: always open


async def test_a_branch_can_switch_the_faithful_offer_off_or_give_it_its_own_length(db: Database, world: World) -> None:
    recorder = Recorder()
    await set_rule(db, world.central, AssignmentRule.MANUAL)
    ana = await viewer_of(db, world.ana)
    chats = []
    for index in range(2):
        chat = await conversation_with_message(
            db,
            number_id=world.central_number.id or 0,
            branch_id=world.central.id or 0,
            phone=f'+54911333322{index:02d}',
            text='hola',
            wa_message_id=f'wamid.FAITH{index}',
        )
        await set_faithful(db, viewer=ana, conversation_id=chat, user_id=world.ana.id, publisher=recorder)
        chats.append(chat)

    await update_branch_settings(db, viewer=None, branch_id=world.central.id or 0, raw={'faithful_offer_seconds': 30})
    offered = await apply_rule(
        db, conversation_id=chats[0], online={world.ana.id or 0}, publisher=recorder, offer_seconds=120, now=NOW
    )
    assert offered.kind == 'offered'
    assert (await load(db, chats[0])).offer_expires_at == later(30)  # the branch's 30 s, not the global 120

    await update_branch_settings(
        db, viewer=None, branch_id=world.central.id or 0, raw={'faithful_offer_enabled': False}
    )
    decision = await apply_rule(
        db, conversation_id=chats[1], online={world.ana.id or 0}, publisher=recorder, offer_seconds=120, now=NOW
    )
    assert decision.kind == 'none'  # straight to the (manual) rule: no offer
    assert (await load(db, chats[1])).offer_expires_at is None


async def test_a_line_typed_by_hand_takes_the_branchs_iva(db: Database, world: World) -> None:
    await update_branch_settings(db, viewer=None, branch_id=world.rosario.id or 0, raw={'iva_default_rate': '10,5'})

    quote = await create_quote(
        db,
        viewer=None,
        branch_id=world.rosario.id or 0,
        lines=[LineDraft(description='Mano de obra', unit_price=Decimal('1000.00'))],
    )
    central = await create_quote(
        db,
        viewer=None,
        branch_id=world.central.id or 0,
        lines=[LineDraft(description='Mano de obra', unit_price=Decimal('1000.00'))],
    )

    assert quote.lines[0].iva_rate == Decimal('10.50') and quote.totals.total == Decimal('1105.00')
    assert quote.default_iva_rate == Decimal('10.50')
    assert central.lines[0].iva_rate == Decimal('21.00')


# --- the assistant -------------------------------------------------------------------------------------------


class Handoffs:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    async def __call__(self, db: Database, *, conversation_id: int, reason: str, publisher: object) -> None:
        self.calls.append((conversation_id, reason))


class Events:
    async def publish(self, events: object) -> None:
        pass


async def bot_replies(db: Database, conversation_id: int) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(
            select(Message.text).where(Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI)
        )
        return [text or '' for text in rows.all()]


async def customer_writes(db: Database, world: World, branch: Branch, number_id: int) -> int:
    return await conversation_with_message(
        db,
        number_id=number_id,
        branch_id=branch.id or 0,
        phone='+5491133334444' if branch.code == 'SUC1' else '+5493414445555',
        name='Martín Ruiz',
        text='hola, ¿tienen pastillas de freno?',
        wa_message_id=f'wamid.SET{branch.code}',
    )


async def test_the_assistant_stays_silent_in_a_branch_that_switched_it_off(db: Database, world: World) -> None:
    await update_branch_settings(db, viewer=None, branch_id=world.central.id or 0, raw={'assistant_enabled': False})
    central = await customer_writes(db, world, world.central, world.central_number.id or 0)
    rosario = await customer_writes(db, world, world.rosario, world.rosario_number.id or 0)
    handoffs = Handoffs()
    worker = AssistantWorker(
        db, engine=RuleEngine(AssistantTools(db)), publisher=Events(), handoff=handoffs, reply_delay_seconds=0
    )

    assert await worker.answer(central) == 'assistant_off'
    assert await worker.answer(rosario) == 'replied'  # the other branch still has its bot
    assert await bot_replies(db, central) == []
    assert len(await bot_replies(db, rosario)) == 1

    # The customer is not left waiting: the watchdog hands them to a person.
    await worker.watchdog(now=utcnow() + timedelta(hours=1))
    assert handoffs.calls == [(central, 'unanswered')]


async def test_a_branch_with_its_own_llm_answers_through_it(
    db: Database, world: World, llm: FakeOpenAI, keyring: Keyring
) -> None:
    await update_branch_settings(
        db,
        viewer=viewer(world.jorge),
        branch_id=world.central.id or 0,
        raw={'assistant_engine': 'llm', 'llm_base_url': llm.base_url, 'llm_model': 'modelo-de-la-sucursal'},
        keyring=keyring,
        llm_api_key=SecretStr(llm.key),
    )
    central = await customer_writes(db, world, world.central, world.central_number.id or 0)
    rosario = await customer_writes(db, world, world.rosario, world.rosario_number.id or 0)
    worker = AssistantWorker(
        db, engine=RuleEngine(AssistantTools(db)), publisher=Events(), reply_delay_seconds=0, keyring=keyring
    )
    llm.script([Text('¡Hola! Te ayudo desde el LLM de Casa Central.')])
    try:
        assert await worker.answer(central) == 'replied'
        assert await worker.answer(rosario) == 'replied'
    finally:
        await worker.stop()

    assert await bot_replies(db, central) == ['¡Hola! Te ayudo desde el LLM de Casa Central.']
    assert [request['model'] for request in llm.requests] == ['modelo-de-la-sucursal']  # Rosario: the rules
    assert await bot_replies(db, rosario) != []
