"""The catalog's file formats (S1): the product record, code normalization, and the JSON/CSV readers and writers.

Documented in docs/catalog-format.md. `leadmaster catalog import FILE` and the importer read these formats; the
demo generator (`services/demo/catalog.py`) writes them. Money is a string with two decimals in JSON ("12345.00")
so no float ever touches a price.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    'CODE_KINDS',
    'CSV_COLUMNS',
    'MAX_IMAGE_URLS',
    'CatalogCode',
    'CatalogFitment',
    'CatalogProduct',
    'ean13_check_digit',
    'money_text',
    'normalize_code',
    'product_from_dict',
    'product_to_dict',
    'read_csv',
    'read_json',
    'write_csv',
    'write_json',
]

_CENT = Decimal('0.01')
_MAX_AMOUNT = Decimal('1e15')  # far above any price, and small enough for exact 2-decimal arithmetic

CODE_KINDS = ('oem', 'part', 'ean')
CSV_COLUMNS = (
    'sku',
    'title',
    'category',
    'brand',
    'description',
    'price',
    'iva_rate',
    'codes',
    'fitments',
    'image_urls',
)
MAX_IMAGE_URLS = 10


@dataclass(frozen=True, slots=True)
class CatalogCode:
    code: str  # as printed by the maker (may hold spaces, dashes, dots); see normalize_code for matching
    kind: str  # 'oem' | 'part' | 'ean'


@dataclass(frozen=True, slots=True)
class CatalogFitment:
    make: str
    model: str
    year_from: int
    year_to: int
    engine: str  # '' when the part fits every engine of the model (brakes, suspension, body)


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    sku: str
    title: str
    category: str
    brand: str
    description: str
    price: Decimal | None  # ARS, IVA excluded, 2 decimals; None: not priced yet (searchable, not quotable)
    iva_rate: Decimal
    codes: tuple[CatalogCode, ...]
    fitments: tuple[CatalogFitment, ...]
    image_urls: tuple[str, ...]
    # hash=False keeps products hashable (usable in sets) although a dict never is.
    stock: dict[str, int] = field(hash=False)


# ---------------------------------------------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------------------------------------------

# Unicode dashes and the no-break space show up when codes are pasted from PDFs and web catalogs.
_CODE_NOISE = str.maketrans('', '', ' \t\r\n\u00a0-\u2010\u2011\u2012\u2013\u2014\u2015./')


def normalize_code(code: str) -> str:
    """Canonical form for exact code matching: '0 986 4B2 345' -> '09864B2345', 'pd/580' -> 'PD580'."""
    return code.translate(_CODE_NOISE).upper()


def ean13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isascii() and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


# ---------------------------------------------------------------------------------------------------------------
# Dict / JSON
# ---------------------------------------------------------------------------------------------------------------


def money_text(value: Decimal) -> str:
    return format(value.quantize(_CENT, rounding=ROUND_HALF_UP), 'f')


def product_to_dict(product: CatalogProduct) -> dict[str, Any]:
    """JSON-ready dict; money as strings ("12345.00") so no float ever touches a price."""
    return {
        'sku': product.sku,
        'title': product.title,
        'category': product.category,
        'brand': product.brand,
        'description': product.description,
        'price': money_text(product.price) if product.price is not None else None,
        'iva_rate': money_text(product.iva_rate),
        'codes': [{'kind': c.kind, 'code': c.code} for c in product.codes],
        'fitments': [
            {'make': f.make, 'model': f.model, 'year_from': f.year_from, 'year_to': f.year_to, 'engine': f.engine}
            for f in product.fitments
        ],
        'image_urls': list(product.image_urls),
        'stock': dict(product.stock),
    }


def _text(value: Any, name: str, *, max_length: int, required: bool = True) -> str:
    if value is None and not required:
        return ''
    if not isinstance(value, str):
        raise ValueError(f'{name}: must be a string, got {value!r}')
    text = value.strip()
    if required and not text:
        raise ValueError(f'{name}: must not be empty')
    if len(text) > max_length:
        raise ValueError(f'{name}: longer than {max_length} characters')
    return text


def _decimal(value: Any, name: str, *, minimum: Decimal, maximum: Decimal | None, exclusive_minimum: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f'{name}: must be a decimal number, got {value!r}')
    try:
        # str() first: a float parsed from JSON (12345.6) must not turn into 12345.59999...
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f'{name}: must be a decimal number like "12345.00", got {value!r}') from None
    if not number.is_finite():
        raise ValueError(f'{name}: must be a finite number, got {value!r}')
    if abs(number) >= _MAX_AMOUNT:
        raise ValueError(f'{name}: too large, got {value!r}')
    if number != number.quantize(_CENT):
        raise ValueError(f'{name}: at most 2 decimal places allowed, got {value!r}')
    if number < minimum or (exclusive_minimum and number == minimum) or (maximum is not None and number > maximum):
        bound = f'greater than {minimum}' if exclusive_minimum else f'at least {minimum}'
        if maximum is not None:
            bound += f' and at most {maximum}'
        raise ValueError(f'{name}: must be {bound}, got {value!r}')
    return number.quantize(_CENT)


def _integer(value: Any, name: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        value = int(value.strip())  # CSV cells are text
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'{name}: must be an integer, got {value!r}')
    if not minimum <= value <= maximum:
        raise ValueError(f'{name}: must be between {minimum} and {maximum}, got {value!r}')
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise ValueError(f'{name}: must be a list, got {value!r}')
    return list(value)


def _code(item: Any, name: str) -> CatalogCode:
    if not isinstance(item, Mapping):
        raise ValueError(f'{name}: must be an object with "kind" and "code", got {item!r}')
    kind = item.get('kind')
    if kind not in CODE_KINDS:
        raise ValueError(f'{name}.kind: must be one of {", ".join(CODE_KINDS)}, got {kind!r}')
    code = _text(item.get('code'), f'{name}.code', max_length=48)
    normalized = normalize_code(code)
    if not normalized:
        raise ValueError(f'{name}.code: has no letters or digits, got {code!r}')
    if len(normalized) > 40:
        raise ValueError(f'{name}.code: longer than 40 characters once normalized, got {code!r}')
    if kind == 'ean' and not _is_valid_ean13(normalized):
        raise ValueError(f'{name}.code: not a valid EAN-13 (13 digits with a correct check digit), got {code!r}')
    return CatalogCode(code, kind)


def _fitment(item: Any, name: str) -> CatalogFitment:
    if not isinstance(item, Mapping):
        raise ValueError(f'{name}: must be an object with make, model, year_from, year_to, engine, got {item!r}')
    make = _text(item.get('make'), f'{name}.make', max_length=40)
    model = _text(item.get('model'), f'{name}.model', max_length=60)
    year_from = _integer(item.get('year_from'), f'{name}.year_from', minimum=1900, maximum=2100)
    year_to = _integer(item.get('year_to'), f'{name}.year_to', minimum=1900, maximum=2100)
    if year_to < year_from:
        raise ValueError(f'{name}.year_to: {year_to} is before year_from {year_from}')
    engine = _text(item.get('engine', ''), f'{name}.engine', max_length=40, required=False)
    return CatalogFitment(make, model, year_from, year_to, engine)


def product_from_dict(data: Mapping[str, Any], *, complete: bool = True) -> CatalogProduct:
    """Validate one product dict (as from JSON) and build it; ValueError names the offending field.

    `complete=False` is for a retailer's own files read through a column mapping (services/catalog/tables.py):
    category and brand may be empty and the price missing (a MercadoLibre export has neither brand nor price)."""
    if not isinstance(data, Mapping):
        raise ValueError(f'product: must be an object, got {type(data).__name__}')
    sku = _text(data.get('sku'), 'sku', max_length=40)
    try:
        title = _text(data.get('title'), 'title', max_length=200)
        category = _text(data.get('category'), 'category', max_length=80, required=complete)
        brand = _text(data.get('brand'), 'brand', max_length=80, required=complete)
        description = _text(data.get('description', ''), 'description', max_length=2000, required=False)
        price: Decimal | None = None
        if complete or data.get('price') not in (None, ''):
            if 'price' not in data:
                raise ValueError('price: missing')
            price = _decimal(data['price'], 'price', minimum=Decimal(0), maximum=None, exclusive_minimum=True)
        iva_rate = _decimal(
            data.get('iva_rate', '21.00'), 'iva_rate', minimum=Decimal(0), maximum=Decimal(100), exclusive_minimum=False
        )
        codes = tuple(_code(item, f'codes[{i}]') for i, item in enumerate(_list(data.get('codes'), 'codes')))
        seen: set[str] = set()
        for i, code in enumerate(codes):
            normalized = normalize_code(code.code)
            if normalized in seen:
                raise ValueError(f'codes[{i}].code: duplicate of an earlier code ({normalized})')
            seen.add(normalized)
        fitments = tuple(
            _fitment(item, f'fitments[{i}]') for i, item in enumerate(_list(data.get('fitments'), 'fitments'))
        )
        urls = _list(data.get('image_urls'), 'image_urls')
        if len(urls) > MAX_IMAGE_URLS:
            raise ValueError(f'image_urls: at most {MAX_IMAGE_URLS} allowed, got {len(urls)}')
        image_urls = []
        for i, url in enumerate(urls):
            text = _text(url, f'image_urls[{i}]', max_length=2000)
            if not text.startswith(('https://', 'http://')) or any(c.isspace() for c in text):
                raise ValueError(f'image_urls[{i}]: must be an http(s) URL without spaces, got {url!r}')
            image_urls.append(text)
        raw_stock = data.get('stock') or {}
        if not isinstance(raw_stock, Mapping):
            raise ValueError(f'stock: must be an object of branch code -> units, got {raw_stock!r}')
        stock: dict[str, int] = {}
        for branch, units in raw_stock.items():
            branch_code = _text(branch, 'stock', max_length=40)
            stock[branch_code] = _integer(units, f'stock.{branch_code}', minimum=0, maximum=10_000_000)
    except ValueError as exc:
        raise ValueError(f'product {sku!r}: {exc}') from None
    return CatalogProduct(
        sku=sku,
        title=title,
        category=category,
        brand=brand,
        description=description,
        price=price,
        iva_rate=iva_rate,
        codes=codes,
        fitments=fitments,
        image_urls=tuple(image_urls),
        stock=stock,
    )


def write_json(products: Iterable[CatalogProduct], path: Path) -> None:
    """A JSON array, one product object per line: streams, diffs well, and stays valid JSON."""
    with Path(path).open('w', encoding='utf-8', newline='\n') as out:
        out.write('[')
        separator = '\n'
        for product in products:
            out.write(separator)
            out.write(json.dumps(product_to_dict(product), ensure_ascii=False, separators=(',', ':')))
            separator = ',\n'
        out.write('\n]\n')


def read_json(path: Path) -> list[CatalogProduct]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding='utf-8-sig'))
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not valid JSON: {exc}') from None
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a JSON array of products, got {type(data).__name__}')
    products = []
    for index, item in enumerate(data):
        try:
            products.append(product_from_dict(item))
        except ValueError as exc:
            raise ValueError(f'{path}: item {index}: {exc}') from None
    return products


# ---------------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------------

_STOCK_PREFIX = 'stock_'


def _csv_part(value: str, forbidden: str, what: str, sku: str) -> str:
    for ch in forbidden:
        if ch in value:
            raise ValueError(f'product {sku!r}: {what} {value!r} contains {ch!r}, which the CSV format reserves')
    return value


def write_csv(products: Iterable[CatalogProduct], path: Path, *, branch_codes: Sequence[str]) -> None:
    """One row per product; list fields joined with '|' (see docs/catalog-format.md)."""
    branches = tuple(branch_codes)
    if len(set(branches)) != len(branches) or not all(isinstance(b, str) and b.strip() for b in branches):
        raise ValueError(f'branch_codes must be unique non-empty strings, got {branches!r}')
    known = set(branches)
    with Path(path).open('w', encoding='utf-8', newline='') as out:
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow([*CSV_COLUMNS, *(_STOCK_PREFIX + b for b in branches)])
        for p in products:
            missing = set(p.stock) - known
            if missing:
                raise ValueError(f'product {p.sku!r}: stock for branch(es) {sorted(missing)} not in branch_codes')
            codes = '|'.join(f'{c.kind}:{_csv_part(c.code, "|", "code", p.sku)}' for c in p.codes)
            fitments = '|'.join(
                ';'.join(
                    (
                        _csv_part(f.make, '|;', 'make', p.sku),
                        _csv_part(f.model, '|;', 'model', p.sku),
                        str(f.year_from),
                        str(f.year_to),
                        _csv_part(f.engine, '|;', 'engine', p.sku),
                    )
                )
                for f in p.fitments
            )
            urls = '|'.join(_csv_part(u, '|', 'image URL', p.sku) for u in p.image_urls)
            stock = [str(p.stock[b]) if b in p.stock else '' for b in branches]
            writer.writerow(
                [
                    p.sku,
                    p.title,
                    p.category,
                    p.brand,
                    p.description,
                    money_text(p.price) if p.price is not None else '',
                    money_text(p.iva_rate),
                    codes,
                    fitments,
                    urls,
                    *stock,
                ]
            )


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in cell.split('|')] if cell and cell.strip() else []


def _row_to_dict(row: Mapping[str, str | None], stock_columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    codes = []
    for i, item in enumerate(_split(row.get('codes'))):
        kind, sep, code = item.partition(':')
        if not sep:
            raise ValueError(f'codes[{i}]: expected kind:CODE (e.g. part:FDB1234), got {item!r}')
        codes.append({'kind': kind.strip().lower(), 'code': code.strip()})
    fitments = []
    for i, item in enumerate(_split(row.get('fitments'))):
        parts = item.split(';')
        if len(parts) != 5:
            raise ValueError(f'fitments[{i}]: expected make;model;year_from;year_to;engine, got {item!r}')
        make, model, year_from, year_to, engine = (part.strip() for part in parts)
        fitments.append({'make': make, 'model': model, 'year_from': year_from, 'year_to': year_to, 'engine': engine})
    stock = {branch: (row.get(column) or '').strip() for column, branch in stock_columns}
    data: dict[str, Any] = {
        'sku': row.get('sku'),
        'title': row.get('title'),
        'category': row.get('category'),
        'brand': row.get('brand'),
        'description': row.get('description') or '',
        'price': row.get('price'),
        'codes': codes,
        'fitments': fitments,
        'image_urls': _split(row.get('image_urls')),
        'stock': {branch: units for branch, units in stock.items() if units},  # empty cell: branch not stocked
    }
    iva = (row.get('iva_rate') or '').strip()
    if iva:
        data['iva_rate'] = iva
    return data


def read_csv(path: Path) -> list[CatalogProduct]:
    path = Path(path)
    # utf-8-sig: a file saved by Excel starts with a BOM that would otherwise stick to the "sku" header.
    with path.open(encoding='utf-8-sig', newline='') as source:
        reader = csv.DictReader(source)
        header = reader.fieldnames or []
        missing = [c for c in ('sku', 'title', 'category', 'brand', 'price') if c not in header]
        if missing:
            raise ValueError(f'{path}: missing column(s) {", ".join(missing)}')
        stock_columns = [(c, c[len(_STOCK_PREFIX) :]) for c in header if c.startswith(_STOCK_PREFIX)]
        if any(not branch for _, branch in stock_columns):
            raise ValueError(f'{path}: a stock column must name its branch, e.g. stock_SUC1')
        products = []
        for row in reader:
            if None in row:
                raise ValueError(f'{path}: line {reader.line_num}: more cells than header columns')
            try:
                products.append(product_from_dict(_row_to_dict(row, stock_columns)))
            except ValueError as exc:
                raise ValueError(f'{path}: line {reader.line_num}: {exc}') from None
    return products
