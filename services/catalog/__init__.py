"""The product catalog (S1): import from JSON/CSV and fast fuzzy search. See docs/catalog-format.md."""

from __future__ import annotations

from .importer import (
    ImportReport,
    import_catalog,
    import_file,
    import_products,
    read_catalog_file,
    read_catalog_table,
)
from .search import (
    ProductHit,
    SearchResult,
    format_ars,
    product_by_sku,
    product_message,
    products_by_skus,
    search_products,
    skus_in_text,
)
from .sending import send_product
from .vehicles import Vehicle, VehicleVocabulary

__all__ = [
    'ImportReport',
    'ProductHit',
    'SearchResult',
    'Vehicle',
    'VehicleVocabulary',
    'format_ars',
    'import_catalog',
    'import_file',
    'import_products',
    'product_by_sku',
    'product_message',
    'products_by_skus',
    'read_catalog_file',
    'read_catalog_table',
    'search_products',
    'send_product',
    'skus_in_text',
]
