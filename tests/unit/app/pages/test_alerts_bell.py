"""The admins' alerts bell (SPEC O4): an alert opened by the check reaches an admin's open page live, with its
figures in Spanish; agents have no bell."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update

from app.runtime import runtime
from services.alerts import AlertThresholds, check_alerts
from services.database import Database
from services.models import DeliveryStatus, WebhookDelivery
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually


def bell_count(user: User) -> str | None:
    """The badge's number, or None while it is hidden."""
    bell = next(iter(user.find(marker='alerts-bell').elements))
    [badge] = [element for element in bell.descendants() if isinstance(element, ui.badge)]
    return badge.text if badge.visible else None


def alert_texts(user: User) -> list[str]:
    return [
        ' '.join(label.text for label in element.descendants() if isinstance(label, ui.label))
        for element in user.find(marker='alert').elements
    ]


async def test_an_admin_sees_a_journal_backlog_appear_and_clear_live(user: User, world: World, db: Database) -> None:
    await sign_in(user, 'jorge', world.password)
    await user.should_see('Jorge Pereyra')
    assert bell_count(user) is None
    await user.should_see(marker='alerts-none')

    async with db.session() as session:
        session.add_all(WebhookDelivery(body='{}', status=DeliveryStatus.PENDING) for _ in range(1500))
        await session.commit()
    await check_alerts(db, publisher=runtime().bus, thresholds=AlertThresholds())

    async def bell_rings() -> bool:
        return bell_count(user) == '1'

    await eventually(bell_rings)
    [text] = alert_texts(user)
    assert '1.500 webhooks esperan ser guardados' in text  # Argentine thousands

    async with db.session() as session:
        await session.exec(update(WebhookDelivery).values(status=DeliveryStatus.PROCESSED))
        await session.commit()
    await check_alerts(db, publisher=runtime().bus, thresholds=AlertThresholds())

    async def bell_quiet() -> bool:
        return bell_count(user) is None

    await eventually(bell_quiet)


async def test_agents_have_no_bell(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.should_not_see(marker='alerts-bell')
