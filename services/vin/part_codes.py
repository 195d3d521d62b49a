"""Part codes (V2) in customers' texts and photos, matched exactly against the catalog's `product_codes`.

Codes are printed and typed in many spellings ("0 986 4B2 345", "04E-115-561-H", "pd/580"), so candidates
are every token and every run of up to four consecutive tokens, normalised like the catalog stores them
(`services.catalog.formats.normalize_code`: upper case, no spaces, dashes, dots or slashes). Only exact matches
count: a fuzzy match on a part number offers the wrong part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select

from ..catalog.formats import normalize_code
from ..database import Database
from ..models import Product, ProductCode

MAX_RUN = 4
MIN_LENGTH = 4
MAX_LENGTH = 40  # product_codes.code
# Numbers alone shorter than this are quantities, years, weights — not part numbers.
MIN_NUMERIC_LENGTH = 6
_WORD = re.compile(r'\S+')
_EDGES = '.,;:()[]{}"\'¿?¡!'


@dataclass(frozen=True)
class PartMatch:
    code: str  # normalised, as matched
    display_code: str
    kind: str  # oem, part, ean
    product_id: int
    sku: str
    title: str
    brand: str
    price: Decimal | None  # None: imported without a price (not quotable until priced)


def _plausible(code: str) -> bool:
    if not MIN_LENGTH <= len(code) <= MAX_LENGTH or not any(char.isdigit() for char in code):
        return False
    return not code.isdigit() or len(code) >= MIN_NUMERIC_LENGTH


def code_candidates(texts: Iterable[str]) -> list[str]:
    """Normalised strings that could be a part number, in order of appearance, without duplicates."""
    seen: dict[str, None] = {}
    for text in texts:
        for line in text.splitlines():
            tokens = [token.strip(_EDGES) for token in _WORD.findall(line)]
            tokens = [token for token in tokens if token]
            for start in range(len(tokens)):
                joined = ''
                for token in tokens[start : start + MAX_RUN]:
                    joined += normalize_code(token)
                    if len(joined) > MAX_LENGTH:
                        break
                    if _plausible(joined):
                        seen.setdefault(joined, None)
    return list(seen)


async def match_part_codes(db: Database, *, texts: Sequence[str], limit: int = 20) -> list[PartMatch]:
    """Active catalog products whose codes appear in `texts`, in the order the codes appear."""
    candidates = code_candidates(texts)
    if not candidates:
        return []
    async with db.session() as session:
        rows = (
            await session.exec(
                select(ProductCode, Product)
                .join(Product, col(Product.id) == col(ProductCode.product_id))
                .where(col(ProductCode.code).in_(candidates[:500]), col(Product.active).is_(True))
            )
        ).all()
    order = {code: index for index, code in enumerate(candidates)}
    matches = sorted(rows, key=lambda row: (order[row[0].code], row[1].id or 0))
    found: list[PartMatch] = []
    seen_products: set[int] = set()
    for code, product in matches:
        if product.id in seen_products:
            continue
        seen_products.add(product.id or 0)
        found.append(
            PartMatch(
                code=code.code,
                display_code=code.display_code,
                kind=code.kind,
                product_id=product.id or 0,
                sku=product.sku,
                title=product.title,
                brand=product.brand,
                price=product.price if product.priced else None,
            )
        )
    return found[:limit]
