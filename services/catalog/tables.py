"""A retailer's own catalog files (S1, issue 21): any JSON array of objects or CSV table, read into rows, its
columns mapped onto the catalog's fields, and each row turned into a product or a rejected row with its reason.

Three shapes are covered by the same path (docs/catalog-format.md, "Other files"):
- our own format (docs/catalog-format.md), whose columns map onto themselves;
- a CSV saved by a spreadsheet: a byte order mark, `;` or tab separators, Windows-1252 (Latin-1) text, prices
  like `1.234,56`, line breaks inside quoted cells, trailing empty columns and rows;
- the MercadoLibre export (`titulo`, `categoria`, `imagen_1` … `imagen_10`): no code, brand, price nor stock.
A product without a code column gets one derived from its title (`title_code`), so importing the same file again
updates the same products instead of duplicating them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .formats import MAX_IMAGE_URLS, CatalogProduct, product_from_dict

__all__ = [
    'FIELDS',
    'CatalogTable',
    'ColumnMapping',
    'RejectedRow',
    'TableProducts',
    'guess_mapping',
    'normalize_header',
    'parse_amount',
    'products_from_table',
    'read_table',
    'title_code',
]

# The fields a column can be mapped onto, in the order the admin page lists them. `image_urls` takes any number of
# columns (imagen_1 … imagen_10); `stock_<BRANCH>` columns map onto themselves.
FIELDS = ('sku', 'title', 'category', 'brand', 'description', 'price', 'iva_rate', 'codes', 'fitments', 'image_urls')
MULTI_COLUMN_FIELDS = frozenset({'image_urls'})
STOCK_PREFIX = 'stock_'
TITLE_CODE_PREFIX = 'T-'

# Header names (normalized: lower case, no accents, `_` for anything else) each field is recognized by, best first.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    'sku': ('sku', 'codigo', 'cod', 'code', 'codigo_articulo', 'cod_articulo', 'articulo', 'item_id', 'id'),
    'title': ('title', 'titulo', 'nombre', 'producto', 'name', 'descripcion_corta'),
    'category': ('category', 'categoria', 'rubro', 'familia'),
    'brand': ('brand', 'marca', 'fabricante'),
    'description': ('description', 'descripcion', 'detalle', 'descripcion_larga'),
    'price': ('price', 'precio', 'precio_neto', 'precio_sin_iva', 'precio_unitario', 'importe'),
    'iva_rate': ('iva_rate', 'iva', 'alicuota', 'alicuota_iva', 'tasa_iva'),
    'codes': ('codes', 'codigos'),
    'fitments': ('fitments', 'aplicaciones', 'compatibilidad'),
}
_IMAGE_HEADER = re.compile(r'^(image_urls|imagenes|images|fotos|(imagen|image|foto|picture|url_imagen)(_?\d+)?)$')

ColumnMapping = dict[str, list[str]]  # field -> the file's column(s) read for it


@dataclass(frozen=True)
class CatalogTable:
    """A file read as rows of raw cells, before any mapping: what the admin page previews."""

    name: str
    kind: str  # 'json' | 'csv'
    headers: tuple[str, ...]
    rows: list[tuple[str, dict[str, Any]]]  # (position as a person finds it: 'line 14' / 'item 3', cells)
    encoding: str = 'utf-8'
    delimiter: str = ''


@dataclass(frozen=True)
class RejectedRow:
    position: str  # 'line 14' (CSV: the line where the row ends) or 'item 3' (JSON, from 0)
    code: str  # the product's code when it could be read, else ''
    reason: str


@dataclass(frozen=True)
class TableProducts:
    products: list[CatalogProduct]
    rejected: list[RejectedRow] = field(default_factory=list)
    skipped_empty: int = 0


# ---------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------


def read_table(path: Path, *, name: str | None = None) -> CatalogTable:
    """Read a .json or .csv file into rows; ValueError (naming the file) when it cannot be read as a table at all."""
    path = Path(path)
    name = name or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in {'.json', '.csv', '.txt'}:
        raise ValueError(f'{name}: unknown catalog format {suffix or "(no extension)"}; use .json or .csv')
    data = path.read_bytes()
    text, encoding = decode(data)
    if suffix == '.json':
        return _json_table(text, name, encoding)
    return _csv_table(text, name, encoding)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without Excel's byte order mark), else Windows-1252: what Excel in Spanish saves as "CSV"
    (a superset of Latin-1 for every printable character), else Latin-1, which decodes any byte."""
    for encoding in ('utf-8-sig', 'cp1252', 'latin-1'):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError('latin-1 decodes any byte')  # pragma: no cover


