"""Catalog search (S1): typo-tolerant, accent-insensitive Spanish, part/OEM codes first, vehicle and stock filters.

How a query is answered:

1. **Codes.** Every run of 1-6 consecutive pieces of the query is normalized like the catalog's codes
   (`normalize_code`: '0 986 424 627' -> '0986424627') and looked up exactly in `product_codes`; a single long
   piece with no exact hit is also tried as a code prefix. Code hits always come first.
2. **Vehicle.** The vehicle part ("gol trend 2015", "corsa 1.6") becomes a fitment filter: make, the model and
   the models it stands for (a "Gol" is also a "Gol Trend"), the year inside [year_from, year_to], and an engine
   displacement matched against the fitment's engine when it names one. Universal products (no fitments) pass.
3. **Words.** The rest is folded (services/catalog/text.py) and each word matched against the catalog vocabulary:
   exactly, as a Spanish plural/gender variant, as a prefix (the word being typed), or corrected within one or two
   edits ('pastilals' -> 'pastillas'). A word the catalog has never seen and cannot correct is ignored and
   reported. All remaining words must match (AND), through the full-text index: FTS5 on SQLite, a GIN tsvector
   index on PostgreSQL; when no product has them all, products with most of them are shown, flagged `partial`.
4. **Ranking**, in Python over at most `CANDIDATES` matches: words found in the title outweigh words found only in
   the brand/category/vehicles, the product type leading the title is a bonus, then stock at the branch.

Stock figures are limited to the branches the viewer may see (B2); the bot passes its conversation's branch.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, String, and_, any_, bindparam, exists, func, literal_column, or_, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database
from ..demo.catalog import normalize_code
from ..models import Branch, Product, ProductCode, ProductFitment, ProductStock
from ..models.catalog import CatalogTerm
from .text import UNIVERSAL_WORD, Corrector, word_variants, words
from .vehicles import Vehicle, VehicleVocabulary, tokens

CANDIDATES = 200
INDEX_TTL_SECONDS = 60.0
_CENT = Decimal('0.01')
_CODE_PIECE = re.compile(r'\S+')


@dataclass(frozen=True)
class ProductHit:
    id: int
    sku: str
    title: str
    brand: str
    category: str
    price: Decimal  # net of IVA, as stored
    iva_rate: Decimal
    image_url: str | None
    # Units at the branch the search was made for (None: no figure there); per visible branch below.
    stock: int | None
    stock_by_branch: dict[int, int]
    matched_code: str | None = None  # the catalog code (as printed) that matched exactly
    score: float = 0.0

    @property
    def price_with_iva(self) -> Decimal:
        return (self.price * (1 + self.iva_rate / 100)).quantize(_CENT, rounding=ROUND_HALF_UP)

    @property
    def total_stock(self) -> int:
        return sum(self.stock_by_branch.values())


@dataclass(frozen=True)
class SearchResult:
    hits: list[ProductHit]
    vehicle: Vehicle | None = None
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> catalog word used
    ignored: list[str] = field(default_factory=list)  # words the catalog does not know
    partial: bool = False  # no product has every word: these have most of them
    truncated: bool = False  # more matches than were ranked: refine the query
    seconds: float = 0.0


# --- the vocabulary (one per database, reloaded every minute so another process's import shows up) ---------


@dataclass
class CatalogIndex:
    vocabulary: dict[str, int]
    sorted_words: list[str]
    corrector: Corrector
    vehicles: VehicleVocabulary
    loaded_at: float

    def with_prefix(self, prefix: str, *, limit: int = 50) -> list[str]:
        start = bisect.bisect_left(self.sorted_words, prefix)
        found = []
        for word in self.sorted_words[start:start + limit]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found


# Keyed by the Database object itself (weakly): tests build many databases, and an id() can be reused.
_indexes: weakref.WeakKeyDictionary[Database, CatalogIndex] = weakref.WeakKeyDictionary()


def invalidate_index(db: Database) -> None:
    _indexes.pop(db, None)


async def catalog_index(db: Database) -> CatalogIndex:
    index = _indexes.get(db)
    if index is not None and time.monotonic() - index.loaded_at < INDEX_TTL_SECONDS:
        return index
    async with db.session() as session:
        terms = dict((await session.exec(select(CatalogTerm.term, CatalogTerm.product_count))).all())
        models = (await session.exec(select(ProductFitment.make, ProductFitment.model).distinct())).all()
    index = CatalogIndex(vocabulary=terms, sorted_words=sorted(terms), corrector=Corrector(terms),
                         vehicles=VehicleVocabulary(models), loaded_at=time.monotonic())
    _indexes[db] = index
    return index


# --- the query plan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alternative:
    word: str
    prefix: bool
    weight: float  # how much a title hit on this alternative counts (exact > variant > prefix > typo)


@dataclass
class QueryPlan:
    groups: list[list[_Alternative]]
    vehicle: Vehicle | None
    corrections: dict[str, str]
    ignored: list[str]
    code_candidates: list[str]
    code_prefix: str | None


def plan_query(query: str, index: CatalogIndex, *, vehicle: Vehicle | None = None,
               parse_vehicle: bool = True) -> QueryPlan:
    code_candidates, code_prefix = _code_candidates(query)
    remaining = query
    if vehicle is None and parse_vehicle:
        match = index.vehicles.find(query)
        if match is not None:
            vehicle = match.vehicle
            remaining = ' '.join(token for i, token in enumerate(tokens(query)) if i not in match.spans)
    groups: list[list[_Alternative]] = []
    corrections: dict[str, str] = {}
    ignored: list[str] = []
    query_words = list(dict.fromkeys(words(remaining)))
    for position, word in enumerate(query_words):
        last = position == len(query_words) - 1
        alternatives = _alternatives(word, index, last=last)
        if alternatives is None:
            ignored.append(word)
            continue
        if not alternatives[0].prefix and alternatives[0].weight <= 2.0 and alternatives[0].word != word:
            corrections[word] = alternatives[0].word
        groups.append(alternatives)
    return QueryPlan(groups=groups, vehicle=vehicle, corrections=corrections, ignored=ignored,
                     code_candidates=code_candidates, code_prefix=code_prefix)


def _alternatives(word: str, index: CatalogIndex, *, last: bool) -> list[_Alternative] | None:
    vocabulary = index.vocabulary
    if word in vocabulary:
        variants = word_variants(word, vocabulary)
        return [_Alternative(v, False, 3.0 if v == word else 2.5) for v in variants]
    variants = word_variants(word, vocabulary)
    if variants:
        return [_Alternative(v, False, 2.5) for v in variants]
    # A word being typed ("pastil") or cut short ("amortig"): a prefix search, if the catalog has such words.
    if len(word) >= 3 and (last or len(word) >= 5) and not word.isdigit() and index.with_prefix(word, limit=1):
        return [_Alternative(word, True, 2.0)]
    corrected = index.corrector.corrections(word)
    if corrected:
        alternatives: dict[str, _Alternative] = {}
        for candidate in corrected:
            for variant in word_variants(candidate, vocabulary):
                alternatives.setdefault(variant, _Alternative(variant, False, 1.8 if variant == candidate else 1.6))
        return list(alternatives.values())
    return None


def _code_candidates(query: str) -> tuple[list[str], str | None]:
    pieces = _CODE_PIECE.findall(query)[:12]
    candidates: dict[str, None] = {}
    for start in range(len(pieces)):
        for end in range(start + 1, min(len(pieces), start + 6) + 1):
            code = normalize_code(''.join(pieces[start:end]))
            if 4 <= len(code) <= 40 and any(ch.isdigit() for ch in code) and code.isalnum():
                candidates.setdefault(code, None)
    whole = normalize_code(query)
    prefix = whole if len(pieces) <= 4 and 5 <= len(whole) <= 40 and any(ch.isdigit() for ch in whole) \
        and whole.isalnum() else None
    return list(candidates)[:60], prefix


# --- running it ---


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in autocommit for the search's few reads: no BEGIN/ROLLBACK round trips around them (a
    search is read-only, and each of its statements is consistent on its own)."""
    async with db.engine.connect() as connection:
        yield await connection.execution_options(isolation_level='AUTOCOMMIT')


