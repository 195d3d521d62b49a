"""Fixtures of the cross-feature tests: the sales desk and its small catalog (tests/unit/services/sales), and the
generated parts catalog the assistant searches (tests/unit/services/catalog) under another name."""

from __future__ import annotations

import pytest

from services.catalog import import_products
from services.catalog.formats import CatalogProduct
from services.database import Database
from tests.conftest import World
from tests.unit.services.catalog.conftest import demo_catalog
from tests.unit.services.sales.conftest import ana, catalog, chat, desk, recorder  # noqa: F401 - fixtures


@pytest.fixture
async def parts_catalog(db: Database, world: World) -> list[CatalogProduct]:
    """1,500 generated products with stock in the world's two branches (what the bot proposes from)."""
    await import_products(db, demo_catalog())
    return demo_catalog()
