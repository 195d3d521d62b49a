"""Catalog search (S1): typos, accents, codes first, vehicle compatibility, branch stock and its visibility."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from services.access import Viewer
from services.catalog import Vehicle, import_products, product_message, search_products
from services.catalog import search as search_module
from services.catalog.formats import CatalogProduct, normalize_code
from services.catalog.text import words
from services.database import Database, select_columns
from services.models import Product, ProductFitment, ProductStock, Role
from tests.conftest import World


def agent_of(world: World) -> Viewer:
    return Viewer(
        user_id=world.ana.id,
        username='ana',
        full_name='Ana Gómez',
        role=Role.AGENT,
        branch_id=world.central.id,
        branch_ids=frozenset({world.central.id or 0}),
    )


async def fitments_of(db: Database, product_ids: list[int]) -> dict[int, list[tuple[str, str, int, int]]]:
    async with db.session() as session:
        rows = (
            await session.exec(
                select_columns(
                    ProductFitment.product_id,
                    ProductFitment.make,
                    ProductFitment.model,
                    ProductFitment.year_from,
                    ProductFitment.year_to,
                ).where(col(ProductFitment.product_id).in_(product_ids))
            )
        ).all()
    out: dict[int, list[tuple[str, str, int, int]]] = {}
    for product_id, make, model, year_from, year_to in rows:
        out.setdefault(product_id, []).append((make, model, year_from, year_to))
    return out


async def test_typos_and_missing_accents_still_find_brake_pads(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='pastilals de frneo')

    assert result.hits, 'nothing found'
    assert all(hit.title.startswith('Pastillas de freno') for hit in result.hits)
    assert result.corrections == {'pastilals': 'pastillas', 'frneo': 'freno'}


async def test_accents_do_not_matter(db: Database, catalog: list[CatalogProduct]) -> None:
    with_accent = await search_products(db, query='Suspensión Dirección', limit=50)
    without = await search_products(db, query='suspension direccion', limit=50)

    assert with_accent.hits and [h.sku for h in with_accent.hits] == [h.sku for h in without.hits]


async def test_a_code_typed_with_spaces_or_dashes_is_an_exact_match_ranked_first(
    db: Database, catalog: list[CatalogProduct]
) -> None:
    product = next(p for p in catalog if any(c.kind == 'part' and ' ' in c.code for c in p.codes))
    code = next(c.code for c in product.codes if c.kind == 'part' and ' ' in c.code)
    typed = code.replace(' ', '-').lower()

    result = await search_products(db, query=f'necesito {typed}')

    assert result.hits[0].sku == product.sku
    assert result.hits[0].matched_code == code


async def test_an_oem_code_finds_every_product_that_carries_it(db: Database, catalog: list[CatalogProduct]) -> None:
    product = next(p for p in catalog if any(c.kind == 'oem' for c in p.codes))
    oem = next(c.code for c in product.codes if c.kind == 'oem')
    carriers = {p.sku for p in catalog if any(c.kind == 'oem' and c.code == oem for c in p.codes)}

    result = await search_products(db, query=oem)

    assert {hit.sku for hit in result.hits[: len(carriers)]} == carriers


async def test_the_vehicle_in_the_query_filters_by_compatibility(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='pastillas de freno gol trend 2015', limit=30)

    assert result.vehicle == Vehicle(make='Volkswagen', model='Gol Trend', year=2015)
    assert result.hits
    fitments = await fitments_of(db, [hit.id for hit in result.hits])
    for hit in result.hits:
        assert hit.title.startswith('Pastillas de freno')
        assert any(
            make == 'Volkswagen' and model == 'Gol Trend' and start <= 2015 <= end
            for make, model, start, end in fitments.get(hit.id, [])
        ), hit.title


async def test_a_bare_model_also_means_its_longer_versions(db: Database, catalog: list[CatalogProduct]) -> None:
    """Customers say "un Gol 2015" for a Gol Trend: the Gol was not sold in 2015, the Gol Trend was."""
    result = await search_products(
        db, query='pastillas', vehicle=Vehicle(make='Volkswagen', model='Gol', year=2015), limit=30
    )

    fitments = await fitments_of(db, [hit.id for hit in result.hits])
    assert result.hits
    assert all(
        any(model in {'Gol', 'Gol Trend'} and start <= 2015 <= end for _, model, start, end in fitments[h.id])
        for h in result.hits
    )


async def test_universal_products_pass_the_vehicle_filter(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='lampara h7', vehicle=Vehicle(make='Fiat', model='Palio', year=2010))

    assert result.hits and all('H7' in hit.title for hit in result.hits)


async def test_in_stock_only_keeps_products_the_branch_has(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    result = await search_products(db, query='filtro aceite', branch_id=world.central.id, in_stock_only=True, limit=50)

    assert result.hits
    assert all(hit.stock is not None and hit.stock > 0 for hit in result.hits)
    out_of_stock = {p.sku for p in catalog if p.stock.get('SUC1') == 0}
    assert not out_of_stock & {hit.sku for hit in result.hits}


async def test_an_agent_sees_only_her_branch_stock(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='amortiguador', viewer=agent_of(world), branch_id=world.rosario.id)

    assert result.hits
    assert all(set(hit.stock_by_branch) <= {world.central.id} for hit in result.hits)
    assert all(hit.stock is None for hit in result.hits)  # Rosario's figure is not hers to see


async def test_unknown_words_are_ignored_and_reported(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='bujia xqzzyv')

    assert result.ignored == ['xqzzyv']
    assert result.hits and all('Bujía' in hit.title for hit in result.hits)


async def test_an_empty_query_finds_nothing(db: Database, catalog: list[CatalogProduct]) -> None:
    assert (await search_products(db, query='   ')).hits == []


async def test_the_whatsapp_text_of_a_product_has_price_with_iva_stock_photo_and_sku(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    hit = (await search_products(db, query='kit distribucion', branch_id=world.central.id)).hits[0]
    async with db.session() as session:
        net = (await session.exec(select(col(Product.price)).where(Product.sku == hit.sku))).one()
        units = (
            await session.exec(
                select(ProductStock.quantity).where(
                    ProductStock.product_id == hit.id, ProductStock.branch_id == world.central.id
                )
            )
        ).one()

    text = product_message(hit, branch_name='Casa Central')

    gross = (net * Decimal('1.21')).quantize(Decimal('0.01'))
    whole, cents = f'{gross:,.2f}'.split('.')
    assert f'$ {whole.replace(",", ".")},{cents} (IVA incluido)' in text
    assert (f'Stock en Casa Central: {units} u.' if units else 'Sin stock en Casa Central') in text
    assert hit.title in text and f'SKU {hit.sku}' in text and (hit.image_url or '') in text


async def test_a_partly_typed_code_finds_its_product(db: Database, catalog: list[CatalogProduct]) -> None:
    product, code = next(
        (p, c.code) for p in catalog for c in p.codes if c.kind == 'part' and len(normalize_code(c.code)) >= 9
    )
    typed = normalize_code(code)[:-2]  # the last characters not typed yet

    result = await search_products(db, query=typed.lower())

    assert product.sku in {hit.sku for hit in result.hits}
    assert all(hit.matched_code for hit in result.hits)
    assert all(normalize_code(hit.matched_code or '').startswith(typed) for hit in result.hits)


async def test_when_no_product_has_every_word_those_with_some_are_offered_as_partial(
    db: Database, catalog: list[CatalogProduct]
) -> None:
    assert not any('Bujía' in p.title and 'Amortiguador' in p.title for p in catalog)

    result = await search_products(db, query='bujia amortiguador', limit=50)

    assert result.partial
    assert result.hits
    assert all({'bujia', 'amortiguador'} & set(words(f'{hit.title} {hit.category} {hit.brand}')) for hit in result.hits)
    assert not (await search_products(db, query='bujia')).partial


async def test_a_search_answers_after_the_database_dropped_its_connections(
    db: Database, catalog: list[CatalogProduct]
) -> None:
    """A database restart (or an idle timeout) closes the pooled connections; the next search still answers."""
    before = await search_products(db, query='amortiguador')
    if db.dialect == 'postgresql':
        async with db.engine.connect() as connection:
            dropped = (
                await connection.execute(
                    text(
                        'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity '
                        'WHERE datname = current_database() AND pid <> pg_backend_pid()'
                    )
                )
            ).scalar_one()
        assert dropped >= 1  # the search's own connection was among them
    else:
        await db.engine.dispose()

    after = await search_products(db, query='amortiguador')

    assert [hit.sku for hit in after.hits] == [hit.sku for hit in before.hits]


async def test_an_import_by_another_process_is_searchable_once_the_vocabulary_is_checked_again(
    db: Database, catalog: list[CatalogProduct], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vocabulary is kept in memory (not read per search); another process's import changes its one-row
    fingerprint, which each process checks every INDEX_TTL_SECONDS."""
    await search_products(db, query='amortiguador')  # this process has loaded the vocabulary
    new = dataclasses.replace(catalog[0], sku='ZAF-0001', title='Zafiro pulidor de ópticas', codes=(), fitments=())
    other_process = Database.from_url(database_url)
    try:
        await import_products(other_process, [new])
    finally:
        await other_process.dispose()

    assert (await search_products(db, query='zafiro')).ignored == ['zafiro']  # not checked yet
    monkeypatch.setattr(search_module, 'INDEX_TTL_SECONDS', 0.0)
    found = await search_products(db, query='zafiro')

    assert [hit.sku for hit in found.hits] == ['ZAF-0001']