async def search_products(
    db: Database, *, query: str, viewer: Viewer | None = None, branch_id: int | None = None,
    vehicle: Vehicle | None = None, parse_vehicle: bool = True, in_stock_only: bool = False, limit: int = 20,
) -> SearchResult:
    """Products for `query`, best first. `branch_id` is the branch whose stock counts for ranking and for
    `in_stock_only` (the header's branch, or the conversation's); `viewer` limits which branches' stock is shown
    (None: only `branch_id`'s, as for the bot)."""
    started = time.perf_counter()
    if viewer is not None and branch_id is not None and not viewer.can_see_branch(branch_id):
        branch_id = None  # another branch's stock is not this viewer's to see or filter by
    limit = max(1, min(limit, 100))
    query = (query or '').strip()[:300]
    index = await catalog_index(db)
    plan = plan_query(query, index, vehicle=vehicle, parse_vehicle=parse_vehicle)
    if not query and (plan.vehicle is None or not plan.vehicle.known):
        return SearchResult(hits=[], seconds=time.perf_counter() - started)
    dialect = db.dialect
    async with _reading(db) as session:
        code_hits = await _code_matches(session, plan, dialect)
        rows = await _load(session, list(code_hits), viewer, branch_id, dialect) if code_hits else {}
        candidates: dict[int, tuple[dict[str, Any], dict[int, int]]] = {}
        partial = False
        if plan.groups or (plan.vehicle and plan.vehicle.known and not code_hits):
            candidates = await _text_candidates(session, plan, dialect=dialect, index=index, viewer=viewer,
                                                branch_id=branch_id, in_stock_only=in_stock_only, every_word=True)
            if not candidates and len(plan.groups) > 1:
                candidates = await _text_candidates(session, plan, dialect=dialect, index=index, viewer=viewer,
                                                    branch_id=branch_id, in_stock_only=in_stock_only,
                                                    every_word=False)
                partial = bool(candidates)
        for product_id, row in candidates.items():
            rows.setdefault(product_id, row)
        ids = list(dict.fromkeys([*code_hits, *candidates]))
    hits: list[ProductHit] = []
    for product_id in ids:
        row = rows.get(product_id)
        if row is None:
            continue
        product, stock = row
        if in_stock_only and branch_id is not None and not stock.get(branch_id):
            continue
        matched_code = code_hits.get(product_id)
        score = 1000.0 if matched_code else _score(product, plan, stock, branch_id)
        image_urls = product['image_urls'] or []
        hits.append(ProductHit(
            id=product_id, sku=product['sku'], title=product['title'], brand=product['brand'],
            category=product['category'], price=product['price'], iva_rate=product['iva_rate'],
            image_url=image_urls[0] if image_urls else None,
            stock=stock.get(branch_id) if branch_id is not None else None, stock_by_branch=stock,
            matched_code=matched_code, score=score))
    hits.sort(key=lambda hit: (-hit.score, hit.title))
    # Pieces of a code that matched are not "unknown words".
    ignored = [w for w in plan.ignored if not (code_hits and any(ch.isdigit() for ch in w))]
    return SearchResult(hits=hits[:limit], vehicle=plan.vehicle, corrections=plan.corrections, ignored=ignored,
                        partial=partial, truncated=len(candidates) >= CANDIDATES,
                        seconds=time.perf_counter() - started)


