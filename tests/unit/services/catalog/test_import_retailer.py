"""Importing the retailer's own files (issue 21) into the database, on SQLite and PostgreSQL: a MercadoLibre
export (no codes, no prices), a spreadsheet's CSV; re-importing updates instead of duplicating; a product without
a price is found by search but refused by a quote until a file gives it a price."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from services.access import Viewer
from services.auth import viewer_for_user
from services.catalog import import_catalog, product_message, search_products
from services.catalog.tables import title_code
from services.database import Database
from services.errors import InvalidInput, PermissionDenied
from services.models import Product, User
from services.sales import quotes
from services.sales.quotes import LineDraft
from tests.conftest import World
from tests.unit.services.catalog.test_import import leadmaster
from tests.unit.services.catalog.test_tables import mercadolibre_items


async def product_count(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Product))).one()


async def product(db: Database, sku: str) -> Product:
    async with db.session() as session:
        found = (await session.exec(select(Product).where(Product.sku == sku))).one()
        return found


async def viewer(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


def write_ml(path: Path, items: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(items, ensure_ascii=False), encoding='utf-8')
    return path


async def test_a_mercadolibre_export_is_imported_searchable_with_photos_and_no_price(
    db: Database, world: World, tmp_path: Path
) -> None:
    path = write_ml(tmp_path / 'c_embler_ml.json', mercadolibre_items(30))
    reported: list[tuple[int, int]] = []

    report = await import_catalog(db, path, progress=lambda done, total: reported.append((done, total)))

    assert (report.total, report.created, report.updated, report.unpriced, report.rejected) == (30, 30, 0, 30, ())
    assert reported[-1] == (30, 30)
    result = await search_products(db, query='embrague luk corsa')
    hit = next(hit for hit in result.hits if hit.title == 'Kit Embrague Luk Corsa Ref 00007')
    assert hit.sku == title_code(hit.title)
    assert hit.price is None and hit.price_with_iva is None
    assert 'Precio: a confirmar' in product_message(hit)  # what an agent's "send to the customer" says
    assert hit.image_url == 'https://http2.mlstatic.com/D_NQ_NP_1-MLA1007_042023-O.webp'


async def test_reimporting_updates_by_code_without_duplicates_and_keeps_a_known_price(
    db: Database, world: World, tmp_path: Path
) -> None:
    items = mercadolibre_items(20)
    await import_catalog(db, write_ml(tmp_path / 'ml.json', items))
    # The retailer then imports a price list for one of them, by the code the first import gave it.
    priced_title = items[3]['titulo']
    prices = tmp_path / 'precios.csv'
    prices.write_text(f'sku;titulo;precio\n{title_code(priced_title)};{priced_title};45.900,00\n', encoding='utf-8')
    await import_catalog(db, prices)
    # And the export again, with a new photo on one item and one item more.
    items[5]['imagen_4'] = 'https://http2.mlstatic.com/nueva.webp'
    items.append({'titulo': 'Bomba de agua Gates Fiat Palio 1.4', 'categoria': 'Refrigeración'})

    report = await import_catalog(db, write_ml(tmp_path / 'ml.json', items))

    assert (report.created, report.updated) == (1, 20)
    assert await product_count(db) == 21
    assert (await product(db, title_code(items[5]['titulo']))).image_urls[-1] == 'https://http2.mlstatic.com/nueva.webp'
    kept = await product(db, title_code(priced_title))
    assert kept.priced and kept.price == Decimal('45900.00')  # a file without prices does not erase one


async def test_a_product_without_price_cannot_be_quoted_until_priced(
    db: Database, world: World, tmp_path: Path
) -> None:
    items = mercadolibre_items(2)
    await import_catalog(db, write_ml(tmp_path / 'ml.json', items))
    unpriced = await product(db, title_code(items[0]['titulo']))
    ana = await viewer(db, world.ana)

    with pytest.raises(InvalidInput, match='has no price yet'):
        await quotes.create_quote(
            db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=unpriced.id, quantity=1)]
        )

    prices = tmp_path / 'precios.csv'
    prices.write_text(f'codigo,titulo,precio\n{unpriced.sku},{items[0]["titulo"]},"1.000,00"\n', encoding='utf-8')
    await import_catalog(db, prices)
    quote = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=unpriced.id, quantity=1)]
    )
    assert quote.lines[0].unit_price == Decimal('1000.00')


async def test_a_spreadsheet_csv_imports_its_valid_rows_and_reports_the_rest(
    db: Database, world: World, tmp_path: Path
) -> None:
    path = tmp_path / 'Lista.csv'
    path.write_bytes(
        'Código;Título;Categoría;Marca;Precio;stock_SUC1;;\r\n'
        'FRE-1;"Pastilla de freno\nFerodo";Frenos;Ferodo;1.234,56;4;;\r\n'
        'FRE-2;Disco de freno;Frenos;Fremax;mil;2;;\r\n'
        ';;;;;;;\r\n'.encode('cp1252')
    )

    report = await import_catalog(db, path)

    assert (report.total, report.skipped_empty) == (1, 1)
    assert [(r.position, r.code) for r in report.rejected] == [('line 4', 'FRE-2')]
    pads = await product(db, 'FRE-1')
    assert pads.price == Decimal('1234.56') and pads.title == 'Pastilla de freno\nFerodo'


async def test_strict_refuses_a_file_with_a_bad_row_and_writes_nothing(
    db: Database, world: World, tmp_path: Path
) -> None:
    path = tmp_path / 'lista.csv'
    path.write_text('sku,title,price\nA-1,Filtro,100\nA-2,,100\n', encoding='utf-8')

    with pytest.raises(InvalidInput, match='line 3'):
        await import_catalog(db, path, strict=True)

    assert await product_count(db) == 0


async def test_only_an_admin_imports(db: Database, world: World, tmp_path: Path) -> None:
    path = write_ml(tmp_path / 'ml.json', mercadolibre_items(1))
    with pytest.raises(PermissionDenied):
        await import_catalog(db, path, viewer=await viewer(db, world.ana))
    assert await product_count(db) == 0


def test_cli_imports_a_mercadolibre_export_and_lists_rejected_rows(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    items = [*mercadolibre_items(12), {'titulo': '', 'categoria': 'Frenos'}]
    path = write_ml(tmp_path / 'c_embler_ml.json', items)

    preview = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(path), '--preview'], catch_exceptions=False)
    result = CliRunner().invoke(leadmaster(), ['catalog', 'import', str(path)], catch_exceptions=False)

    assert preview.exit_code == 0 and 'title        <- titulo' in preview.output
    assert result.exit_code == 0, result.output
    assert 'rejected item 12: title: must not be empty' in result.output
    assert '12 products imported from c_embler_ml.json' in result.output
    assert '12 new, 0 updated, 1 rejected, 12 without price' in result.output
