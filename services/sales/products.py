"""Products as quotes need them: by id (the AI summary's products, the catalog search) or by SKU.

Catalog search itself lives in `services.catalog`; this is only the exact lookup a quote line needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import col, select

from ..database import Database
from ..errors import NotFound
from ..models import Product


async def products_by_id(db: Database, product_ids: Iterable[int]) -> dict[int, Product]:
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    async with db.session() as session:
        rows = (await session.exec(select(Product).where(col(Product.id).in_(ids)))).all()
    return {product.id or 0: product for product in rows}


async def find_product(db: Database, *, reference: str) -> Product:
    """A product by its id ('1234') or SKU (any case); inactive products are not quoted."""
    reference = reference.strip()
    async with db.session() as session:
        query = select(Product).where(func.upper(Product.sku) == reference.upper())
        product = (await session.exec(query)).first()
        if product is None and reference.isdigit():
            product = await session.get(Product, int(reference))
    if product is None or not product.active:
        raise NotFound(f'no active product {reference!r}')
    return product
