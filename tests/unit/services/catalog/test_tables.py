"""A retailer's own catalog files (issue 21): read as a table, columns recognized by their titles, each row a
product or a rejected row with its reason. Files are written here in the shapes the retailer really has."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from services.catalog.tables import guess_mapping, parse_amount, products_from_table, read_table, title_code
from services.demo.catalog import generate_catalog, write_csv, write_json

ML_IMAGE = 'https://http2.mlstatic.com/D_NQ_NP_{n}-MLA{item}_042023-O.webp'
ML_BRANDS = ('Sachs', 'Luk', 'Valeo')
ML_MODELS = ('Gol Trend', 'Palio', 'Corsa', 'Fiesta', 'Clio', 'Focus', 'Onix', 'Etios', 'Sandero', 'Ka')


def mercadolibre_items(count: int) -> list[dict[str, str]]:
    """Items shaped like the seed's `c_embler_ml.json`: titulo, categoria, imagen_1 … imagen_10 (empty ones
    included, as the export writes them), no code, brand, price or stock."""
    items = []
    for index in range(count):
        maker, model = ML_BRANDS[index % len(ML_BRANDS)], ML_MODELS[index // len(ML_BRANDS) % len(ML_MODELS)]
        item = {'titulo': f'Kit Embrague {maker} {model} Ref {index:05d}', 'categoria': 'Embragues'}
        for n in range(1, 11):
            item[f'imagen_{n}'] = ML_IMAGE.format(n=n, item=1000 + index) if n <= 1 + index % 3 else ''
        items.append(item)
    return items


def test_a_mercadolibre_export_maps_by_its_spanish_titles_and_gets_codes_from_titles(tmp_path: Path) -> None:
    path = tmp_path / 'c_embler_ml.json'
    path.write_text(json.dumps(mercadolibre_items(4), ensure_ascii=False), encoding='utf-8')

    table = read_table(path)
    mapping = guess_mapping(table.headers, kind=table.kind)
    outcome = products_from_table(table, mapping)

    assert mapping['title'] == ['titulo'] and mapping['category'] == ['categoria']
    assert mapping['image_urls'] == [f'imagen_{n}' for n in range(1, 11)]  # imagen_10 last, not after imagen_1
    assert not outcome.rejected
    third = outcome.products[2]
    assert third.sku == title_code('Kit Embrague Valeo Gol Trend Ref 00002')
    assert third.price is None and third.brand == '' and third.category == 'Embragues'
    assert third.image_urls == tuple(ML_IMAGE.format(n=n, item=1002) for n in (1, 2, 3))


def test_a_title_code_ignores_case_and_spacing_but_not_words() -> None:
    assert title_code('Kit  Embrague SACHS ') == title_code('kit embrague sachs')
    assert title_code('Kit Embrague Sachs') != title_code('Kit Embrague Luk')
    assert len(title_code('x' * 200)) <= 40  # fits the SKU column


@pytest.mark.parametrize('encoding', ['cp1252', 'utf-8-sig'])
def test_a_spreadsheet_csv_with_excel_quirks_reads_right(encoding: str, tmp_path: Path) -> None:
    # Excel in Spanish: Windows-1252 (Latin-1), or UTF-8 with a byte order mark; `;` separators, decimal comma
    # with dot thousands, a line break inside a quoted cell, empty columns after the last titled one, a blank row.
    rows = [
        'Código;Título;Categoría;Marca;Descripción;Precio;IVA;;',
        'FRE-1;Pastilla de freno Ferodo;Frenos;Ferodo;"Juego x4.\nNo incluye sensor; consultar";1.234,56;10,5;;',
        'ACE-2;Aceite Elaión 5W30 4 L;Lubricantes;YPF;Sintético;$ 61.000;21;;',
        ';;;;;;;;',
        'LAM-3;Lámpara H7 Osram;Iluminación;Osram;;29669,42;;;',
    ]
    path = tmp_path / 'lista de precios.csv'
    path.write_bytes('\r\n'.join(rows).encode(encoding))

    table = read_table(path)
    outcome = products_from_table(table, guess_mapping(table.headers))

    assert (table.encoding, table.delimiter) == (encoding, ';')
    assert table.headers[0] == 'Código'  # no byte order mark stuck to the first title
    assert not outcome.rejected and outcome.skipped_empty == 1
    pads, oil, lamp = outcome.products
    assert (pads.sku, pads.title, pads.category) == ('FRE-1', 'Pastilla de freno Ferodo', 'Frenos')
    assert pads.price == Decimal('1234.56') and pads.iva_rate == Decimal('10.50')
    assert pads.description == 'Juego x4.\nNo incluye sensor; consultar'
    assert oil.price == Decimal('61000.00') and oil.iva_rate == Decimal('21.00')
    assert lamp.title == 'Lámpara H7 Osram' and lamp.category == 'Iluminación' and lamp.price == Decimal('29669.42')


def test_a_utf8_csv_with_bom_and_commas_reads_right(tmp_path: Path) -> None:
    path = tmp_path / 'catalogo.csv'
    path.write_text('\ufeffsku,title,price\r\nA-1,"Correa, distribución",1234.5\r\n', encoding='utf-8')

    table = read_table(path)
    (product,) = products_from_table(table, guess_mapping(table.headers)).products

    assert (table.encoding, table.delimiter) == ('utf-8-sig', ',')
    assert (product.sku, product.title, product.price) == ('A-1', 'Correa, distribución', Decimal('1234.50'))


def test_invalid_rows_are_rejected_with_line_and_reason_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / 'catalogo.csv'
    path.write_text(
        'codigo;titulo;precio;foto\n'
        'A-1;Filtro de aceite;100,00;https://img.example/a.jpg\n'
        'A-2;;200,00;\n'  # no title
        'A-3;Filtro de aire;doce mil;\n'  # not a price
        'A-1;Filtro repetido;100,00;\n'  # same code as line 2
        'A-4;Bujía;50;foto.jpg\n'  # not a URL
        'A-5;Correa;-3;\n'  # not a positive price
        'A-6;Cadena;10;;sobra\n',  # a cell after the last titled column
        encoding='utf-8',
    )

    table = read_table(path)
    outcome = products_from_table(table, guess_mapping(table.headers))

    assert [p.sku for p in outcome.products] == ['A-1']
    reasons = {row.position: (row.code, row.reason) for row in outcome.rejected}
    assert reasons['line 3'][0] == 'A-2' and 'title' in reasons['line 3'][1]
    assert 'price' in reasons['line 4'][1] and 'doce mil' in reasons['line 4'][1]
    assert reasons['line 5'] == ('A-1', 'the same code as line 2; only the first is imported')
    assert 'image_urls' in reasons['line 6'][1]
    assert 'price' in reasons['line 7'][1]
    assert 'more cell' in reasons['line 8'][1]


@pytest.mark.parametrize('fmt', ['json', 'csv'])
def test_our_own_format_maps_onto_itself_with_nothing_lost(fmt: str, tmp_path: Path) -> None:
    products = generate_catalog(40, branch_codes=('SUC1', 'SUC2'))
    path = tmp_path / f'catalog.{fmt}'
    if fmt == 'json':
        write_json(products, path)
    else:
        write_csv(products, path, branch_codes=('SUC1', 'SUC2'))

    table = read_table(path)
    outcome = products_from_table(table, guess_mapping(table.headers, kind=table.kind))

    assert not outcome.rejected
    assert outcome.products == products


@pytest.mark.parametrize(
    ('cell', 'expected'),
    [
        ('1.234,56', '1234.56'),
        ('1,234.56', '1234.56'),
        ('$ 61.000', '61000'),
        ('61.000,5', '61000.5'),
        ('10,5', '10.5'),
        ('45900.00', '45900.00'),
        ('1.234.567', '1234567'),
        ('ARS 99', '99'),
        ('doce', 'doce'),  # left for the validation to reject, with the cell's text
    ],
)
def test_amounts_are_read_the_way_a_spreadsheet_writes_them(cell: str, expected: str) -> None:
    assert parse_amount(cell) == expected


def test_a_file_that_is_not_a_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / 'catalogo.json'
    path.write_text('{"a": 1}', encoding='utf-8')
    with pytest.raises(ValueError, match='expected a JSON array'):
        read_table(path)
    other = tmp_path / 'catalogo.xlsx'
    other.write_bytes(b'PK')
    with pytest.raises(ValueError, match=r'\.json or \.csv'):
        read_table(other)


def test_a_tab_separated_text_file_and_a_wrapped_json_list_read_too(tmp_path: Path) -> None:
    tabs = tmp_path / 'planilla.txt'  # Excel's "Texto (delimitado por tabulaciones)"
    tabs.write_text('Código\tNombre\tPrecio\nB-1\tCorrea Poly-V, 6PK1070\t12.500,00\n', encoding='utf-8')
    wrapped = tmp_path / 'export.json'
    wrapped.write_text(json.dumps({'total': 1, 'products': [{'titulo': 'Bomba de agua', 'precio': 9900}]}))

    (belt,) = products_from_table(table := read_table(tabs), guess_mapping(table.headers)).products
    (pump,) = products_from_table(table := read_table(wrapped), guess_mapping(table.headers, kind='json')).products

    assert (belt.sku, belt.title, belt.price) == ('B-1', 'Correa Poly-V, 6PK1070', Decimal('12500.00'))
    assert (pump.title, pump.price) == ('Bomba de agua', Decimal('9900.00'))
