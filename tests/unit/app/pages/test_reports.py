"""`/reportes` through NiceGUI's simulated browser, on SQLite and PostgreSQL: managers see their branch's day,
admins every branch, agents nothing; the CSV download carries the same figures."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from nicegui.testing import User

from services.database import Database
from services.models import Sale
from services.models.types import utcnow
from services.sales.day_totals import rebuild_day_totals
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in, table_rows


@pytest.fixture
async def todays_sales(db: Database, world: World) -> None:
    now = utcnow()
    async with db.session() as session:
        session.add_all(
            [
                Sale(
                    branch_id=world.central.id or 0,
                    agent_id=world.ana.id,
                    ticket_number=1,
                    net_total=Decimal('1000.00'),
                    iva_total=Decimal('210.00'),
                    total=Decimal('1210.00'),
                    commission_amount=Decimal('25.00'),
                    sold_at=now,
                ),
                Sale(
                    branch_id=world.central.id or 0,
                    agent_id=world.ana.id,
                    ticket_number=2,
                    net_total=Decimal('500.00'),
                    iva_total=Decimal('105.00'),
                    total=Decimal('605.00'),
                    commission_amount=Decimal('12.50'),
                    sold_at=now,
                ),
                Sale(
                    branch_id=world.rosario.id or 0,
                    agent_id=world.bruno.id,
                    ticket_number=1,
                    net_total=Decimal('800.00'),
                    iva_total=Decimal('168.00'),
                    total=Decimal('968.00'),
                    sold_at=now,
                ),
                Sale(
                    branch_id=world.central.id or 0,
                    agent_id=world.ana.id,
                    ticket_number=3,
                    net_total=Decimal('9.00'),
                    iva_total=Decimal('1.89'),
                    total=Decimal('10.89'),
                    sold_at=datetime(2026, 1, 15, 15, tzinfo=UTC),
                ),
            ]
        )
        await session.commit()
    # Written straight into `sales`, as an import would: the report's daily totals are rebuilt from them.
    zone = ZoneInfo('America/Argentina/Buenos_Aires')
    await rebuild_day_totals(db, start=date(2026, 1, 1), end=now.astimezone(zone).date(), zone=zone)


async def test_a_manager_sees_todays_sales_of_her_branch(user: User, world: World, todays_sales: None) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')

    await user.open('/reportes')

    await user.should_see('Ventas por día, sucursal y vendedor')
    await user.should_see(marker='chart-by-day')
    await user.should_see(marker='chart-by-agent')
    [row] = table_rows(user, 'report-table')
    assert (row['branch'], row['agent'], row['sales'], row['total'], row['average']) == (
        'SUC1',
        'Ana Gómez',
        2,
        '$ 1.815,00',
        '$ 907,50',
    )
    [commission] = table_rows(user, 'commissions-table')
    assert (commission['agent'], commission['commission']) == ('Ana Gómez', '$ 37,50')
    await user.should_see('$ 1.815,00')


async def test_the_csv_download_has_the_same_figures(user: User, world: World, todays_sales: None) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')
    await user.open('/reportes')
    await user.should_see(marker='download-csv')

    download = asyncio.create_task(user.download.next(timeout=10))
    await asyncio.sleep(0)
    user.find(marker='download-csv').click()
    response = await download

    # For a spreadsheet set to Spanish (Argentina): BOM, `;` between fields, decimal comma, Spanish headers.
    assert response.content.startswith('\ufeff'.encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode('utf-8-sig')), delimiter=';'))
    assert [(row['Sucursal'], row['Vendedor'], row['Ventas'], row['Total']) for row in rows] == [
        ('SUC1', 'Ana Gómez', '2', '1815,00'),
        ('', '', '2', '1815,00'),
    ]


async def test_an_admin_sees_every_branch_over_a_chosen_range(user: User, world: World, todays_sales: None) -> None:
    await sign_in(user, 'jorge', world.password)
    await user.should_see('Jorge Pereyra')

    await user.open('/reportes')
    await user.should_see(marker='report-table')
    assert {row['branch'] for row in table_rows(user, 'report-table')} == {'SUC1', 'SUC2'}

    await user.open('/reportes?desde=2026-01-01&hasta=2026-01-31')
    await user.should_see('01/01/2026 al 31/01/2026')
    [row] = table_rows(user, 'report-table')
    assert (row['date'], row['total']) == ('15/01/2026', '$ 10,89')


async def test_agents_cannot_open_reports(user: User, world: World, todays_sales: None) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see('Ana Gómez')
    await user.should_not_see(marker='nav-/reportes')

    await user.open('/reportes')

    await user.should_see('Sin permiso')
    await user.should_not_see(marker='report-table')
