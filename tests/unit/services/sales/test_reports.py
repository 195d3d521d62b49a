"""The daily sales report and commissions (S4): figures per business day, branch and agent, conversion, CSV,
and who may see what — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.access import Viewer
from services.database import Database
from services.errors import InvalidInput, PermissionDenied
from services.models import Quote, QuoteStatus, Sale
from services.sales import quotes
from services.sales.closing import accept_quote
from services.sales.commissions import commissions
from services.sales.day_totals import rebuild_day_totals
from services.sales.desk import SalesDesk
from services.sales.quotes import LineDraft
from services.sales.reports import CSV_COLUMNS, daily_report, report_csv
from services.sales.sending import send_quote
from tests.conftest import World

from .conftest import Catalog

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
DAY = date(2026, 11, 30)
D = Decimal


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Buenos Aires wall-clock time as the UTC instant the database stores."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


async def add_sale(
    db: Database,
    *,
    branch_id: int,
    agent_id: int | None,
    net: str,
    sold_at: datetime,
    ticket: int,
    commission: str = '0',
) -> None:
    net_amount = D(net)
    iva = (net_amount * D('0.21')).quantize(D('0.01'))
    async with db.session() as session:
        session.add(
            Sale(
                branch_id=branch_id,
                agent_id=agent_id,
                ticket_number=ticket,
                net_total=net_amount,
                iva_total=iva,
                total=net_amount + iva,
                commission_amount=D(commission),
                sold_at=sold_at,
            )
        )
        await session.commit()


async def add_sent_quote(
    db: Database, *, branch_id: int, agent_id: int, sent_at: datetime, number: int, accepted: bool = False
) -> None:
    async with db.session() as session:
        session.add(
            Quote(
                branch_id=branch_id,
                number=number,
                created_by_id=agent_id,
                sent_by_id=agent_id,
                status=QuoteStatus.ACCEPTED if accepted else QuoteStatus.SENT,
                valid_until=DAY,
                sent_at=sent_at,
            )
        )
        await session.commit()


@pytest.fixture
async def november(db: Database, world: World) -> None:
    central, rosario = world.central.id or 0, world.rosario.id or 0
    await add_sale(
        db, branch_id=central, agent_id=world.ana.id, net='1000.00', sold_at=at(DAY, 10), ticket=1, commission='30.00'
    )
    await add_sale(
        db,
        branch_id=central,
        agent_id=world.ana.id,
        net='500.00',
        sold_at=at(DAY, 23, 30),
        ticket=2,
        commission='15.00',
    )  # 02:30 UTC on 1 December: still 30 November in Buenos Aires
    await add_sale(
        db, branch_id=central, agent_id=None, net='200.00', sold_at=at(DAY + timedelta(days=1), 0, 30), ticket=3
    )  # the AI alone, 1 December
    await add_sale(
        db, branch_id=rosario, agent_id=world.bruno.id, net='800.00', sold_at=at(DAY, 12), ticket=1, commission='16.00'
    )
    for number in range(1, 5):
        await add_sent_quote(
            db, branch_id=central, agent_id=world.ana.id or 0, sent_at=at(DAY, 9), number=number, accepted=number == 1
        )
    # Rows written straight into the tables, as an import would: the daily totals are rebuilt from them.
    await rebuild_day_totals(db, start=DAY - timedelta(days=3), end=DAY + timedelta(days=3), zone=ZONE)


async def test_figures_per_day_branch_and_agent(*, db: Database, world: World, november: None, jorge: Viewer) -> None:
    report = await daily_report(db, viewer=jorge, start=DAY, end=DAY + timedelta(days=1))

    rows = {(row.day, row.branch_code, row.agent_name): row.figures for row in report.rows}
    ana = rows[(DAY, 'SUC1', 'Ana Gómez')]
    assert (ana.sales, ana.net, ana.iva, ana.total, ana.commission) == (
        2,
        D('1500.00'),
        D('315.00'),
        D('1815.00'),
        D('45.00'),
    )
    assert ana.average_ticket == D('907.50')
    assert (ana.quotes_sent, ana.quotes_accepted, ana.conversion_percent) == (4, 1, D('25.0'))
    assert rows[(DAY + timedelta(days=1), 'SUC1', '')].sales == 1
    assert rows[(DAY, 'SUC2', 'Bruno Fernández')].total == D('968.00')
    assert report.totals.sales == 4 and report.totals.total == D('3025.00')
    assert [(day, figures.sales) for day, figures in report.by_day] == [(DAY, 3), (DAY + timedelta(days=1), 1)]
    assert [name for name, _ in report.by_branch] == ['SUC1', 'SUC2']


async def test_managers_see_their_branch_agents_none(
    *, db: Database, world: World, november: None, marta: Viewer, ana: Viewer, jorge: Viewer
) -> None:
    mine = await daily_report(db, viewer=marta, start=DAY, end=DAY)
    narrowed = await daily_report(db, viewer=jorge, start=DAY, end=DAY, branch_id=world.rosario.id)
    elsewhere = await daily_report(db, viewer=marta, start=DAY, end=DAY, branch_id=world.rosario.id)

    assert {row.branch_code for row in mine.rows} == {'SUC1'}
    assert {row.branch_code for row in narrowed.rows} == {'SUC2'}
    assert elsewhere.rows == () and elsewhere.totals.sales == 0
    with pytest.raises(PermissionDenied):
        await daily_report(db, viewer=ana, start=DAY, end=DAY)


async def test_a_day_with_nothing_shows_zeros_and_no_conversion(
    *, db: Database, world: World, november: None, jorge: Viewer
) -> None:
    report = await daily_report(db, viewer=jorge, start=DAY - timedelta(days=2), end=DAY - timedelta(days=1))

    assert report.rows == ()
    assert [figures.sales for _, figures in report.by_day] == [0, 0]
    assert report.totals.conversion_percent is None and report.totals.average_ticket == D('0.00')


async def test_csv_has_a_row_per_day_branch_agent_and_a_total(
    *, db: Database, world: World, november: None, marta: Viewer
) -> None:
    report = await daily_report(db, viewer=marta, start=DAY, end=DAY)

    rows = list(csv.DictReader(io.StringIO(report_csv(report))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0] == {
        'date': '2026-11-30',
        'branch': 'SUC1',
        'agent': 'Ana Gómez',
        'sales': '2',
        'net': '1500.00',
        'iva': '315.00',
        'total': '1815.00',
        'average_ticket': '907.50',
        'quotes_sent': '4',
        'quotes_accepted': '1',
        'conversion_percent': '25.0',
        'commission': '45.00',
    }
    assert rows[-1]['date'] == 'TOTAL' and rows[-1]['total'] == '1815.00'


async def test_the_pages_csv_opens_right_in_a_spreadsheet_set_to_argentina(
    *, db: Database, world: World, november: None, marta: Viewer
) -> None:
    report = await daily_report(db, viewer=marta, start=DAY, end=DAY)

    text = report_csv(report, spreadsheet=True)

    assert text.startswith('\ufeff')  # Excel reads it as UTF-8: 'Ana Gómez', not 'Ana GÃ³mez'
    rows = list(csv.DictReader(io.StringIO(text.removeprefix('\ufeff')), delimiter=';'))
    assert (rows[0]['Fecha'], rows[0]['Vendedor'], rows[0]['Neto'], rows[0]['Conversión %']) == (
        '30/11/2026',
        'Ana Gómez',
        '1500,00',
        '25,0',
    )
    assert rows[-1]['Total'] == '1815,00'  # Spanish headers, as the spreadsheet's user reads them


async def test_bad_ranges_are_refused(*, db: Database, world: World, jorge: Viewer) -> None:
    with pytest.raises(InvalidInput, match='before it starts'):
        await daily_report(db, viewer=jorge, start=DAY, end=DAY - timedelta(days=1))
    with pytest.raises(InvalidInput, match='at most 366 days'):
        await daily_report(db, viewer=jorge, start=DAY - timedelta(days=400), end=DAY)


async def test_commissions_agents_see_their_own_managers_their_branch(
    *, db: Database, world: World, november: None, ana: Viewer, bruno: Viewer, marta: Viewer, jorge: Viewer
) -> None:
    start, end = DAY, DAY + timedelta(days=1)

    own = await commissions(db, viewer=ana, start=start, end=end)
    branch = await commissions(db, viewer=marta, start=start, end=end)
    everyone = await commissions(db, viewer=jorge, start=start, end=end)
    ana_elsewhere = await commissions(db, viewer=ana, branch_id=world.rosario.id, start=start, end=end)

    assert [(row.agent_name, row.sales, row.net_total, row.commission) for row in own] == [
        ('Ana Gómez', 2, D('1500.00'), D('45.00'))
    ]
    assert [row.agent_name for row in branch] == ['Ana Gómez']
    assert [row.agent_name for row in everyone] == ['Ana Gómez', 'Bruno Fernández']
    assert ana_elsewhere == []
    assert [row.agent_name for row in await commissions(db, viewer=bruno, start=start, end=end)] == ['Bruno Fernández']


async def test_a_sale_made_today_appears_in_todays_report(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, marta: Viewer, chat: int
) -> None:
    quote = await quotes.create_quote(
        db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    await send_quote(desk, viewer=ana, quote_id=quote.id)
    await accept_quote(desk, quote_id=quote.id, viewer=None, source='customer_text')

    today = quotes.today_in(ZONE)
    report = await daily_report(db, viewer=marta, start=today, end=today)

    [row] = report.rows
    assert (row.agent_name, row.figures.sales, row.figures.total) == ('Ana Gómez', 1, D('29463.50'))
    assert (row.figures.quotes_sent, row.figures.quotes_accepted) == (1, 1)
    # The running totals are exactly what a rebuild from the sales and quotes gives.
    await rebuild_day_totals(db, start=today, end=today, zone=ZONE)
    assert (await daily_report(db, viewer=marta, start=today, end=today)).rows == report.rows


async def test_running_totals_match_a_rebuild_after_a_busy_day(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, marta: Viewer, chat: int
) -> None:
    made = [
        await quotes.create_quote(
            db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id, quantity=index + 1)]
        )
        for index in range(4)
    ]
    for quote in made[:3]:
        await send_quote(desk, viewer=ana, quote_id=quote.id)
    await send_quote(desk, viewer=ana, quote_id=made[0].id)  # a resend is not another quote sent
    await accept_quote(desk, quote_id=made[0].id, viewer=None, source='customer_text')
    await accept_quote(desk, quote_id=made[1].id, viewer=marta)  # the manager closes it: her sale
    await quotes.reject_quote(db, viewer=ana, quote_id=made[2].id)
    await accept_quote(desk, quote_id=made[3].id, viewer=ana)  # a draft agreed by phone: a sale, never sent
    today = quotes.today_in(ZONE)

    live = await daily_report(db, viewer=marta, start=today, end=today)
    await rebuild_day_totals(db, start=today, end=today, zone=ZONE)
    rebuilt = await daily_report(db, viewer=marta, start=today, end=today)

    assert live.rows == rebuilt.rows
    figures = {row.agent_name: row.figures for row in live.rows}
    assert (figures['Ana Gómez'].sales, figures['Ana Gómez'].quotes_sent, figures['Ana Gómez'].quotes_accepted) == (
        2,
        3,
        2,
    )
    assert (figures['Marta Sosa'].sales, figures['Marta Sosa'].quotes_sent) == (1, 0)
    assert live.totals.total == sum((quote.totals.total for quote in made[:2] + made[3:]), D('0'))
