"""T4: branch rules — round robin among online agents, least busy within capacity, the faithful client's agent
first, returning customers, and the dispatcher that runs them when a customer writes or a person is wanted."""

from __future__ import annotations

from services.database import Database
from services.events import CONVERSATION_UPDATED, Event
from services.models import AssignmentRule, Conversation
from services.takeover import (
    AssignmentWorker,
    OfferedToAnother,
    RuleDecision,
    TakeoverSweeper,
    apply_rule,
    close,
    release,
    request_human,
    set_faithful,
    take,
)
from tests.conftest import World

from .conftest import NOW, Recorder, add_agents, conversation, history, later, load, set_rule, viewer_of

PHONES = [f'+54911333300{n:02d}' for n in range(12)]


async def place(db: Database, conversation_id: int, online: set[int], recorder: Recorder) -> RuleDecision:
    return await apply_rule(
        db, conversation_id=conversation_id, online=online, publisher=recorder, offer_seconds=120, now=NOW
    )


async def test_round_robin_takes_turns_among_online_agents_only(db: Database, world: World, recorder: Recorder) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    carlos, dora, ernesto = await add_agents(db, world.central, ['Carlos', 'Dora', 'Ernesto'])
    online = {carlos.id or 0, ernesto.id or 0}  # Dora has no inbox open
    chats = [await conversation(db, world, phone) for phone in PHONES[:5]]

    got = [
        (await load(db, chat)).assigned_user_id
        for chat in chats
        if (await place(db, chat, online, recorder)).kind == 'assigned'
    ]

    assert got == [carlos.id, ernesto.id, carlos.id, ernesto.id, carlos.id]
    assert dora.id not in got and world.marta.id not in got  # managers are not in the rotation
    assert [row.reason for chat in chats for row in await history(db, chat)] == ['round_robin'] * 5


async def test_least_busy_picks_the_fewest_held_and_respects_capacity(
    db: Database, world: World, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.LEAST_BUSY)
    (carlos,) = await add_agents(db, world.central, ['Carlos'], capacity=1)
    (dora,) = await add_agents(db, world.central, ['Dora'], capacity=3)
    online = {carlos.id or 0, dora.id or 0, world.ana.id or 0}
    ana = await viewer_of(db, world.ana)
    for phone in PHONES[:2]:  # Ana already holds two
        await take(db, viewer=ana, conversation_id=await conversation(db, world, phone), publisher=recorder)
    chats = [await conversation(db, world, phone) for phone in PHONES[2:8]]

    decisions = [await place(db, chat, online, recorder) for chat in chats]
    holders = [(await load(db, chat)).assigned_user_id for chat in chats]

    # Carlos (0 of 1) and Dora (0 of 3) first; Carlos is then full, so Dora and Ana (2 of 8) share by load
    # (a tie goes to the lower user id) until Dora is full too.
    assert holders == [carlos.id, dora.id, dora.id, world.ana.id, dora.id, world.ana.id]
    assert all(decision.kind == 'assigned' for decision in decisions)


async def test_least_busy_with_everyone_full_leaves_it_with_the_ai(
    db: Database, world: World, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.LEAST_BUSY)
    (carlos,) = await add_agents(db, world.central, ['Carlos'], capacity=1)
    await place(db, await conversation(db, world, PHONES[0]), {carlos.id or 0}, recorder)
    second = await conversation(db, world, PHONES[1])

    decision = await place(db, second, {carlos.id or 0}, recorder)

    assert decision.kind == 'none'
    assert (await load(db, second)).assigned_user_id is None and await history(db, second) == []


