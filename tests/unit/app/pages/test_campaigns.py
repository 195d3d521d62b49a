"""`/campanas` through NiceGUI's simulated browser, on SQLite and PostgreSQL: a manager counts the audience, creates
a campaign of her branch and sends it; the page shows who the gate blocked and why, then the live results with the
response rate per score band; other branches' campaigns stay out of reach; agents have no access."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update
from sqlmodel import col, select

from app.runtime import runtime
from services.campaigns.service import Audience, create_campaign
from services.database import Database
from services.models import Direction, Message, MessageStatus, SenderKind
from services.models.campaigns import Campaign
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.campaigns.prospects import TEMPLATE, Prospect, add_prospects, add_template


async def seed(db: Database, world: World) -> None:
    await add_template(db, world.central_number)
    await add_template(db, world.rosario_number)
    central = world.central.id or 0
    await add_prospects(
        db,
        [
            Prospect('5491160000001', 'Lucía Paz', score=92, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000002', 'Omar Gil', score=74, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000003', 'Hugo Díaz', score=55, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000004', 'Ema Ruiz', score=88, validated=False, labels=['flota'], branch_ids=[central]),
            Prospect('5491160000005', 'Leo Vera', score=99, branch_ids=[world.rosario.id or 0]),
        ],
    )


def label_text(user: User, marker: str) -> str:
    return next(iter(user.find(marker=marker).elements)).text  # type: ignore[attr-defined]


async def test_a_manager_creates_and_sends_a_campaign_and_watches_its_results(
    user: User, db: Database, world: World
) -> None:
    await seed(db, world)
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open('/campanas')
    await user.should_see(marker='campaigns-empty')

    user.find(marker='campaign-new').click()
    user.find(marker='campaign-name').type('Pastillas de freno')
    user.find(marker='campaign-preview').click()
    await user.should_see('4 prospectos: 2 reciben el mensaje, 2 quedan bloqueados')  # her branch only, not Leo
    user.find(marker='campaign-create').click()
    await user.should_see(marker='campaign-run')

    user.find(marker='campaign-run').click()
    await user.should_see('2 mensajes en cola, 2 bloqueados por el filtro de calidad')
    await user.should_see('Contactabilidad baja: 1')
    await user.should_see('No validados: 1')
    assert label_text(user, 'count-queued') == '2'
    await user.should_see('Enviando')

    # WhatsApp accepts both; Lucía reads hers and answers.
    async with db.session() as session:
        queued = (await session.exec(select(Message).where(Message.status == MessageStatus.QUEUED))).all()
        await session.exec(update(Message).where(col(Message.status) == MessageStatus.QUEUED).values(status='read'))
        session.add(
            Message(
                conversation_id=min(message.conversation_id for message in queued),
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                text='<b>¿Las tienen para Hilux?</b>',
                wa_message_id='wamid.reply-1',
            )
        )
        await session.commit()
    await user.should_see('<b>¿Las tienen para Hilux?</b>')  # the customer's text, as text
    await user.should_see('90–100: 1/1 100,0 % · 1')
    await user.should_see('70–79: 0/1 0,0 % · 1')
    assert label_text(user, 'count-rate') == '50,0 %'
    chart = next(iter(user.find(marker='chart-bands').elements))
    assert isinstance(chart, ui.echart)
    assert chart.options['series'][0]['data'] == [None, None, 0.0, None, 100.0]


async def test_other_branches_campaigns_are_out_of_reach(user: User, db: Database, world: World) -> None:
    await seed(db, world)
    rosario = await create_campaign(
        db,
        viewer=None,
        name='Rosario',
        phone_number_id='pn-rosario',
        template_name=TEMPLATE,
        audience=Audience(branch_id=world.rosario.id),
    )
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open('/campanas')
    await user.should_not_see('Rosario', retries=3)
    await user.open(f'/campanas?campana={rosario.id}')
    await user.should_see(marker='campaign-not-found')


async def test_agents_have_no_access(user: User, db: Database, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.open('/campanas')
    await user.should_see('Sin permiso')


async def test_a_scheduled_campaign_shows_as_such_and_can_be_stopped(user: User, db: Database, world: World) -> None:
    from datetime import timedelta

    from services.campaigns.service import Schedule
    from services.models.types import utcnow

    await seed(db, world)
    campaign = await create_campaign(
        db,
        viewer=None,
        name='Mañana',
        phone_number_id='pn-central',
        template_name=TEMPLATE,
        audience=Audience(branch_id=world.central.id),
        schedule=Schedule(start_at=utcnow() + timedelta(days=1)),
    )
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open(f'/campanas?campana={campaign.id}')
    await user.should_see('Programada')
    user.find(marker='campaign-cancel').click()
    await user.should_see('Detenida')

    async def stopped() -> bool:
        async with runtime().db.session() as session:
            found = await session.get(Campaign, campaign.id)
            return found is not None and found.status == 'cancelled'

    await eventually(stopped)
