"""The demo catalog generator (S1): deterministic, realistic. Formats: tests/unit/services/catalog/test_formats.py."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from services.catalog.formats import CatalogFitment, CatalogProduct, normalize_code
from services.demo.catalog import generate_catalog, write_csv, write_json

BRANCHES = ('SUC1', 'SUC2', 'SUC3')


@cache
def catalog() -> tuple[CatalogProduct, ...]:
    """The default 10,000-product catalog, generated once for the read-only checks below."""
    return tuple(generate_catalog())


def ean13_is_valid(code: str) -> bool:
    # Written independently of the generator: weights 1,3,1,3... over the first 12 digits.
    if len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def part_code(product: CatalogProduct) -> str:
    return next(c.code for c in product.codes if c.kind == 'part')


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = generate_catalog(600, seed=7), generate_catalog(600, seed=7)
    assert first == second
    write_json(first, tmp_path / 'a.json')
    write_json(second, tmp_path / 'b.json')
    write_csv(first, tmp_path / 'a.csv', branch_codes=BRANCHES)
    write_csv(second, tmp_path / 'b.csv', branch_codes=BRANCHES)
    assert (tmp_path / 'a.json').read_bytes() == (tmp_path / 'b.json').read_bytes()
    assert (tmp_path / 'a.csv').read_bytes() == (tmp_path / 'b.csv').read_bytes()


def test_default_catalog_is_stable_and_another_seed_differs() -> None:
    assert list(catalog()) == generate_catalog()
    other = generate_catalog(200, seed=1)
    assert [p.title for p in other] != [p.title for p in catalog()[:200]]


def test_count_and_unique_skus() -> None:
    products = catalog()
    assert len(products) == 10_000
    assert len({p.sku for p in products}) == 10_000
    assert all(len(p.sku) <= 40 and p.sku[:3].isalpha() and p.sku[3] == '-' for p in products)
    assert generate_catalog(0) == []
    assert len(generate_catalog(25)) == 25


def test_titles_unique_and_no_two_products_alike() -> None:
    products = catalog()
    assert len({p.title for p in products}) >= 0.98 * len(products)
    identities = Counter((p.title, p.brand, normalize_code(part_code(p))) for p in products)
    assert identities.most_common(1)[0][1] == 1
    # One SKU per maker part number, as in a real catalog.
    assert len({(p.brand, normalize_code(part_code(p))) for p in products}) == len(products)


def priced(product: Any) -> Decimal:
    """A generated product's price: every generated product has one (only imported files may lack it)."""
    assert product.price is not None
    return Decimal(product.price)


def test_prices_are_positive_with_two_decimals_and_iva() -> None:
    for product in catalog():
        assert priced(product) > 0
        assert priced(product) == priced(product).quantize(Decimal('0.01'))
        assert priced(product).as_tuple().exponent == -2
        assert product.iva_rate in (Decimal('21.00'), Decimal('10.50'))


def test_shapes_of_codes_fitments_images_and_stock() -> None:
    zero, cells = 0, 0
    for p in catalog():
        assert 1 <= len(p.codes) <= 3
        assert {c.kind for c in p.codes} <= {'oem', 'part', 'ean'}
        normalized = [normalize_code(c.code) for c in p.codes]
        assert len(set(normalized)) == len(normalized), p.sku
        assert all(0 < len(n) <= 40 for n in normalized)
        assert 0 <= len(p.fitments) <= 6
        for f in p.fitments:
            assert 1990 <= f.year_from <= f.year_to <= 2026
            assert f.make and f.model
        assert 1 <= len(p.image_urls) <= 10
        assert all(u.startswith('https://') and p.sku in u for u in p.image_urls)
        assert set(p.stock) == set(BRANCHES)
        assert all(0 <= units <= 60 for units in p.stock.values())
        zero += sum(units == 0 for units in p.stock.values())
        cells += len(p.stock)
        assert len(p.title) <= 200 and len(p.description) <= 2000
    assert 0.15 < zero / cells < 0.25


def test_ean_codes_have_valid_check_digits() -> None:
    eans = [c.code for p in catalog() for c in p.codes if c.kind == 'ean']
    assert len(eans) > 500
    assert all(ean13_is_valid(code) for code in eans)
    assert any(code.startswith('779') for code in eans)  # Argentine brands carry Argentine barcodes


def test_realistic_sample() -> None:
    products = catalog()
    categories = Counter(p.category for p in products)
    assert len(categories) >= 12
    assert {'Frenos', 'Filtros', 'Suspensión', 'Encendido', 'Lubricantes', 'Iluminación'} <= set(categories)

    pads_for_gol = [
        p
        for p in products
        if p.title.startswith('Pastillas de freno')
        and any(f.make == 'Volkswagen' and f.model == 'Gol' for f in p.fitments)
    ]
    assert len(pads_for_gol) >= 5
    assert all(Decimal(30_000) < priced(p) < Decimal(130_000) for p in pads_for_gol)

    plugs = [p for p in products if p.title.startswith('Bujía NGK') and 'Iridium' not in p.title]
    assert plugs and all(Decimal(5_000) < priced(p) < Decimal(15_000) for p in plugs)
    clutches = [p for p in products if p.title.startswith('Kit de embrague')]
    assert clutches and 300_000 < sorted(priced(p) for p in clutches)[len(clutches) // 2] < 750_000

    brands = {p.brand for p in products}
    assert {'Bosch', 'Fram', 'Monroe', 'NGK', 'Ferodo', 'SKF', 'Gates', 'Corven', 'YPF'} <= brands
    assert any(not p.fitments for p in products if p.category == 'Lubricantes')
    makes = {f.make for p in products for f in p.fitments}
    assert {'Volkswagen', 'Ford', 'Chevrolet', 'Fiat', 'Renault', 'Peugeot', 'Toyota', 'Citroën'} <= makes
    oem_vw = [
        c.code
        for p in products
        for c in p.codes
        if c.kind == 'oem' and p.fitments and p.fitments[0].make == 'Volkswagen'
    ]
    assert oem_vw and all(len(normalize_code(code)) in (9, 10, 11) for code in oem_vw)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match='count'):
        generate_catalog(-1)
    with pytest.raises(ValueError, match='branch_codes'):
        generate_catalog(3, branch_codes=('SUC1', 'SUC1'))
    assert set(generate_catalog(3, branch_codes=('A', 'B'))[0].stock) == {'A', 'B'}


def test_fitment_dataclass_is_hashable_and_products_too() -> None:
    product = catalog()[0]
    assert hash(product) == hash(dataclasses.replace(product))
    assert len({product, dataclasses.replace(product)}) == 1
    assert hash(CatalogFitment('Fiat', 'Palio', 2004, 2017, '1.4 Fire'))