async def _code_matches(session: Any, plan: QueryPlan, dialect: str) -> dict[int, str]:
    if not plan.code_candidates and not plan.code_prefix:
        return {}
    found: dict[int, str] = {}
    if plan.code_candidates:
        candidates = (col(ProductCode.code) == any_(bindparam(None, plan.code_candidates, type_=ARRAY(String))))\
            if dialect == 'postgresql' else col(ProductCode.code).in_(plan.code_candidates)
        rows = (await session.execute(select(ProductCode.product_id, ProductCode.display_code, ProductCode.code)
                                   .where(candidates).limit(50))).all()
        # Longer codes first: '0986424627' says more than a 4-digit piece of it that happens to be a code too.
        for product_id, display, _ in sorted(rows, key=lambda row: -len(row[2])):
            found.setdefault(product_id, display)
    if not found and plan.code_prefix:
        prefix = plan.code_prefix
        condition = (col(ProductCode.code).like(prefix + '%') if dialect == 'postgresql'
                     else and_(col(ProductCode.code) >= prefix, col(ProductCode.code) < prefix + '\U0010ffff'))
        rows = (await session.execute(select(ProductCode.product_id, ProductCode.display_code)
                                   .where(condition).limit(20))).all()
        for product_id, display in rows:
            found.setdefault(product_id, display)
    return found


