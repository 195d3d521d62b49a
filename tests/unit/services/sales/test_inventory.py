"""Inventory providers (S2): stock per branch from the database, and from a SOAP service (zeep) over real HTTP
on 127.0.0.1 — answers, cache, wrong credentials, a slow service and a down one never block or crash."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from services.database import Database
from services.sales.desk import build_inventory
from services.sales.inventory import DatabaseInventory, SoapInventory, StockItem, StockLevel
from tests.conftest import World
from tests.fakes.soap_inventory import PASSWORD, USERNAME, FakeSoapInventory

from .conftest import Catalog

PADS, FILTER = StockItem(1, 'FRE-1001'), StockItem(2, 'FIL-2002')


async def test_database_stock_is_per_branch(*, db: Database, world: World, catalog: Catalog) -> None:
    inventory = DatabaseInventory(db)
    items = [StockItem(catalog.pads.id or 0, 'FRE-1001'), StockItem(catalog.battery.id or 0, 'BAT-3003')]

    central = await inventory.stock(branch_id=world.central.id or 0, branch_code='SUC1', items=items)
    rosario = await inventory.stock(branch_id=world.rosario.id or 0, branch_code='SUC2', items=items)

    assert [(level.quantity, level.confirmed) for level in central.values()] == [(12, True), (0, True)]
    assert rosario[catalog.pads.id or 0].quantity == 3


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def soap(fake_soap_inventory: FakeSoapInventory) -> AsyncIterator[SoapInventory]:
    fake_soap_inventory.stock.update({('SUC1', 'FRE-1001'): 7, ('SUC2', 'FRE-1001'): 1, ('SUC1', 'FIL-2002'): 0})
    provider = SoapInventory(
        wsdl=fake_soap_inventory.wsdl_url,
        username=USERNAME,
        password=PASSWORD,
        timeout_seconds=30.0,  # generous: a busy machine is slow, and timeouts have tests of their own
        cache_seconds=30.0,
        down_seconds=15.0,
        clock=Clock(),
    )
    provider.warm_up()
    yield provider
    await provider.aclose()


async def test_soap_answers_per_branch_and_unknown_skus_are_zero(
    *, soap: SoapInventory, fake_soap_inventory: FakeSoapInventory
) -> None:
    central = await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS, FILTER, StockItem(3, 'NADA-1')])
    rosario = await soap.stock(branch_id=2, branch_code='SUC2', items=[PADS])

    assert central == {
        1: StockLevel(1, 7, True, 'soap'),
        2: StockLevel(2, 0, True, 'soap'),
        3: StockLevel(3, 0, True, 'soap'),
    }
    assert rosario[1].quantity == 1
    assert fake_soap_inventory.requests == 2


async def test_soap_answers_are_cached_for_a_while(
    *, soap: SoapInventory, fake_soap_inventory: FakeSoapInventory
) -> None:
    clock = soap.clock
    assert isinstance(clock, Clock)
    await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])
    fake_soap_inventory.stock[('SUC1', 'FRE-1001')] = 2

    cached = await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])
    clock.now += 31
    fresh = await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])

    assert (cached[1].quantity, fresh[1].quantity) == (7, 2)
    assert fake_soap_inventory.requests == 2


async def test_a_slow_service_times_out_and_stock_is_unconfirmed(
    *, soap: SoapInventory, fake_soap_inventory: FakeSoapInventory
) -> None:
    await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])  # known: 7
    clock = soap.clock
    assert isinstance(clock, Clock)
    clock.now += 31
    soap.timeout_seconds = 0.5
    fake_soap_inventory.delay_seconds = 3.0

    started = time.monotonic()
    levels = await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS, FILTER])
    waited = time.monotonic() - started

    assert waited < 2.0
    # The last known quantity is kept, marked unconfirmed; a product never seen has none.
    assert levels == {1: StockLevel(1, 7, False, 'soap'), 2: StockLevel(2, None, False, 'soap')}
    assert 'TimeoutError' in soap.last_error
    # While "down", checks answer at once without calling the service.
    requests = fake_soap_inventory.requests
    started = time.monotonic()
    assert not (await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS]))[1].confirmed
    assert time.monotonic() - started < 0.1 and fake_soap_inventory.requests == requests
    clock.now += 16
    fake_soap_inventory.delay_seconds = 0
    assert (await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS]))[1].confirmed


async def test_a_down_server_means_unconfirmed_not_an_error(*, fake_soap_inventory: FakeSoapInventory) -> None:
    provider = SoapInventory(
        wsdl=fake_soap_inventory.wsdl_url, username=USERNAME, password=PASSWORD, timeout_seconds=30.0
    )
    fake_soap_inventory.stop()

    levels = await provider.stock(branch_id=1, branch_code='SUC1', items=[PADS])

    assert levels == {1: StockLevel(1, None, False, 'soap')}
    assert 'ConnectError' in provider.last_error or 'Connection' in provider.last_error
    await provider.aclose()


async def test_the_service_going_down_after_answering(
    *, soap: SoapInventory, fake_soap_inventory: FakeSoapInventory
) -> None:
    await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])
    fake_soap_inventory.stop()
    clock = soap.clock
    assert isinstance(clock, Clock)
    clock.now += 31

    levels = await soap.stock(branch_id=1, branch_code='SUC1', items=[PADS])

    assert levels[1] == StockLevel(1, 7, False, 'soap')


async def test_wrong_credentials_are_a_fault_and_stock_unconfirmed(*, fake_soap_inventory: FakeSoapInventory) -> None:
    provider = SoapInventory(wsdl=fake_soap_inventory.wsdl_url, username=USERNAME, password='wrong')

    levels = await provider.stock(branch_id=1, branch_code='SUC1', items=[PADS])

    assert not levels[1].confirmed and 'could not be authenticated' in provider.last_error
    await provider.aclose()


async def test_the_first_check_during_the_wsdl_load_does_not_wait_past_the_timeout(
    *, fake_soap_inventory: FakeSoapInventory
) -> None:
    """zeep and the WSDL load in a thread; a check that cannot wait for them says "unconfirmed" in time and the
    load goes on, so a later check is answered."""
    fake_soap_inventory.stock[('SUC1', 'FRE-1001')] = 7
    provider = SoapInventory(
        wsdl=fake_soap_inventory.wsdl_url, username=USERNAME, password=PASSWORD, timeout_seconds=0.001
    )

    first = await provider.stock(branch_id=1, branch_code='SUC1', items=[PADS])
    provider.timeout_seconds = 30.0
    for _ in range(100):
        if provider._client_task is not None and provider._client_task.done():
            break
        await asyncio.sleep(0.05)
    later = await provider.stock(branch_id=1, branch_code='SUC1', items=[PADS])

    assert not first[1].confirmed
    assert later[1] == StockLevel(1, 7, True, 'soap')
    await provider.aclose()


def test_settings_pick_the_provider(db: Database) -> None:
    assert isinstance(build_inventory(db, provider='database'), DatabaseInventory)
    assert isinstance(build_inventory(db, provider='soap', wsdl='http://127.0.0.1:9/stock?wsdl'), SoapInventory)
    with pytest.raises(ValueError, match='needs LEADMASTER_INVENTORY_SOAP_WSDL'):
        build_inventory(db, provider='soap')
