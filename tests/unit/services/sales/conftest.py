"""Fixtures of the sales tests: a small catalog with stock in both branches, the sales desk (database
inventory, a recording publisher, a media store), viewers of the world's people, and a customer chatting
with Casa Central."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.events import Event
from services.media_store import MediaStore
from services.models import Product, ProductStock, User
from services.sales.desk import SalesDesk
from services.sales.inventory import DatabaseInventory
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.fakes.graph_api import fake_graph  # noqa: F401 - a fixture for these tests
from tests.fakes.soap_inventory import fake_soap_inventory  # noqa: F401 - a fixture for these tests


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


@dataclass
class Catalog:
    pads: Product  # 21 % IVA, 12 in SUC1, 3 in SUC2
    filter: Product  # 10.5 % IVA, 5 in SUC1
    battery: Product  # 21 %, none anywhere


@pytest.fixture
async def catalog(db: Database, world: World) -> Catalog:
    async with db.session() as session:
        pads = Product(
            sku='FRE-1001',
            title='Pastillas de freno delanteras Bosch',
            category='Frenos',
            brand='Bosch',
            price=Decimal('24350.00'),
        )
        oil_filter = Product(
            sku='FIL-2002',
            title='Filtro de aceite Mann W712',
            category='Filtros',
            brand='Mann',
            price=Decimal('8999.99'),
            iva_rate=Decimal('10.50'),
        )
        battery = Product(
            sku='BAT-3003',
            title='Batería 12V 65Ah Moura',
            category='Eléctrico',
            brand='Moura',
            price=Decimal('152000.00'),
        )
        session.add_all([pads, oil_filter, battery])
        await session.flush()
        session.add_all(
            [
                ProductStock(product_id=pads.id or 0, branch_id=world.central.id or 0, quantity=12),
                ProductStock(product_id=pads.id or 0, branch_id=world.rosario.id or 0, quantity=3),
                ProductStock(product_id=oil_filter.id or 0, branch_id=world.central.id or 0, quantity=5),
            ]
        )
        await session.commit()
    return Catalog(pads=pads, filter=oil_filter, battery=battery)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def desk(db: Database, recorder: Recorder, tmp_path: Path) -> SalesDesk:
    return SalesDesk(db=db, publisher=recorder, store=MediaStore(tmp_path / 'media'), inventory=DatabaseInventory(db))


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


@pytest.fixture
async def ana(db: Database, world: World) -> Viewer:
    return await viewer_of(db, world.ana)


@pytest.fixture
async def bruno(db: Database, world: World) -> Viewer:
    return await viewer_of(db, world.bruno)


@pytest.fixture
async def marta(db: Database, world: World) -> Viewer:
    return await viewer_of(db, world.marta)


@pytest.fixture
async def jorge(db: Database, world: World) -> Viewer:
    return await viewer_of(db, world.jorge)


@pytest.fixture
async def chat(db: Database, world: World) -> int:
    """José Núñez wrote to Casa Central half an hour ago (the 24 h window is open)."""
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550101',
        text='Hola, ¿tienen pastillas de freno?',
        wa_message_id='wamid.in-1',
        name='José Núñez',
    )
