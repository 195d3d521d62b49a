"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no exact decimals, so these decorators make the two databases
return identical Python values: aware UTC datetimes and exact `Decimal` amounts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact); plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), 'postgresql')


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always returns aware UTC datetimes; refuses naive ones so local times never sneak in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError('naive datetime given; use an aware UTC datetime')
        value = value.astimezone(UTC)
        # SQLite stores text; a fixed naive-UTC form keeps it sortable as a string.
        return value.replace(tzinfo=None) if dialect.name == 'sqlite' else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal stored as an integer count of 10^-scale units (e.g. cents for money).

    Why not NUMERIC: SQLite keeps NUMERIC as floating point, and money must be exact to the cent on both.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        exact = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        return int(exact.scaleb(self.scale))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale).quantize(self._quantum)


def Money() -> ScaledDecimal:  # noqa: N802 - reads like a type in column declarations
    """ARS amounts, exact to the cent."""
    return ScaledDecimal(2)


def Rate() -> ScaledDecimal:  # noqa: N802
    """Percentages such as IVA (21.00) or a commission (2.50)."""
    return ScaledDecimal(2)
