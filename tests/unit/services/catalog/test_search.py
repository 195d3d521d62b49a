"""Catalog search (S1): typos, accents, codes first, vehicle compatibility, branch stock and its visibility."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from services.access import Viewer
from services.catalog import Vehicle, product_message, search_products
from services.database import Database
from services.demo.catalog import CatalogProduct
from services.models import Product, ProductFitment, ProductStock, Role
from tests.conftest import World


def agent_of(world: World) -> Viewer:
    return Viewer(user_id=world.ana.id, username='ana', full_name='Ana Gómez', role=Role.AGENT,
                  branch_id=world.central.id, branch_ids=frozenset({world.central.id or 0}))


async def fitments_of(db: Database, product_ids: list[int]) -> dict[int, list[tuple[str, str, int, int]]]:
    async with db.session() as session:
        rows = (await session.exec(select(ProductFitment.product_id, ProductFitment.make, ProductFitment.model,
                                          ProductFitment.year_from, ProductFitment.year_to)
                                   .where(col(ProductFitment.product_id).in_(product_ids)))).all()
    out: dict[int, list[tuple[str, str, int, int]]] = {}
    for product_id, *fitment in rows:
        out.setdefault(product_id, []).append(tuple(fitment))  # type: ignore[arg-type]
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
        db: Database, catalog: list[CatalogProduct]) -> None:
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

    assert {hit.sku for hit in result.hits[:len(carriers)]} == carriers


async def test_the_vehicle_in_the_query_filters_by_compatibility(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='pastillas de freno gol trend 2015', limit=30)

    assert result.vehicle == Vehicle(make='Volkswagen', model='Gol Trend', year=2015)
    assert result.hits
    fitments = await fitments_of(db, [hit.id for hit in result.hits])
    for hit in result.hits:
        assert hit.title.startswith('Pastillas de freno')
        assert any(make == 'Volkswagen' and model == 'Gol Trend' and start <= 2015 <= end
                   for make, model, start, end in fitments.get(hit.id, [])), hit.title


async def test_a_bare_model_also_means_its_longer_versions(db: Database, catalog: list[CatalogProduct]) -> None:
    """Customers say "un Gol 2015" for a Gol Trend: the Gol was not sold in 2015, the Gol Trend was."""
    result = await search_products(db, query='pastillas', vehicle=Vehicle(make='Volkswagen', model='Gol', year=2015),
                                   limit=30)

    fitments = await fitments_of(db, [hit.id for hit in result.hits])
    assert result.hits
    assert all(any(model in {'Gol', 'Gol Trend'} and start <= 2015 <= end for _, model, start, end in fitments[h.id])
               for h in result.hits)


async def test_universal_products_pass_the_vehicle_filter(db: Database, catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='lampara h7', vehicle=Vehicle(make='Fiat', model='Palio', year=2010))

    assert result.hits and all('H7' in hit.title for hit in result.hits)


async def test_in_stock_only_keeps_products_the_branch_has(db: Database, world: World,
                                                         catalog: list[CatalogProduct]) -> None:
    result = await search_products(db, query='filtro aceite', branch_id=world.central.id, in_stock_only=True,
                                   limit=50)

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
        db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    hit = (await search_products(db, query='kit distribucion', branch_id=world.central.id)).hits[0]
    async with db.session() as session:
        net = (await session.exec(select(Product.price).where(Product.sku == hit.sku))).one()
        units = (await session.exec(select(ProductStock.quantity).where(
            ProductStock.product_id == hit.id, ProductStock.branch_id == world.central.id))).one()

    text = product_message(hit, branch_name='Casa Central')

    gross = (net * Decimal('1.21')).quantize(Decimal('0.01'))
    whole, cents = f'{gross:,.2f}'.split('.')
    assert f'$ {whole.replace(",", ".")},{cents} (IVA incluido)' in text
    assert (f'Stock en Casa Central: {units} u.' if units else 'Sin stock en Casa Central') in text
    assert hit.title in text and f'SKU {hit.sku}' in text and (hit.image_url or '') in text
