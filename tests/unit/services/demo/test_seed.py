"""`make run` demo data: branches with numbers, named people who can log in, conversations, the catalog."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select

from services import auth
from services.database import Database
from services.demo.seed import PEOPLE, database_is_empty, seed_demo
from services.models import (
    Branch,
    ChannelKind,
    Conversation,
    Message,
    Product,
    ProductCode,
    ProductFitment,
    ProductStock,
    Role,
    SessionState,
    User,
    WhatsAppNumber,
)
from services.sessions.service import list_sessions


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_demo_loads_branches_people_conversations_and_catalog(db: Database) -> None:
    assert await database_is_empty(db)

    logins = await seed_demo(db, password='demo-pass-123', catalog_size=300)

    assert not await database_is_empty(db)
    assert await count(db, Branch) == 3
    async with db.session() as session:
        channels = (await session.exec(select(WhatsAppNumber.channel))).all()
        roles = (await session.exec(select(User.role))).all()
    # Two simulator numbers per branch, and Casa Central's counter phone through WhatsApp Web (listen-only).
    assert sorted(channels) == [ChannelKind.SIMULATOR] * 6 + [ChannelKind.WAHA]
    [web] = await list_sessions(db, viewer=None)
    assert (web.name, web.state, web.sending_enabled) == ('central-celular', SessionState.INITIALIZING, False)
    assert sorted(roles).count(Role.AGENT) == 6 and roles.count(Role.MANAGER) == 3 and roles.count(Role.ADMIN) == 1
    assert len(logins) == len(PEOPLE)
    assert await count(db, Conversation) >= 3 and await count(db, Message) >= 5
    assert await count(db, Product) == 300
    assert await count(db, ProductCode) >= 300
    assert await count(db, ProductFitment) > 0
    assert await count(db, ProductStock) == 900  # every product, every branch


async def test_every_demo_login_works_with_the_demo_password(db: Database) -> None:
    await seed_demo(db, password='demo-pass-123', catalog_size=10)

    result = await auth.login(db, username='ana', password='demo-pass-123')

    assert result.viewer.full_name == 'Ana Gómez' and result.viewer.role == Role.AGENT


async def test_catalog_prices_are_exact_to_the_cent_on_both_databases(db: Database) -> None:
    await seed_demo(db, password='demo-pass-123', catalog_size=50)

    async with db.session() as session:
        prices = (await session.exec(select(col(Product.price)))).all()
    assert all(
        isinstance(price, Decimal) and price == price.quantize(Decimal('0.01')) and price > 0 for price in prices
    )