def _json_table(text: str, name: str, encoding: str) -> CatalogTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{name}: not valid JSON: {exc}') from None
    if isinstance(data, Mapping):
        # Some exports wrap the list: {"products": [...]} / {"items": [...]}; take the only list of objects.
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) == 1:
            data = lists[0]
    if not isinstance(data, list):
        raise ValueError(f'{name}: expected a JSON array of products, got {type(data).__name__}')
    headers: dict[str, None] = {}
    rows: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ValueError(f'{name}: item {index}: expected an object, got {type(item).__name__}')
        headers.update(dict.fromkeys(str(key) for key in item))
        rows.append((f'item {index}', {str(key): value for key, value in item.items()}))
    return CatalogTable(name=name, kind='json', headers=tuple(headers), rows=rows, encoding=encoding)


def sniff_delimiter(text: str) -> str:
    """The separator of the header line: `;` from Excel in Spanish (the comma is the decimal mark there), tab from
    a copy-paste, else the comma. Counted outside quotes, on the first line only (cells may hold any of them)."""
    header = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in '\r\n' and not quoted:
            break
        elif not quoted:
            header.append(char)
    counts = {delimiter: header.count(delimiter) for delimiter in (';', '\t', ',')}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ','


def _csv_table(text: str, name: str, encoding: str) -> CatalogTable:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    try:
        raw_header = next(reader)
    except StopIteration:
        raise ValueError(f'{name}: the file is empty') from None
    except csv.Error as exc:
        raise ValueError(f'{name}: line 1: {exc}') from None
    # Trailing empty header cells: the columns a spreadsheet leaves after the last one that has a title.
    while raw_header and not raw_header[-1].strip():
        raw_header.pop()
    headers = [cell.strip() for cell in raw_header]
    if not headers:
        raise ValueError(f'{name}: the first line must hold the column titles')
    blank = [str(i + 1) for i, header in enumerate(headers) if not header]
    if blank:
        raise ValueError(f'{name}: line 1: column(s) {", ".join(blank)} have no title')
    repeated = sorted({h for h in headers if headers.count(h) > 1})
    if repeated:
        raise ValueError(f'{name}: line 1: column title(s) repeated: {", ".join(repeated)}')
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        for cells in reader:
            position = f'line {reader.line_num}'
            extra = cells[len(headers) :]
            row: dict[str, Any] = dict(zip(headers, cells, strict=False))
            if any(cell.strip() for cell in extra):
                row[_EXTRA_CELLS] = len(extra)
            rows.append((position, row))
    except csv.Error as exc:
        raise ValueError(f'{name}: line {reader.line_num}: {exc}') from None
    return CatalogTable(
        name=name, kind='csv', headers=tuple(headers), rows=rows, encoding=encoding, delimiter=delimiter
    )


_EXTRA_CELLS = '\x00extra'  # a key no header can have: the row held cells beyond the last titled column


# ---------------------------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------------------------


def normalize_header(header: str) -> str:
    """'Título ' -> 'titulo', 'Precio Neto ($)' -> 'precio_neto', 'imagen 1' -> 'imagen_1'."""
    plain = unicodedata.normalize('NFKD', header).encode('ascii', 'ignore').decode('ascii')
    return re.sub(r'[^a-z0-9]+', '_', plain.casefold()).strip('_')


def guess_mapping(headers: Sequence[str], *, kind: str = 'csv') -> ColumnMapping:
    """Each field onto the first column whose title is one of its names; a column is used once. The admin page
    shows this mapping for the person to correct before importing. In JSON, our format's `stock` object (branch
    code -> units) maps too; in a CSV stock comes as one `stock_<BRANCH>` column per branch."""
    normalized = {header: normalize_header(header) for header in headers}
    used: set[str] = set()
    mapping: ColumnMapping = {}
    for field_name, names in _SYNONYMS.items():
        for name in names:
            column = next((h for h in headers if normalized[h] == name and h not in used), None)
            if column is not None:
                mapping[field_name] = [column]
                used.add(column)
                break
    images = [h for h in headers if h not in used and _IMAGE_HEADER.match(normalized[h])]
    if images:
        mapping['image_urls'] = sorted(images, key=_natural_key)
        used.update(images)
    if kind == 'json' and 'stock' in headers:
        mapping['stock'] = ['stock']
    for header in headers:
        if header.startswith(STOCK_PREFIX) and len(header) > len(STOCK_PREFIX) and header not in used:
            mapping[header] = [header]
    return mapping


