"""Part codes (V2) in texts and OCR lines, matched exactly against the catalog."""

from __future__ import annotations

from decimal import Decimal

from services.database import Database
from services.models import Product, ProductCode
from services.vin.part_codes import code_candidates, match_part_codes


async def catalog(db: Database) -> dict[str, int]:
    async with db.session() as session:
        oil_pump = Product(
            sku='P-1', title='Bomba de aceite Mahle OP 024', category='Motor', brand='Mahle', price=Decimal('45000.00')
        )
        pads = Product(
            sku='P-2', title='Pastillas de freno Bosch', category='Frenos', brand='Bosch', price=Decimal('32000.50')
        )
        retired = Product(
            sku='P-3',
            title='Filtro discontinuado',
            category='Filtros',
            brand='Fram',
            price=Decimal('1000.00'),
            active=False,
        )
        session.add_all([oil_pump, pads, retired])
        await session.flush()
        session.add_all(
            [
                ProductCode(product_id=oil_pump.id or 0, code='OP024', display_code='OP 024', kind='part'),
                ProductCode(product_id=oil_pump.id or 0, code='24613779', display_code='24613779', kind='oem'),
                ProductCode(product_id=pads.id or 0, code='09864B2345', display_code='0 986 4B2 345', kind='part'),
                ProductCode(product_id=retired.id or 0, code='PH5949', display_code='PH 5949', kind='part'),
            ]
        )
        await session.commit()
        return {'oil_pump': oil_pump.id or 0, 'pads': pads.id or 0}


async def test_codes_in_any_spelling_find_their_products_in_order(db: Database) -> None:
    ids = await catalog(db)

    found = await match_part_codes(db, texts=['Hola, necesito 0 986 4B2 345 y la bomba op-024 para el Cruze'])

    assert [(match.product_id, match.code) for match in found] == [
        (ids['pads'], '09864B2345'),
        (ids['oil_pump'], 'OP024'),
    ]
    assert found[1].price == Decimal('45000.00')


async def test_ocr_lines_of_a_photo_are_searched_too_and_one_product_is_offered_once(db: Database) -> None:
    ids = await catalog(db)

    found = await match_part_codes(db, texts=['MAHLE', 'OP 024', 'OEM 24613779'])

    assert [match.product_id for match in found] == [ids['oil_pump']]


async def test_no_fuzzy_matches_and_inactive_products_are_not_offered(db: Database) -> None:
    await catalog(db)

    assert await match_part_codes(db, texts=['OP 025', 'PH 5949', '1480 kg 2014']) == []


def test_quantities_and_years_are_no_part_codes() -> None:
    candidates = code_candidates(['PESO 1480 kg 11/2014', 'pedido de 4 unidades'])

    assert not {'1480', '2014', '11', '4'} & set(candidates)
    assert 'OP024' in code_candidates(['filtro OP 024.'])