def _fts_expression(plan: QueryPlan, dialect: str, index: CatalogIndex, *, every_word: bool) -> str | None:
    """The full-text query: every word group (or, for the partial fallback, any), AND the vehicle's words."""
    postgres = dialect == 'postgresql'
    groups = []
    for group in plan.groups:
        if postgres:
            terms = [f'{a.word}:*' if a.prefix else a.word for a in group]
        else:
            terms = [f'"{a.word}"*' if a.prefix else f'"{a.word}"' for a in group]
        groups.append('(' + (' | ' if postgres else ' OR ').join(terms) + ')')
    joiner = (' & ' if postgres else ' AND ') if every_word else (' | ' if postgres else ' OR ')
    expression = joiner.join(groups)
    vehicle = _vehicle_words(plan.vehicle, index)
    if vehicle:
        # The vehicle's words are in a fitting product's search_text (or it is universal): the index narrows to
        # those before the exact fitment check runs on each remaining row.
        quote = (lambda w: w) if postgres else (lambda w: f'"{w}"')
        alternatives = [('(' + (' & ' if postgres else ' AND ').join(quote(w) for w in option) + ')')
                        for option in vehicle] + [quote(UNIVERSAL_WORD)]
        clause = '(' + (' | ' if postgres else ' OR ').join(alternatives) + ')'
        expression = f'({expression}){" & " if postgres else " AND "}{clause}' if expression else clause
    return expression or None


def _vehicle_words(vehicle: Vehicle | None, index: CatalogIndex) -> list[tuple[str, ...]]:
    """Word sets of which a fitting product has at least one: each model the vehicle stands for (a bare "Gol"
    is also "Gol Trend": 'gol' covers both), or the make alone."""
    if vehicle is None or not vehicle.known:
        return []
    if vehicle.model:
        options = {words(model) for model in index.vehicles.models_of(vehicle.make, vehicle.model)}
    else:
        options = {words(vehicle.make or '')}
    options = {option for option in options if option}
    minimal = [option for option in options if not any(other < set(option) for other in map(set, options))]
    return sorted(set(minimal))


def _vehicle_condition(vehicle: Vehicle | None, index: CatalogIndex) -> Any:
    if vehicle is None or not (vehicle.known or vehicle.year):
        return None
    conditions = [col(ProductFitment.product_id) == col(Product.id)]
    if vehicle.make:
        conditions.append(col(ProductFitment.make) == vehicle.make)
    if vehicle.model:
        conditions.append(col(ProductFitment.model).in_(index.vehicles.models_of(vehicle.make, vehicle.model)))
    if vehicle.year:
        conditions += [col(ProductFitment.year_from) <= vehicle.year, col(ProductFitment.year_to) >= vehicle.year]
    displacement = next((part for part in (vehicle.engine or '').split() if re.fullmatch(r'\d\.\d', part)), None)
    if displacement:
        conditions.append(or_(col(ProductFitment.engine) == '', col(ProductFitment.engine).like(f'{displacement}%')))
    # Correlated on purpose: checked only on the rows the full-text index left, one index probe each.
    return or_(col(Product.universal), exists().where(*conditions))


