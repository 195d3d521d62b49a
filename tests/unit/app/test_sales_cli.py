"""`leadmaster quotes …` and `leadmaster sales …`, against the same database as the app (both databases)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from app.cli import cli
from services.database import Database
from services.models import Product, Sale
from services.sales import quotes
from services.sales.quotes import LineDraft
from tests.conftest import World


@pytest.fixture
def run_cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.output

    return run


def run_on(database_url: str, work):
    """Run `work(db)` in its own event loop with its own engine (the CLI's loop is not the fixtures' loop)."""

    async def main():
        db = Database.from_url(database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


@pytest.fixture
def a_quote(database_url: str, world: World) -> str:
    async def make(db: Database) -> str:
        async with db.session() as session:
            product = Product(
                sku='FRE-1001',
                title='Pastillas de freno delanteras Bosch',
                category='Frenos',
                brand='Bosch',
                price=Decimal('24350.00'),
            )
            session.add(product)
            await session.commit()
        quote = await quotes.create_quote(
            db,
            viewer=None,
            branch_id=world.central.id,
            lines=[LineDraft(product_id=product.id, quantity=2)],
            notes='Retira en mostrador',
        )
        return quote.code

    return run_on(database_url, make)


def test_quotes_pdf_writes_the_customers_document(run_cli, a_quote: str, tmp_path: Path) -> None:
    out = tmp_path / 'presupuesto.pdf'

    output = run_cli('quotes', 'pdf', 'suc1-000001', str(out))

    assert a_quote == 'SUC1-000001' and str(out) in output
    text = PdfReader(out).pages[0].extract_text()
    assert 'Presupuesto N° SUC1-000001' in text and 'Pastillas de freno delanteras Bosch' in text
    assert 'TOTAL $ 58.927,00' in text


def test_quotes_pdf_errors_are_one_clear_line(run_cli, a_quote: str, tmp_path: Path) -> None:
    assert 'no quote SUC1-000099' in run_cli('quotes', 'pdf', 'SUC1-000099', str(tmp_path / 'x.pdf'), expect_exit=1)
    assert 'not a quote number' in run_cli('quotes', 'pdf', 'presupuesto', str(tmp_path / 'x.pdf'), expect_exit=1)
    assert not (tmp_path / 'x.pdf').exists()


def test_quotes_show_prints_the_whatsapp_text(run_cli, a_quote: str) -> None:
    output = run_cli('quotes', 'show', a_quote)

    assert output.startswith('SUC1-000001\tdraft\t58927.00')
    assert '*Total: $ 58.927,00*' in output and 'Notas: Retira en mostrador' in output


def test_register_templates_once(run_cli, world: World) -> None:
    first = run_cli('quotes', 'register-templates', '--phone-number-id', 'pn-central')
    again = run_cli('quotes', 'register-templates', '--phone-number-id', 'pn-central')

    assert 'presupuesto_enviado: registered' in first and 'venta_confirmada: registered' in first
    assert 'presupuesto_enviado: already registered' in again
    assert 'pn-central\tpresupuesto_enviado\tes_AR\tAPPROVED\t5' in run_cli('templates', 'list')


@pytest.fixture
def sales_on_30_november(database_url: str, world: World) -> None:
    async def make(db: Database) -> None:
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
                        sold_at=datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
                    ),
                    Sale(
                        branch_id=world.rosario.id or 0,
                        agent_id=world.bruno.id,
                        ticket_number=1,
                        net_total=Decimal('800.00'),
                        iva_total=Decimal('168.00'),
                        total=Decimal('968.00'),
                        sold_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
                    ),
                ]
            )
            await session.commit()

    run_on(database_url, make)


def test_sales_report_is_csv_on_stdout(run_cli, sales_on_30_november: None) -> None:
    # The sales were written straight into the table, as an import would: rebuild the report's daily totals.
    assert 'daily rows rebuilt' in run_cli('sales', 'rebuild-totals', '--from', '2026-11-29', '--until', '2026-12-01')
    one_branch = list(
        csv.DictReader(io.StringIO(run_cli('sales', 'report', '--date', '2026-11-30', '--branch', 'suc1')))
    )
    every_branch = list(csv.DictReader(io.StringIO(run_cli('sales', 'report', '--date', '2026-11-30'))))

    assert [(row['date'], row['branch'], row['agent'], row['total']) for row in one_branch] == [
        ('2026-11-30', 'SUC1', 'Ana Gómez', '1210.00'),
        ('TOTAL', '', '', '1210.00'),
    ]
    assert [row['branch'] for row in every_branch] == ['SUC1', 'SUC2', '']
    assert every_branch[-1]['total'] == '2178.00'


def test_sales_report_bad_input(run_cli, world: World) -> None:
    assert 'no branch' in run_cli('sales', 'report', '--date', '2026-11-30', '--branch', 'SUC9', expect_exit=1)
    assert 'is not a date' in run_cli('sales', 'report', '--date', '30/11/2026', expect_exit=2)