async def test_nobody_online_or_a_manual_branch_assigns_nobody(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    assert (await place(db, martin, set(), recorder)).kind == 'none'
    await set_rule(db, world.central, AssignmentRule.MANUAL)
    assert (await place(db, martin, {world.ana.id or 0}, recorder)).kind == 'none'
    assert (await load(db, martin)).assigned_user_id is None and recorder.events == []


async def test_a_faithful_client_is_offered_to_their_agent_first_then_the_rule_decides(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    (carlos,) = await add_agents(db, world.central, ['Carlos'])
    ana = await viewer_of(db, world.ana)
    await set_faithful(db, viewer=ana, conversation_id=martin, user_id=world.ana.id, publisher=recorder)
    online = {world.ana.id or 0, carlos.id or 0}

    offered = await place(db, martin, online, recorder)
    assert (offered.kind, offered.user_id) == ('offered', world.ana.id)
    assert (await load(db, martin)).offer_expires_at == later(120)
    assert recorder.events[-1].data['reason'] == 'offer' and recorder.events[-1].data['user_id'] == world.ana.id
    try:  # meanwhile a colleague cannot take it
        await take(db, viewer=await viewer_of(db, carlos), conversation_id=martin, publisher=recorder, now=later(10))
        raise AssertionError('a colleague took a conversation offered to its faithful agent')
    except OfferedToAnother as refusal:
        assert (refusal.holder, refusal.until) == ('Ana Gómez', later(120))

    report = await TakeoverSweeper(
        db, publisher=recorder, online=lambda: online, offer_seconds=120, interval_seconds=5
    ).sweep(now=later(121))

    assert report.offers_expired == [martin] and report.assigned == [martin]
    assert (await load(db, martin)).assigned_user_id == carlos.id  # the rule, without Ana who let it pass
    assert [row.action for row in await history(db, martin)] == ['faithful', 'offer', 'offer_expired', 'rule']


async def test_the_faithful_agent_accepts_the_offer_by_taking_it(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)
    await set_faithful(db, viewer=ana, conversation_id=martin, user_id=world.ana.id, publisher=recorder)
    await place(db, martin, {world.ana.id or 0}, recorder)

    await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=later(30))

    stored = await load(db, martin)
    assert (stored.assigned_user_id, stored.offered_user_id, stored.offer_expires_at) == (world.ana.id, None, None)


async def test_a_returning_customer_whose_agent_is_offline_goes_to_the_rule(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    (carlos,) = await add_agents(db, world.central, ['Carlos'])
    ana = await viewer_of(db, world.ana)
    await set_faithful(db, viewer=ana, conversation_id=martin, user_id=world.ana.id, publisher=recorder)
    await close(db, viewer=ana, conversation_id=martin, publisher=recorder)
    async with db.session() as session:  # Martín writes again days later: ingest opens a new conversation
        old = await session.get(Conversation, martin)
        assert old is not None
        returning = Conversation(contact_id=old.contact_id, number_id=old.number_id, branch_id=old.branch_id)
        session.add(returning)
        await session.commit()
        returning_id = returning.id or 0

    decision = await place(db, returning_id, {carlos.id or 0}, recorder)  # Ana is not online

    stored = await load(db, returning_id)
    assert (decision.kind, stored.assigned_user_id) == ('assigned', carlos.id)
    assert stored.faithful_user_id == world.ana.id  # still her customer for the next time


async def test_the_dispatcher_places_new_conversations_and_handoffs_when_events_arrive(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    (carlos,) = await add_agents(db, world.central, ['Carlos'])
    online = {carlos.id or 0}
    dispatcher = AssignmentWorker(db, publisher=recorder, online=lambda: online, offer_seconds=120)

    dispatcher.on_event(Event(CONVERSATION_UPDATED, world.central.id or 0, martin, {'reason': 'inbound'}))
    assert await dispatcher.drain(now=NOW) == [martin]

    # Carlos releases it to the AI; the customer keeps chatting with the AI: the rule does not grab it back…
    await release(db, viewer=await viewer_of(db, carlos), conversation_id=martin, publisher=recorder, now=later(60))
    dispatcher.on_event(Event(CONVERSATION_UPDATED, world.central.id or 0, martin, {'reason': 'inbound'}))
    assert await dispatcher.drain(now=later(90)) == []
    # …until the AI asks for a person.
    await request_human(db, conversation_id=martin, reason='quiere comprar', publisher=recorder, now=later(100))
    for event in [event for event in recorder.events if event.data.get('reason') == 'handoff']:
        dispatcher.on_event(event)
    assert await dispatcher.drain(now=later(100)) == [martin]
    assert (await load(db, martin)).assigned_user_id == carlos.id


async def test_the_dispatcher_ignores_manual_branches_without_faithful_clients(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    dispatcher = AssignmentWorker(db, publisher=recorder, online=lambda: {world.ana.id or 0}, offer_seconds=120)
    dispatcher.on_event(Event(CONVERSATION_UPDATED, world.central.id or 0, martin, {'reason': 'inbound'}))
    dispatcher.on_event(Event(CONVERSATION_UPDATED, world.central.id or 0, martin, {'reason': 'labels'}))

    assert await dispatcher.drain(now=NOW) == []
    assert recorder.events == []


async def test_the_sweeper_places_waiting_conversations_when_an_agent_comes_online(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.LEAST_BUSY)
    await request_human(db, conversation_id=martin, reason='pidió una persona', publisher=recorder, now=NOW)
    online: set[int] = set()
    sweeper = TakeoverSweeper(db, publisher=recorder, online=lambda: online, offer_seconds=120, interval_seconds=5)

    assert (await sweeper.sweep(now=later(5))).assigned == []
    online.add(world.ana.id or 0)  # Ana opens her inbox
    assert (await sweeper.sweep(now=later(10))).assigned == [martin]
    assert recorder.events[-1].data['user_id'] == world.ana.id