async def _text_candidates(session: Any, plan: QueryPlan, *, dialect: str, index: CatalogIndex, viewer: Viewer | None,
                           branch_id: int | None, in_stock_only: bool, every_word: bool
                           ) -> dict[int, tuple[dict[str, Any], dict[int, int]]]:
    """The matching products (at most CANDIDATES) with their columns, in one round trip; for the bot (no viewer)
    the branch's stock comes in the same query."""
    conditions: list[Any] = [col(Product.active)]
    vehicle_condition = _vehicle_condition(plan.vehicle, index)
    if vehicle_condition is not None:
        conditions.append(vehicle_condition)
    stock_inline = viewer is None and branch_id is not None
    if in_stock_only and branch_id is not None:
        if stock_inline:  # the branch's row is already joined
            conditions.append(col(ProductStock.quantity) > 0)
        else:
            conditions.append(exists().where(col(ProductStock.product_id) == col(Product.id),
                                             col(ProductStock.branch_id) == branch_id,
                                             col(ProductStock.quantity) > 0))
    query = select(*_PRODUCT_COLUMNS, ProductStock.quantity).outerjoin(
        ProductStock, and_(col(ProductStock.product_id) == col(Product.id), col(ProductStock.branch_id) == branch_id)
    ) if stock_inline else select(*_PRODUCT_COLUMNS)
    expression = _fts_expression(plan, dialect, index, every_word=every_word)
    if expression:
        if dialect == 'postgresql':
            conditions.append(literal_column("to_tsvector('simple'::regconfig, products.search_text)")
                              .op('@@')(func.to_tsquery(literal_column("'simple'::regconfig"), expression)))
        else:
            conditions.append(col(Product.id).in_(
                text('SELECT rowid FROM products_fts WHERE products_fts MATCH :fts').bindparams(fts=expression)
                .columns(rowid=Integer)))
    elif vehicle_condition is None:
        return {}
    rows = (await session.execute(query.where(*conditions).limit(CANDIDATES))).all()
    if stock_inline:
        return {row[0]: (_product_dict(row), {branch_id: row[9]} if row[9] is not None else {})  # type: ignore[dict-item]
                for row in rows}
    stock = await _stock(session, [row[0] for row in rows], viewer, branch_id, dialect)
    return {row[0]: (_product_dict(row), stock.get(row[0], {})) for row in rows}


_PRODUCT_COLUMNS = (Product.id, Product.sku, Product.title, Product.brand, Product.category, Product.price,
                    Product.iva_rate, Product.image_urls, Product.search_text)


def _product_dict(row: Any) -> dict[str, Any]:
    return {'sku': row[1], 'title': row[2], 'brand': row[3], 'category': row[4], 'price': row[5],
            'iva_rate': row[6], 'image_urls': row[7], 'search_text': row[8]}


def _one_of(column: Any, values: Sequence[int], dialect: str) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, so every list length is one prepared statement."""
    if dialect == 'postgresql':
        return column == any_(bindparam(None, list(values), type_=ARRAY(Integer)))
    return column.in_(list(values))


async def _stock(session: Any, ids: Sequence[int], viewer: Viewer | None, branch_id: int | None,
                 dialect: str) -> dict[int, dict[int, int]]:
    visible = _stock_scope(viewer, branch_id)
    if visible is None or not ids:
        return {}
    stock: dict[int, dict[int, int]] = {}
    for product_id, stock_branch, quantity in (await session.execute(
            select(ProductStock.product_id, ProductStock.branch_id, ProductStock.quantity)
            .where(_one_of(col(ProductStock.product_id), ids, dialect), visible))).all():
        stock.setdefault(product_id, {})[stock_branch] = quantity
    return stock


async def _load(session: Any, ids: Sequence[int], viewer: Viewer | None, branch_id: int | None, dialect: str
                ) -> dict[int, tuple[dict[str, Any], dict[int, int]]]:
    if not ids:
        return {}
    products = (await session.execute(select(*_PRODUCT_COLUMNS)
                                   .where(_one_of(col(Product.id), ids, dialect)))).all()
    stock = await _stock(session, ids, viewer, branch_id, dialect)
    return {row[0]: (_product_dict(row), stock.get(row[0], {})) for row in products}


def _stock_scope(viewer: Viewer | None, branch_id: int | None) -> Any:
    """None when no branch's stock may be shown (no viewer and no branch)."""
    if viewer is None:
        return col(ProductStock.branch_id) == branch_id if branch_id is not None else None
    return branch_scope(col(ProductStock.branch_id), viewer)


