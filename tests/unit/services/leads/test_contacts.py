"""Contacts as prospects (M7, SPEC L1-L2): branch isolation in the services, the filters, validation with who and
why, merging two contacts (labels and branches move, the history shows both; the loser is hidden; the loser's number
writing again stays in its own chat, answered at that number), and re-scoring from failed sends, WhatsApp's answer
and the admin's rule."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from services.access import Viewer
from services.database import Database
from services.errors import NotFound, PermissionDenied
from services.events import NullPublisher
from services.leads import (
    ContactFilters,
    get_contact,
    list_contacts,
    merge_contacts,
    reject_contact,
    rescore,
    validate_contact,
    validation_queue,
)
from services.models import AuditEntry, Contact, Conversation, Direction, Message, MessageStatus, SenderKind
from services.models.leads import ContactBranch, ContactLabel, LeadProfile
from services.models.types import utcnow
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once
from services.whatsapp.workers import IngestWorker
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.leads.conftest import viewer_of


async def prospect(
    db: Database,
    *,
    phone: str,
    name: str,
    score: int = 60,
    branch_id: int | None = None,
    labels: tuple[str, ...] = (),
    validated: bool = False,
    opted_out: bool = False,
) -> int:
    async with db.session() as session:
        contact = Contact(
            phone_e164=phone,
            display_name=name,
            score_contactabilidad=score,
            validado_tecnicamente=validated,
            opted_out_at=utcnow() if opted_out else None,
        )
        session.add(contact)
        await session.flush()
        if branch_id is not None:
            session.add(ContactBranch(contact_id=contact.id or 0, branch_id=branch_id))
        for label in labels:
            session.add(ContactLabel(contact_id=contact.id or 0, label=label))
        await session.commit()
        return contact.id or 0


async def customer_who_wrote(db: Database, world: World, *, phone: str, text: str) -> tuple[int, int]:
    """A customer's message to Casa Central: (their conversation, their contact)."""
    chat = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone=phone,
        text=text,
        wa_message_id=f'wamid.in.{phone}',
    )
    async with db.session() as session:
        return chat, (await session.exec(select(Conversation.contact_id).where(Conversation.id == chat))).one()


async def names(db: Database, viewer: Viewer, **filters: Any) -> list[str]:
    rows, total = await list_contacts(db, viewer=viewer, filters=ContactFilters(**filters))
    assert total == len(rows)
    return [row.name for row in rows]


async def test_agents_and_managers_see_their_branches_contacts_admins_all(db: Database, world: World) -> None:
    await prospect(db, phone='+5491155550001', name='Prospecto Central', branch_id=world.central.id)
    rosario = await prospect(db, phone='+5493415550002', name='Prospecto Rosario', branch_id=world.rosario.id)
    await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550003',
        text='hola',
        wa_message_id='wamid.c1',
        name='Cliente que escribió a Central',
    )
    ana = await viewer_of(db, world.ana)
    bruno = await viewer_of(db, world.bruno)
    jorge = await viewer_of(db, world.jorge)
    assert sorted(await names(db, ana)) == ['Cliente que escribió a Central', 'Prospecto Central']
    assert await names(db, bruno) == ['Prospecto Rosario']
    assert len(await names(db, jorge)) == 3
    with pytest.raises(NotFound):
        await get_contact(db, viewer=ana, contact_id=rosario)
    with pytest.raises(NotFound):
        await validate_contact(db, viewer=ana, contact_id=rosario)
    assert sorted(row.name for row in await validation_queue(db, viewer=ana)) == [
        'Cliente que escribió a Central',
        'Prospecto Central',
    ]
    with pytest.raises(PermissionDenied):
        await list_contacts(db, viewer=ana, filters=ContactFilters(branch_id=world.rosario.id))


