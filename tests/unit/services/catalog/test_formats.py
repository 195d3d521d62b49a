"""The catalog's file formats (S1): codes normalized for matching, JSON and CSV round trips, errors that name the field
and the line. The demo catalog serves as 10,000 realistic products to write and read back."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from services.catalog.formats import (
    CatalogCode,
    CatalogProduct,
    normalize_code,
    product_from_dict,
    product_to_dict,
    read_csv,
    read_json,
    write_csv,
    write_json,
)
from services.demo.catalog import generate_catalog

BRANCHES = ('SUC1', 'SUC2', 'SUC3')


@cache
def catalog() -> tuple[CatalogProduct, ...]:
    """The default 10,000-product demo catalog, generated once."""
    return tuple(generate_catalog())


@pytest.mark.parametrize(
    ('written', 'normalized'),
    [
        ('0 986 4B2 345', '09864B2345'),
        ('pd/580', 'PD580'),
        ('W 712/75', 'W71275'),
        ('4254.A7', '4254A7'),
        ('8a6g-6a666-aa', '8A6G6A666AA'),
        ('\u00a0HU 713/1 x ', 'HU7131X'),
        ('5U0698151A', '5U0698151A'),
    ],
)
def test_normalize_code(written: str, normalized: str) -> None:
    assert normalize_code(written) == normalized


def test_generated_codes_normalize_to_plain_letters_and_digits() -> None:
    for product in catalog()[:2000]:
        for code in product.codes:
            assert normalize_code(code.code).replace('+', '').isalnum(), code


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / 'catalog.json'
    write_json(catalog(), path)
    data = json.loads(path.read_text(encoding='utf-8'))
    assert isinstance(data, list) and len(data) == 10_000
    assert isinstance(data[0]['price'], str) and data[0]['price'].count('.') == 1
    assert 'ñ' in path.read_text(encoding='utf-8') or 'í' in path.read_text(encoding='utf-8')  # ensure_ascii=False
    assert read_json(path) == list(catalog())


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / 'catalog.csv'
    write_csv(catalog(), path, branch_codes=BRANCHES)
    header = path.read_text(encoding='utf-8').splitlines()[0]
    assert header == (
        'sku,title,category,brand,description,price,iva_rate,codes,fitments,image_urls,stock_SUC1,stock_SUC2,stock_SUC3'
    )
    assert read_csv(path) == list(catalog())


def test_csv_round_trip_of_edge_cases(tmp_path: Path) -> None:
    product = CatalogProduct(
        sku='X-1',
        title='Lámpara "H7", 12V; 55W | repuesto',
        category='Iluminación',
        brand='Philips',
        description='Línea 1\nLínea 2, con coma',
        price=Decimal('9.50'),
        iva_rate=Decimal('10.50'),
        codes=(CatalogCode('12972PRC1', 'part'),),
        fitments=(),
        image_urls=(),
        stock={'SUC2': 4},
    )
    universal = dataclasses.replace(product, sku='X-2', codes=(), stock={})
    path = tmp_path / 'edge.csv'
    write_csv([product, universal], path, branch_codes=BRANCHES)
    assert read_csv(path) == [product, universal]
    # Excel saves UTF-8 with a byte order mark; the reader must not choke on it.
    bom = tmp_path / 'bom.csv'
    bom.write_bytes(b'\xef\xbb\xbf' + path.read_bytes())
    assert read_csv(bom) == [product, universal]


def test_write_csv_refuses_stock_of_unlisted_branch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='SUC3'):
        write_csv(catalog()[:1], tmp_path / 'x.csv', branch_codes=('SUC1', 'SUC2'))


def test_product_dict_round_trip() -> None:
    for product in catalog()[:500]:
        assert product_from_dict(product_to_dict(product)) == product


@pytest.mark.parametrize('bad_price', ['abc', '-1.00', '0', '12.345', 'NaN', None, True, [1]])
def test_product_from_dict_rejects_bad_price_naming_the_field(bad_price: object) -> None:
    data = product_to_dict(catalog()[0])
    data['price'] = bad_price
    with pytest.raises(ValueError, match=r'price') as error:
        product_from_dict(data)
    assert catalog()[0].sku in str(error.value)


def test_product_from_dict_accepts_numbers_as_json_gives_them() -> None:
    data = product_to_dict(catalog()[0])
    data['price'] = 12345.6
    assert product_from_dict(data).price == Decimal('12345.60')


@pytest.mark.parametrize(
    ('field', 'value', 'message'),
    [
        ('sku', '', 'sku'),
        ('title', None, 'title'),
        ('codes', [{'kind': 'ean', 'code': '7791234567890'}], r'codes\[0\]\.code'),
        ('codes', [{'kind': 'sku', 'code': 'X'}], r'codes\[0\]\.kind'),
        ('fitments', [{'make': 'Fiat', 'model': 'Palio', 'year_from': 2010, 'year_to': 2004}], r'fitments\[0\]'),
        ('image_urls', ['ftp://x/y.jpg'], r'image_urls\[0\]'),
        ('image_urls', [f'https://x/{i}.jpg' for i in range(11)], 'image_urls'),
        ('stock', {'SUC1': -1}, 'stock.SUC1'),
    ],
)
def test_product_from_dict_names_other_bad_fields(field: str, value: object, message: str) -> None:
    data = product_to_dict(catalog()[0])
    data[field] = value
    with pytest.raises(ValueError, match=message):
        product_from_dict(data)


def test_read_csv_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / 'bad.csv'
    write_csv(catalog()[:3], path, branch_codes=BRANCHES)
    lines = path.read_text(encoding='utf-8').splitlines()
    lines[2] = lines[2].replace(',21.00,', ',veintiuno,', 1)
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    with pytest.raises(ValueError, match=r'line 3: .*iva_rate'):
        read_csv(path)
