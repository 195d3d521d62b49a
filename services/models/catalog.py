"""The auto-parts catalog (S1): products, their OEM/part codes, vehicle fitments and stock per branch."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Column, Index, Text, UniqueConstraint, false, true
from sqlmodel import Field, SQLModel

from .types import JSONType, Money, Rate, UTCDateTime, utcnow


class ProductBase(SQLModel):
    sku: str = Field(max_length=40, unique=True)
    title: str = Field(max_length=200)
    category: str = Field(max_length=80, index=True)
    brand: str = Field(max_length=80, index=True)
    description: str = Field(default='', max_length=2000)
    price: Decimal = Field(sa_type=Money(), description='ARS, IVA excluded')
    iva_rate: Decimal = Field(default=Decimal('21.00'), sa_type=Rate())
    active: bool = True


class ProductPublic(ProductBase):
    id: int
    image_urls: list[str]


class Product(ProductBase, table=True):
    __tablename__ = 'products'

    id: int | None = Field(default=None, primary_key=True)
    image_urls: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # The normalized words a product is found by (services/catalog/text.py), written by the importer. Full-text
    # indexes sit on it: FTS5 `products_fts` on SQLite, a GIN tsvector index on PostgreSQL (migration 0006).
    search_text: str = Field(default='', sa_column=Column(Text, nullable=False, server_default=''))
    # False for a product imported without a price (a MercadoLibre export has none): it is found by search but
    # cannot be quoted until a price list sets it; its `price` column then holds 0 (migration 0018).
    priced: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    # No fitments: fits any vehicle (oils, bulbs), so a vehicle filter lets it through.
    universal: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProductCode(SQLModel, table=True):
    """OEM and manufacturer part numbers. `code` is normalised (upper case, no spaces/dashes/dots) for exact match."""

    __tablename__ = 'product_codes'
    __table_args__ = (UniqueConstraint('product_id', 'code'),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key='products.id')
    code: str = Field(max_length=40, index=True)
    display_code: str = Field(max_length=48)
    kind: str = Field(default='oem', max_length=8, description='oem, part, ean')


class ProductFitment(SQLModel, table=True):
    """A vehicle a product fits: make + model over a range of model years."""

    __tablename__ = 'product_fitments'
    __table_args__ = (Index('ix_product_fitments_vehicle', 'make', 'model', 'year_from'),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key='products.id', index=True)
    make: str = Field(max_length=40)
    model: str = Field(max_length=60)
    year_from: int
    year_to: int
    engine: str = Field(default='', max_length=40)


class ProductStock(SQLModel, table=True):
    __tablename__ = 'product_stock'
    __table_args__ = (UniqueConstraint('product_id', 'branch_id'),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key='products.id')
    branch_id: int = Field(foreign_key='branches.id', index=True)
    quantity: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CatalogTerm(SQLModel, table=True):
    """Every word of the catalog's `search_text` with the number of products using it: the vocabulary typos
    are corrected against (services/catalog/search.py). Rebuilt by each import."""

    __tablename__ = 'catalog_terms'

    term: str = Field(primary_key=True, max_length=80)
    product_count: int = 0