async def test_filters_by_band_validation_opt_out_label_and_text(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    await prospect(db, phone='+5491155550001', name='Alta validada', score=90, validated=True, labels=('flota',))
    await prospect(db, phone='+5491155550002', name='Media', score=60, labels=('taller',))
    await prospect(db, phone='+5491155550003', name='Baja con baja', score=0, opted_out=True)
    assert await names(db, jorge, band='high') == ['Alta validada']
    assert await names(db, jorge, band='mid') == ['Media']
    assert await names(db, jorge, band='low') == ['Baja con baja']
    assert await names(db, jorge, validated=False) == ['Media', 'Baja con baja']
    assert await names(db, jorge, opted_out=True) == ['Baja con baja']
    assert await names(db, jorge, label='taller') == ['Media']
    assert await names(db, jorge, query='5550001') == ['Alta validada']
    assert await names(db, jorge, query='MEDIA') == ['Media']


async def test_validation_and_rejection_are_stored_with_who_and_why_and_audited(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    first = await prospect(db, phone='+5491155550001', name='Uno', score=90, branch_id=world.central.id)
    second = await prospect(db, phone='+5491155550002', name='Dos', score=50, branch_id=world.central.id)
    assert [row.id for row in await validation_queue(db, viewer=marta)] == [first, second]

    await validate_contact(db, viewer=marta, contact_id=first, note='llamé, es el dueño')
    await reject_contact(db, viewer=marta, contact_id=second, reason='número de un competidor')

    assert await validation_queue(db, viewer=marta) == []
    detail = await get_contact(db, viewer=marta, contact_id=first)
    assert detail.row.validado_tecnicamente
    assert detail.profile is not None
    assert (detail.profile.validated_by, detail.profile.validation_note) == ('Marta Sosa', 'llamé, es el dueño')
    rejected = await get_contact(db, viewer=marta, contact_id=second)
    assert not rejected.row.validado_tecnicamente
    assert rejected.row.rejection_reason == 'número de un competidor'
    async with db.session() as session:
        actions = (await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id)))).all()
    assert actions == ['lead.validated', 'lead.rejected']
    with pytest.raises(Exception, match='reason'):
        await reject_contact(db, viewer=marta, contact_id=first, reason='  ')


async def test_a_merge_shows_the_history_and_the_losers_number_keeps_its_own_chat(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    # The same person: imported as a prospect without the 9, and writing on WhatsApp from another number.
    survivor = await prospect(
        db, phone='+5491155550101', name='José Núñez', branch_id=world.central.id, labels=('taller',)
    )
    old_chat = await conversation_with_message(
        db,
        number_id=world.rosario_number.id or 0,
        branch_id=world.rosario.id or 0,
        phone='+5491166660202',
        text='¿tienen pastillas?',
        wa_message_id='wamid.loser.1',
        name='Pepe',
    )
    async with db.session() as session:
        loser = (await session.exec(select(Conversation.contact_id).where(Conversation.id == old_chat))).one()
        session.add(ContactLabel(contact_id=loser, label='flota'))
        session.add(LeadProfile(contact_id=loser, company='Taller Núñez', website='https://nunez.com.ar'))
        await session.commit()

    await merge_contacts(db, viewer=jorge, survivor_id=survivor, loser_id=loser)

    detail = await get_contact(db, viewer=jorge, contact_id=survivor)
    assert [item.conversation_id for item in detail.history] == [old_chat]
    assert detail.history[0].branch_name == 'Rosario'
    assert detail.labels == ['flota', 'taller']
    assert detail.merged_phones == ['+5491166660202']
    assert detail.profile is not None
    assert (detail.profile.company, detail.profile.website) == ('Taller Núñez', 'https://nunez.com.ar')
    assert detail.row.digital_maturity == 40  # re-scored with the website it gained
    assert [row.id for row in (await list_contacts(db, viewer=jorge))[0]] == [survivor]
    with pytest.raises(NotFound):
        await get_contact(db, viewer=jorge, contact_id=loser)

    # The loser's number writes again: the message lands in the loser's own chat (shown in the survivor's history),
    # so the reply goes back to the number that wrote, not to the survivor's phone.
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id=world.rosario_number.phone_number_id,
                display_phone_number='5493415000201',
                contacts=[build.contact(wa_id='5491166660202', name='Pepe')],
                messages=[build.text_message(from_='5491166660202', body='sigo esperando')],
            )
        ),
    )
    await IngestWorker(db, publisher=NullPublisher()).drain()
    async with db.session() as session:
        landed = (
            await session.exec(
                select(Conversation.id, Conversation.contact_id)
                .join(Message, col(Message.conversation_id) == col(Conversation.id))
                .where(Message.text == 'sigo esperando')
            )
        ).one()
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'contact.merged'))).one()
    assert tuple(landed) == (old_chat, loser)
    assert [item.conversation_id for item in (await get_contact(db, viewer=jorge, contact_id=survivor)).history] == [
        old_chat
    ]
    assert audit.details == {'merged_contact_id': loser}


async def test_only_managers_merge_and_a_contact_not_into_itself(db: Database, world: World) -> None:
    one = await prospect(db, phone='+5491155550001', name='Uno', branch_id=world.central.id)
    two = await prospect(db, phone='+5491155550002', name='Dos', branch_id=world.central.id)
    with pytest.raises(PermissionDenied):
        await merge_contacts(db, viewer=await viewer_of(db, world.ana), survivor_id=one, loser_id=two)
    with pytest.raises(Exception, match='itself'):
        await merge_contacts(db, viewer=await viewer_of(db, world.marta), survivor_id=one, loser_id=one)