def _natural_key(header: str) -> tuple[str, int]:
    """imagen_2 before imagen_10."""
    match = re.search(r'(\d+)$', header)
    return (header[: match.start()] if match else header, int(match.group(1)) if match else -1)


def check_mapping(mapping: Mapping[str, Sequence[str]], headers: Sequence[str]) -> ColumnMapping:
    """The mapping cleaned of empty choices; ValueError when it cannot import anything sensible."""
    known = set(headers)
    clean: ColumnMapping = {}
    for field_name, columns in mapping.items():
        if field_name not in FIELDS and field_name != 'stock' and not field_name.startswith(STOCK_PREFIX):
            raise ValueError(f'unknown field {field_name!r}')
        chosen = [column for column in columns if column]
        missing = [column for column in chosen if column not in known]
        if missing:
            raise ValueError(f'{field_name}: no column {", ".join(missing)} in the file')
        if len(chosen) > 1 and field_name not in MULTI_COLUMN_FIELDS:
            raise ValueError(f'{field_name}: takes one column, got {len(chosen)}')
        if chosen:
            clean[field_name] = chosen
    if 'title' not in clean:
        raise ValueError('no column chosen for the title (titulo/title): a product needs one')
    return clean


# ---------------------------------------------------------------------------------------------------------------
# Rows -> products
# ---------------------------------------------------------------------------------------------------------------


def title_code(title: str) -> str:
    """The code of a product whose file has no code column (a MercadoLibre export): a stable hash of its title,
    compared without case, accents' composition or repeated spaces, so a re-import finds the same product."""
    canonical = ' '.join(unicodedata.normalize('NFC', title).casefold().split())
    return TITLE_CODE_PREFIX + hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:12].upper()


_AMOUNT_NOISE = re.compile(r'[\s\u00a0$]|ARS', re.IGNORECASE)


def parse_amount(value: Any) -> Any:
    """A spreadsheet's number as a plain decimal text: '1.234,56' -> '1234.56', '$ 61.000' -> '61000',
    '10,5' -> '10.5', '1,234.56' -> '1234.56'. The last of `.`/`,` is the decimal mark when both appear; a lone
    `,` is a decimal comma; dots alone are thousands when more than one or followed by exactly three digits (a
    price has at most two decimals, so that reading is the only valid one). Anything else is returned as is, for
    the validation to reject with the cell's own text."""
    if not isinstance(value, str):
        return value
    text = _AMOUNT_NOISE.sub('', value)
    if not text:
        return ''
    if '.' in text and ',' in text:
        thousands, decimal = ('.', ',') if text.rfind(',') > text.rfind('.') else (',', '.')
        text = text.replace(thousands, '').replace(decimal, '.')
    elif ',' in text:
        text = text.replace(',', '.') if text.count(',') == 1 else text
    elif text.count('.') > 1 or re.fullmatch(r'-?\d{1,3}\.\d{3}', text):
        text = text.replace('.', '')
    return text if re.fullmatch(r'-?\d+(\.\d+)?', text) else value


def _cell(row: Mapping[str, Any], mapping: ColumnMapping, field_name: str) -> Any:
    columns = mapping.get(field_name)
    if not columns:
        return None
    value = row.get(columns[0])
    return value.strip() if isinstance(value, str) else value


def _split(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part.strip() for part in value.split('|') if part.strip()]
    return [value]


def _codes(value: Any) -> list[Any]:
    if not isinstance(value, str):
        return _split(value)
    codes = []
    for i, item in enumerate(_split(value)):
        kind, separator, code = item.partition(':')
        if not separator:
            raise ValueError(f'codes[{i}]: expected kind:CODE (e.g. part:FDB1234), got {item!r}')
        codes.append({'kind': kind.strip().lower(), 'code': code.strip()})
    return codes