def _score(product: dict[str, Any], plan: QueryPlan, stock: dict[int, int], branch_id: int | None) -> float:
    title_words = words(product['title'])
    other = set(product['search_text'].split())
    score = 0.0
    positions: list[int | None] = []
    for group in plan.groups:
        best, where = 0.0, None
        for alternative in group:
            position = next((i for i, w in enumerate(title_words)
                             if w == alternative.word or (alternative.prefix and w.startswith(alternative.word))),
                            None)
            if position is not None:
                if alternative.weight > best or where is None:
                    best, where = max(best, alternative.weight), position
            elif alternative.word in other or (alternative.prefix and any(w.startswith(alternative.word)
                                                                          for w in other)):
                best = max(best, 1.0)
        positions.append(where)
        score += best
    # The product type leads the title: "pastillas" finds "Pastillas de freno …" before "Sensor de pastillas".
    if positions and positions[0] is not None and positions[0] < 2:
        score += 1.5
    # Words next to each other as typed: "amortiguador trasero" before "amortiguador de portón trasero".
    for first, second in itertools.pairwise(positions):
        if first is not None and second is not None and second == first + 1:
            score += 0.75
    if branch_id is not None and stock.get(branch_id, 0) > 0:
        score += 2.0
    elif any(quantity > 0 for quantity in stock.values()):
        score += 0.5
    return score


# --- single products -------------------------------------------------------------------------------------------


async def product_by_sku(db: Database, *, sku: str, viewer: Viewer | None = None,
                         branch_id: int | None = None) -> ProductHit | None:
    async with _reading(db) as session:
        product_id = (await session.execute(select(Product.id).where(Product.sku == sku.strip()))).scalar()
        if product_id is None:
            return None
        rows = await _load(session, [product_id], viewer, branch_id, db.dialect)
    product, stock = rows[product_id]
    urls = product['image_urls'] or []
    return ProductHit(id=product_id, sku=product['sku'], title=product['title'], brand=product['brand'],
                      category=product['category'], price=product['price'], iva_rate=product['iva_rate'],
                      image_url=urls[0] if urls else None,
                      stock=stock.get(branch_id) if branch_id is not None else None, stock_by_branch=stock)


async def products_by_skus(db: Database, *, skus: Iterable[str], branch_id: int | None) -> dict[str, ProductHit]:
    wanted = sorted({sku.strip() for sku in skus if sku.strip()})
    if not wanted:
        return {}
    async with _reading(db) as session:
        ids = (await session.execute(select(Product.id).where(col(Product.sku).in_(wanted)))).scalars().all()
        rows = await _load(session, list(ids), None, branch_id, db.dialect)
    out = {}
    for product_id, (product, stock) in rows.items():
        urls = product['image_urls'] or []
        out[product['sku']] = ProductHit(
            id=product_id, sku=product['sku'], title=product['title'], brand=product['brand'],
            category=product['category'], price=product['price'], iva_rate=product['iva_rate'],
            image_url=urls[0] if urls else None, stock=stock.get(branch_id) if branch_id is not None else None,
            stock_by_branch=stock)
    return out


async def branch_names(db: Database, branch_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(branch_ids))
    if not wanted:
        return {}
    async with db.session() as session:
        return dict((await session.exec(select(Branch.id, Branch.name).where(col(Branch.id).in_(wanted)))).all())


# --- formatting for WhatsApp -------------------------------------------------------------------------------------


def format_ars(amount: Decimal) -> str:
    """'$ 65.300,00': the Argentine way (dot for thousands, comma for cents)."""
    whole, cents = f'{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}'.split('.')
    return f'$ {whole.replace(",", ".")},{cents}'


def product_message(hit: ProductHit, *, branch_name: str | None = None) -> str:
    """The WhatsApp text an agent sends from the catalog page: title, price with IVA, stock, first photo.
    The `SKU` line is what the conversation summary recognizes the product by."""
    lines = [f'*{hit.title}*', f'Precio: {format_ars(hit.price_with_iva)} (IVA incluido)']
    if hit.stock is not None:
        where = f' en {branch_name}' if branch_name else ''
        lines.append(f'Stock{where}: {hit.stock} u.' if hit.stock > 0 else f'Sin stock{where} por el momento')
    if hit.image_url:
        lines.append(f'Foto: {hit.image_url}')
    lines.append(f'SKU {hit.sku}')
    return '\n'.join(lines)


_SKU_IN_TEXT = re.compile(r'\bSKU[:\s]+([A-Za-z0-9][A-Za-z0-9._/-]{1,39})')


def skus_in_text(value: str) -> list[str]:
    return [match.rstrip('.,;:') for match in _SKU_IN_TEXT.findall(value)]

