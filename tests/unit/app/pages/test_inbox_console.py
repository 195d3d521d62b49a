"""The console's states and words (SPEC C1, C3; issue 18) in NiceGUI's simulated browser: the expired 24 h window on
rows and in the panel, labels on the rows, handoff reasons in the agent's words, "Tomar" wherever she is told to
take a conversation, and English without Spanish or broken plurals. The layout itself (drawer, composer on screen,
no sideways scrolling) needs a real browser: tests/e2e/test_console_tablet.py."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from nicegui import storage as nicegui_storage
from nicegui.testing import User
from sqlmodel import col, update

from app.runtime import runtime
from components import i18n
from components.inbox.takeover_section import REASON_CODES, reason_text
from services.access import Viewer
from services.assistant import HANDOFF_REASONS
from services.assistant.workers import HANDOFF_UNANSWERED
from services.database import Database
from services.inbox import console
from services.models import Contact, Conversation, Role
from services.models.sales import SalesDayTotal
from services.models.types import utcnow
from services.takeover import request_human
from services.takeover.rules import apply_rule
from tests.conftest import World
from tests.unit.app.pages.test_inbox import PATIENCE, chats, open_inbox  # noqa: F401 - a fixture
from tests.unit.app.pages.test_login import sign_in


# Carlos, Ana's colleague at Casa Central, labelling conversations from his own console.
def colleague(world: World) -> Viewer:
    branch = world.central.id or 0
    return Viewer(
        user_id=None,
        username='carlos',
        full_name='Carlos',
        role=Role.AGENT,
        branch_id=branch,
        branch_ids=frozenset({branch}),
    )


# Every reason code the services store on a conversation waiting for a person (T3, the assistant's handoffs).
STORED_REASONS = {*HANDOFF_REASONS, HANDOFF_UNANSWERED, 'timeout', 'released', 'ai_paused'}


async def test_the_expired_window_is_shown_on_its_row_and_in_the_panel(
    user: User,
    world: World,
    chats: dict[str, int],  # noqa: F811
) -> None:
    await open_inbox(user, world)

    # Raúl wrote 30 hours ago: only templates may be sent (C3 "expired"); Martín wrote half an hour ago.
    await user.should_see(content='Ventana de 24 h vencida', marker=f'conversation-{chats["old"]}', retries=PATIENCE)
    await user.should_not_see(content='Ventana de 24 h vencida', marker=f'conversation-{chats["martin"]}')
    user.find(marker=f'conversation-{chats["old"]}').click()
    await user.should_see(content='Ventana de 24 h vencida', marker='panel-expired', retries=PATIENCE)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(content='Necesito pastillas de freno', marker='message-text', retries=PATIENCE)
    await user.should_not_see(marker='panel-expired', retries=PATIENCE)


async def test_labels_are_shown_on_the_rows_and_follow_changes_live(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    await console.set_labels(
        db, viewer=colleague(world), conversation_id=chats['martin'], labels=['mayorista'], publisher=runtime().bus
    )
    await open_inbox(user, world)
    await user.should_see(content='mayorista', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)

    # A colleague labels Raúl's conversation while Ana's list is open: the row shows it without a reload.
    await console.set_labels(
        db, viewer=colleague(world), conversation_id=chats['old'], labels=['urgente'], publisher=runtime().bus
    )
    await user.should_see(content='urgente', marker=f'conversation-{chats["old"]}', retries=PATIENCE)
    await user.should_not_see(content='urgente', marker=f'conversation-{chats["martin"]}')


@pytest.mark.parametrize('locale', ['es', 'en'])
def test_every_stored_reason_has_words_in_both_languages(locale: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, '_default_locale', locale)
    assert STORED_REASONS <= REASON_CODES
    for code in STORED_REASONS:
        words = reason_text(code)
        assert code not in words and words.strip(), (code, words)
    # A code a newer engine might store is never shown raw; a person's own words are.
    assert 'surprise_code' not in reason_text('surprise_code')
    assert reason_text('pidió una persona') == 'pidió una persona'


async def test_the_panel_says_why_the_ai_handed_over_in_words(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    await request_human(db, conversation_id=chats['martin'], reason='purchase_intent', publisher=runtime().bus)
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()

    await user.should_see('Motivo: el cliente quiere comprar', retries=PATIENCE)
    await user.should_see(content='La IA pidió un vendedor: el cliente quiere comprar', marker='history-line')
    await user.should_not_see('purchase_intent')


async def test_told_to_take_her_faithful_customer_she_has_the_take_button_at_hand(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    async with db.session() as session:
        await session.exec(
            update(Conversation).where(col(Conversation.id) == chats['martin']).values(faithful_user_id=world.ana.id)
        )
        await session.commit()
    await open_inbox(user, world)

    await apply_rule(
        db, conversation_id=chats['martin'], online={world.ana.id or 0}, publisher=runtime().bus, offer_seconds=300
    )
    await user.should_see(content='Ofrecida a Ana Gómez', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert any('tomala antes de las' in message for message in user.notify.messages)

    user.find(marker=f'conversation-{chats["martin"]}').click()
    # In the panel, and in the bar above the thread that stands in for the panel when there is no room for it.
    await user.should_see(marker='take', retries=PATIENCE)
    await user.should_see(marker='bar-take', retries=PATIENCE)
    user.find(marker='bar-take').click()
    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)
    await user.should_not_see(marker='bar-take', retries=PATIENCE)
    await user.should_see(marker='bar-release', retries=PATIENCE)


async def test_in_english_the_commissions_read_as_english(user: User, world: World, db: Database) -> None:
    async with db.session() as session:
        # One sale of Ana's today, as the day's running totals hold it (what the commissions read).
        session.add(
            SalesDayTotal(
                branch_id=world.central.id or 0,
                day=runtime().sales.today(),
                agent_key=world.ana.id or 0,
                sales=1,
                net_total=Decimal('1000.00'),
                iva_total=Decimal('210.00'),
                total=Decimal('1210.00'),
            )
        )
        await session.commit()
    await sign_in(user, 'ana', world.password)
    user.find(marker='locale-selector').click()
    user.find('EN').click()
    await user.should_see('Inbox', retries=PATIENCE)

    await user.open('/presupuestos')

    await user.should_see('My commissions this month', retries=PATIENCE)
    await user.should_see('Sales: 1 · net', retries=PATIENCE)
    await user.should_not_see('1 sales')


async def test_in_english_live_changes_and_the_list_stay_english(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    await sign_in(user, 'ana', world.password)
    user.find(marker='locale-selector').click()
    user.find('EN').click()
    await user.should_see('Search name, phone or message', retries=PATIENCE)  # placeholder: the page is English
    await user.should_see(content='24 h window expired', marker=f'conversation-{chats["old"]}', retries=PATIENCE)

    # An event from outside any page (the assistant's worker handing over) changes Martín's row: in Ana's language.
    async def the_assistant_hands_over() -> None:
        nicegui_storage.request_contextvar.set(None)  # a worker's task: no page, no user, no language of its own
        await request_human(db, conversation_id=chats['martin'], reason='purchase_intent', publisher=runtime().bus)

    await asyncio.create_task(the_assistant_hands_over())
    await user.should_see(content='Waiting for a person', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    await user.should_not_see(content='Espera humano', marker=f'conversation-{chats["martin"]}')


async def test_the_panel_shows_the_customers_lead_score_and_an_opt_out(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    # C1/L1: the agent sees at a glance whether a template would reach this customer (the send gate's inputs).
    async with db.session() as session:
        martin = await session.get(Conversation, chats['martin'])
        lucia = await session.get(Conversation, chats['lucia'])
        assert martin is not None and lucia is not None
        await session.exec(
            update(Contact)
            .where(col(Contact.id) == martin.contact_id)
            .values(score_contactabilidad=85, validado_tecnicamente=True)
        )
        await session.exec(update(Contact).where(col(Contact.id) == lucia.contact_id).values(opted_out_at=utcnow()))
        await session.commit()
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(content='Contactabilidad 85 · validado', marker='contact-score', retries=PATIENCE)
    user.find(marker=f'conversation-{chats["lucia"]}').click()
    await user.should_see(content='Pidió la baja', marker='contact-score', retries=PATIENCE)
