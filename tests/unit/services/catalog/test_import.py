"""Catalog import (S1): JSON and CSV in the documented format, with progress; bad input loses nothing."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from sqlalchemy import func
from sqlmodel import col, select
from typer.testing import CliRunner

from app.commands.catalog import cli as catalog_commands
from services.catalog import import_file, import_products
from services.database import Database
from services.demo.catalog import generate_catalog, write_csv, write_json
from services.errors import InvalidInput
from services.models import Product, ProductCode, ProductFitment, ProductStock
from tests.conftest import World


def leadmaster() -> typer.Typer:
    """`leadmaster` with only its catalog commands: app/cli.py also loads every other feature's commands."""
    root = typer.Typer()
    root.add_typer(catalog_commands, name='catalog')
    return root


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def stock_of(db: Database, sku: str, branch_id: int) -> int | None:
    async with db.session() as session:
        return (
            await session.exec(
                select(ProductStock.quantity)
                .join(Product, col(Product.id) == col(ProductStock.product_id))
                .where(Product.sku == sku, ProductStock.branch_id == branch_id)
            )
        ).first()


@pytest.mark.parametrize('fmt', ['json', 'csv'])
async def test_a_file_imports_products_codes_fitments_and_stock_with_progress(
    db: Database, world: World, tmp_path: Path, fmt: str
) -> None:
    products = generate_catalog(2500, branch_codes=('SUC1', 'SUC2'))
    path = tmp_path / f'catalog.{fmt}'
    if fmt == 'json':
        write_json(products, path)
    else:
        write_csv(products, path, branch_codes=('SUC1', 'SUC2'))
    reported: list[tuple[int, int]] = []

    report = await import_file(db, path, progress=lambda done, total: reported.append((done, total)))

    assert (report.total, report.created, report.updated) == (2500, 2500, 0)
    assert await count(db, Product) == 2500
    assert await count(db, ProductCode) == sum(len({c.code.replace(' ', '') for c in p.codes}) for p in products)
    assert await count(db, ProductFitment) == sum(len(p.fitments) for p in products)
    assert await count(db, ProductStock) == 5000
    first = products[0]
    assert await stock_of(db, first.sku, world.central.id or 0) == first.stock['SUC1']
    # The bar moves forward to the end, in chunks.
    assert reported[0] == (0, 2500) and reported[-1] == (2500, 2500)
    assert [done for done, _ in reported] == sorted(done for done, _ in reported) and len(reported) >= 3


async def test_importing_again_updates_by_sku_and_keeps_stock_of_branches_the_file_omits(
    db: Database, world: World
) -> None:
    products = generate_catalog(50, branch_codes=('SUC1', 'SUC2'))
    await import_products(db, products)
    changed = dataclasses.replace(products[0], price=Decimal('99999.99'), stock={'SUC1': 7})

    report = await import_products(db, [changed])

    assert (report.created, report.updated) == (0, 1)
    assert await count(db, Product) == 50
    async with db.session() as session:
        price = (await session.exec(select(col(Product.price)).where(Product.sku == changed.sku))).one()
    assert price == Decimal('99999.99')
    assert await stock_of(db, changed.sku, world.central.id or 0) == 7
    assert await stock_of(db, changed.sku, world.rosario.id or 0) == products[0].stock['SUC2']


async def test_a_bad_line_is_reported_with_its_position_and_nothing_is_imported(
    db: Database, world: World, tmp_path: Path
) -> None:
    products = generate_catalog(30, branch_codes=('SUC1', 'SUC2'))
    path = tmp_path / 'catalog.csv'
    write_csv(products, path, branch_codes=('SUC1', 'SUC2'))
    lines = path.read_text(encoding='utf-8').splitlines()
    lines[20] = lines[20].replace(f',{products[19].price},', ',doce mil,')  # line 21 of the file: product 19
    assert 'doce mil' in lines[20]
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')

    with pytest.raises(InvalidInput) as error:
        await import_file(db, path)

    assert 'line 21' in str(error.value) and products[19].sku in str(error.value) and 'price' in str(error.value)
    assert await count(db, Product) == 0


async def test_stock_for_an_unknown_branch_is_refused_before_writing(db: Database, world: World) -> None:
    products = generate_catalog(10, branch_codes=('SUC1', 'SUC9'))

    with pytest.raises(InvalidInput, match='SUC9'):
        await import_products(db, products)

    assert await count(db, Product) == 0


async def test_an_unknown_extension_is_a_clear_error(db: Database, world: World, tmp_path: Path) -> None:
    path = tmp_path / 'catalog.xlsx'
    path.write_bytes(b'PK')

    with pytest.raises(InvalidInput, match=r'\.json or \.csv'):
        await import_file(db, path)


def test_cli_imports_a_file(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    path = tmp_path / 'catalog.json'
    write_json(generate_catalog(120, branch_codes=('SUC1',)), path)

    result = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(path)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert '120 products imported from catalog.json' in result.output and '120 new' in result.output


def test_cli_reports_a_bad_file_and_fails(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    path = tmp_path / 'catalog.json'
    path.write_text('[{"sku": "X-1", "title": "Algo", "price": "doce"}]', encoding='utf-8')

    result = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(path)], catch_exceptions=False)
    strict = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(path), '--strict'], catch_exceptions=False)
    not_a_table = tmp_path / 'catalog.csv'
    not_a_table.write_text('', encoding='utf-8')
    empty = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(not_a_table)], catch_exceptions=False)

    # Every row rejected: nothing imported, and the command fails.
    assert result.exit_code == 1
    assert 'rejected item 0 X-1: price' in result.output and '0 products imported' in result.output
    assert strict.exit_code == 1 and 'item 0' in strict.output and 'nothing was imported' in strict.output
    assert empty.exit_code == 1 and 'the file is empty' in empty.output