def _fitments(value: Any) -> list[Any]:
    if not isinstance(value, str):
        return _split(value)
    fitments = []
    for i, item in enumerate(_split(value)):
        parts = [part.strip() for part in item.split(';')]
        if len(parts) != 5:
            raise ValueError(f'fitments[{i}]: expected make;model;year_from;year_to;engine, got {item!r}')
        make, model, year_from, year_to, engine = parts
        fitments.append({'make': make, 'model': model, 'year_from': year_from, 'year_to': year_to, 'engine': engine})
    return fitments


def _text_cell(value: Any) -> Any:
    """JSON numbers in text fields (a numeric code, a category id) read as their text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


def row_to_dict(row: Mapping[str, Any], mapping: ColumnMapping) -> dict[str, Any]:
    """One raw row as the product dict of docs/catalog-format.md (validated afterwards by `product_from_dict`)."""
    if row.get(_EXTRA_CELLS):
        raise ValueError(f'{row[_EXTRA_CELLS]} more cell(s) than column titles')
    title = _text_cell(_cell(row, mapping, 'title'))
    sku = _text_cell(_cell(row, mapping, 'sku'))
    if 'sku' not in mapping:
        if not isinstance(title, str) or not title.strip():
            raise ValueError('title: must not be empty')
        sku = title_code(title)
    images: list[Any] = []
    for column in mapping.get('image_urls', []):
        images.extend(_split(row.get(column)))
    if len(images) > MAX_IMAGE_URLS:
        raise ValueError(f'image_urls: at most {MAX_IMAGE_URLS} allowed, got {len(images)}')
    stock: dict[str, Any] = {}
    units_by_branch = _cell(row, mapping, 'stock')
    if units_by_branch not in (None, ''):
        if not isinstance(units_by_branch, Mapping):
            raise ValueError(f'stock: must be an object of branch code -> units, got {units_by_branch!r}')
        stock.update(units_by_branch)
    for field_name, columns in mapping.items():
        if field_name.startswith(STOCK_PREFIX):
            units = row.get(columns[0])
            if units not in (None, ''):
                stock[field_name[len(STOCK_PREFIX) :]] = units.strip() if isinstance(units, str) else units
    data: dict[str, Any] = {
        'sku': sku,
        'title': title,
        'category': _text_cell(_cell(row, mapping, 'category')) or '',
        'brand': _text_cell(_cell(row, mapping, 'brand')) or '',
        'description': _text_cell(_cell(row, mapping, 'description')) or '',
        'price': parse_amount(_cell(row, mapping, 'price')),
        'codes': _codes(_cell(row, mapping, 'codes')),
        'fitments': _fitments(_cell(row, mapping, 'fitments')),
        'image_urls': images,
        'stock': stock,
    }
    iva = parse_amount(_cell(row, mapping, 'iva_rate'))
    if iva not in (None, ''):
        data['iva_rate'] = iva
    return data


def _is_empty(row: Mapping[str, Any]) -> bool:
    return all(value in (None, '') or (isinstance(value, str) and not value.strip()) for value in row.values())


def products_from_table(table: CatalogTable, mapping: Mapping[str, Sequence[str]]) -> TableProducts:
    """Every row as a product, or as a rejected row with its position and reason; empty rows are skipped. A code
    seen on an earlier row rejects the later one (the same title, for title-derived codes)."""
    clean = check_mapping(mapping, table.headers)
    products: list[CatalogProduct] = []
    rejected: list[RejectedRow] = []
    first_seen: dict[str, str] = {}
    skipped = 0
    for position, row in table.rows:
        if _is_empty(row):
            skipped += 1
            continue
        code = ''
        try:
            data = row_to_dict(row, clean)
            code = data['sku'] if isinstance(data['sku'], str) else ''
            product = product_from_dict(data, complete=False)
        except ValueError as exc:
            reason = str(exc)
            prefix = f'product {code!r}: '
            rejected.append(RejectedRow(position, code, reason.removeprefix(prefix)))
            continue
        earlier = first_seen.get(product.sku)
        if earlier is not None:
            what = 'the same title as' if 'sku' not in clean else 'the same code as'
            rejected.append(RejectedRow(position, product.sku, f'{what} {earlier}; only the first is imported'))
            continue
        first_seen[product.sku] = position
        products.append(product)
    return TableProducts(products=products, rejected=rejected, skipped_empty=skipped)
