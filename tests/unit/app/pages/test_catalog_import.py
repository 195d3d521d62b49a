"""The admin's catalog import on /catalog (issue 21) in NiceGUI's simulated browser: upload a MercadoLibre export,
see its first rows and the recognized columns, import with progress, read the rejected rows, then find the
products (no price yet, photo thumbnail); a spreadsheet whose title column is not recognized is mapped by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import cast

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from sqlalchemy import func
from sqlmodel import select

from services.database import Database
from services.models import Product
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.catalog.test_tables import mercadolibre_items


def text_of(user: User, marker: str) -> str:
    return ' '.join(cast(TextElement, element).text for element in user.find(marker=marker).elements)


async def upload(user: User, name: str, data: bytes) -> None:
    element = cast(ui.upload, user.find(marker='catalog-import').elements.pop())
    await element.handle_uploads([SmallFileUpload(name=name, content_type='application/octet-stream', _data=data)])


async def products(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Product))).one()


async def test_an_admin_imports_a_mercadolibre_export_and_finds_its_products(
    user: User, world: World, db: Database
) -> None:
    items = [*mercadolibre_items(25), {'titulo': '', 'categoria': 'Frenos', 'imagen_1': 'no es una url'}]
    await sign_in(user, 'jorge', world.password)
    await user.open('/catalog')

    await upload(user, 'c_embler_ml.json', json.dumps(items, ensure_ascii=False).encode('utf-8'))

    await user.should_see(marker='catalog-import-preview')
    assert 'c_embler_ml.json: JSON, 26 filas' in text_of(user, 'catalog-import-file')
    title = cast(ui.select, user.find(marker='catalog-import-map-title').elements.pop())
    images = cast(ui.select, user.find(marker='catalog-import-map-image_urls').elements.pop())
    sku = cast(ui.select, user.find(marker='catalog-import-map-sku').elements.pop())
    assert (title.value, sku.value) == ('titulo', '')
    assert images.value == [f'imagen_{n}' for n in range(1, 11)]

    user.find(marker='catalog-import-start').click()

    async def imported() -> bool:
        return 'productos importados' in text_of(user, 'catalog-import-status')

    await eventually(imported)
    assert '25 productos importados' in text_of(user, 'catalog-import-status')
    assert (await products(db)) == 25
    assert '25 sin precio' in text_of(user, 'catalog-import-unpriced')
    assert '1 filas rechazadas' in text_of(user, 'catalog-import-rejected-count')
    rejected = cast(ui.table, user.find(marker='catalog-import-rejected').elements.pop())
    assert rejected.rows == [{'position': 'item 25', 'code': '', 'reason': 'title: must not be empty'}]
    bar = cast(ui.linear_progress, user.find(marker='catalog-import-progress').elements.pop())
    assert bar.value == 1

    user.find(marker='catalog-query').type('embrague valeo palio')
    await user.should_see('Kit Embrague Valeo Palio Ref 00005')
    assert 'Sin precio' in text_of(user, 'catalog-price')
    assert user.find(marker='catalog-image').elements


async def test_a_column_the_page_does_not_recognize_is_mapped_by_hand(user: User, world: World, db: Database) -> None:
    data = 'Artículo;Nombre comercial;Precio\r\nA-1;Filtro de aceite Mann W 712/75;1.234,56\r\n'.encode('cp1252')
    await sign_in(user, 'jorge', world.password)
    await user.open('/catalog')

    await upload(user, 'lista.csv', data)
    await user.should_see(marker='catalog-import-preview')
    assert 'separador «;»' in text_of(user, 'catalog-import-file') and 'cp1252' in text_of(user, 'catalog-import-file')
    title = cast(ui.select, user.find(marker='catalog-import-map-title').elements.pop())
    assert title.value == ''
    title.value = 'Nombre comercial'
    user.find(marker='catalog-import-start').click()

    async def imported() -> bool:
        return (await products(db)) == 1

    await eventually(imported)
    async with db.session() as session:
        product = (await session.exec(select(Product))).one()
    assert (product.sku, product.title, product.price) == ('A-1', 'Filtro de aceite Mann W 712/75', Decimal('1234.56'))


async def test_a_file_that_is_not_a_catalog_says_why(user: User, world: World) -> None:
    await sign_in(user, 'jorge', world.password)
    await user.open('/catalog')

    await upload(user, 'catalogo.xlsx', b'PK\x03\x04')

    await user.should_see('No se importó nada: catalogo.xlsx: unknown catalog format .xlsx')
    await user.should_not_see(marker='catalog-import-start')