async def test_a_manager_cannot_merge_away_another_branchs_customer(db: Database, world: World) -> None:
    # Dos is Casa Central's prospect and also a Rosario prospect: merged, Rosario would lose sight of her.
    one = await prospect(db, phone='+5491155550011', name='Uno', branch_id=world.central.id)
    two = await prospect(db, phone='+5491155550012', name='Dos', branch_id=world.central.id)
    async with db.session() as session:
        session.add(ContactBranch(contact_id=two, branch_id=world.rosario.id or 0))
        await session.commit()

    with pytest.raises(PermissionDenied):
        await merge_contacts(db, viewer=await viewer_of(db, world.marta), survivor_id=one, loser_id=two)
    await merge_contacts(db, viewer=await viewer_of(db, world.jorge), survivor_id=one, loser_id=two)  # an admin may


async def test_failed_sends_whatsapp_answers_and_the_admins_rule_move_the_score(db: Database, world: World) -> None:
    # A prospect who never wrote (a customer's own message already proves WhatsApp: they are not asked).
    contact_id = await prospect(db, phone='+5491155550101', name='Lucía Paz')
    async with db.session() as session:
        conversation = Conversation(
            contact_id=contact_id, number_id=world.central_number.id or 0, branch_id=world.central.id or 0
        )
        session.add(conversation)
        await session.commit()
        chat = conversation.id or 0
    asked: list[str] = []

    async def whatsapp_says_yes(phone: str) -> bool | None:
        asked.append(phone)
        return True

    await rescore(db, checker=whatsapp_says_yes)
    jorge = await viewer_of(db, world.jorge)
    detail = await get_contact(db, viewer=jorge, contact_id=contact_id)
    assert asked == ['+5491155550101']
    assert detail.row.score_contactabilidad == 90
    assert detail.row.whatsapp_exists is True

    async with db.session() as session:
        session.add(
            Message(
                conversation_id=chat,
                direction=Direction.OUTBOUND,
                sender_kind=SenderKind.AGENT,
                text='oferta',
                status=MessageStatus.FAILED,
                error_code=131026,
                sent_at=utcnow() - timedelta(days=2),
            )
        )
        await session.commit()
    await rescore(db, contact_ids=[contact_id], checker=whatsapp_says_yes)
    detail = await get_contact(db, viewer=jorge, contact_id=contact_id)
    assert asked == ['+5491155550101']  # asked once; the answer holds for a month
    assert detail.row.score_contactabilidad == 60
    assert 'recent_undeliverable' in [reason['code'] for reason in detail.row.contactability_reasons]

    result = await rescore(db, auto_validate_minimum=50)
    assert result.auto_validated == 1
    detail = await get_contact(db, viewer=jorge, contact_id=contact_id)
    assert detail.row.validado_tecnicamente
    assert detail.profile is not None and detail.profile.validated_by == 'regla: ≥ 50'


async def test_a_customer_who_wrote_to_us_scores_as_on_whatsapp_without_asking(db: Database, world: World) -> None:
    # Their message reached our number: the score counts it as WhatsApp's proof, so a customer whose window closed
    # only needs a person's validation to get a follow-up template past the gate (test_send_gate).
    _, customer = await customer_who_wrote(db, world, phone='+5491155550102', text='¿tienen pastillas de freno?')
    never_written = await prospect(db, phone='+5491155550103', name='Hugo Díaz')
    asked: list[str] = []

    async def whatsapp_cannot_say(phone: str) -> bool | None:
        asked.append(phone)
        return None  # the gateway did not answer: the prospect stays "sin verificar"

    await rescore(db, checker=whatsapp_cannot_say)

    jorge = await viewer_of(db, world.jorge)
    wrote = await get_contact(db, viewer=jorge, contact_id=customer)
    assert wrote.row.score_contactabilidad == 90
    assert 'wrote_to_us' in [reason['code'] for reason in wrote.row.contactability_reasons]
    silent = await get_contact(db, viewer=jorge, contact_id=never_written)
    assert silent.row.score_contactabilidad == 60  # a prospect who never wrote stays "sin verificar"
    assert asked == ['+5491155550103']  # the gateway's checks (a budget per night) go to prospects only


async def test_a_validation_given_while_a_batch_is_re_scored_is_kept(db: Database, world: World) -> None:
    # The nightly re-score reads a batch, scores it, then writes: a person who validates one of those contacts in
    # between must not see her validation undone by the batch's older reading.
    from services.leads import rescoring

    contact_id = await prospect(db, phone='+5491155550104', name='Hugo Díaz', score=10)
    async with db.session() as session:
        read_before = await rescoring._load(session, db.dialect, [contact_id])
    await validate_contact(db, viewer=await viewer_of(db, world.jorge), contact_id=contact_id, note='lo llamé')
    async with db.session() as session:
        await rescoring._store(session, db.dialect, read_before, {}, None)
        await session.commit()

    detail = await get_contact(db, viewer=await viewer_of(db, world.jorge), contact_id=contact_id)
    assert detail.row.validado_tecnicamente
    assert detail.row.score_contactabilidad == 60  # the batch's score is still written
