"""A demo catalog loaded through the real import path, for the search and import tests."""

from __future__ import annotations

from functools import cache

import pytest

from services.catalog import import_products
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.demo.catalog import generate_catalog
from tests.conftest import World

CATALOG_SIZE = 1500


@cache
def demo_catalog() -> list[CatalogProduct]:
    return generate_catalog(CATALOG_SIZE, branch_codes=('SUC1', 'SUC2'))


@pytest.fixture
async def catalog(db: Database, world: World) -> list[CatalogProduct]:
    """The world's two branches with 1,500 generated products (stock for SUC1 and SUC2)."""
    await import_products(db, demo_catalog())
    return demo_catalog()
