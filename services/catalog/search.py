"""Catalog search (S1): typo-tolerant, accent-insensitive Spanish, part/OEM codes first, vehicle and stock filters.

How a query is answered:

1. **Plan, in Python, from the vocabulary in memory** (`catalog_index`: loaded once, checked against a one-row
   fingerprint every INDEX_TTL_SECONDS; no query per search):
   - **Codes.** Every run of 1-6 consecutive pieces of the query is normalized like the catalog's codes
     (`normalize_code`: '0 986 424 627' -> '0986424627') to be looked up exactly; a single long piece is also
     tried as a code prefix when nothing matches exactly. Code hits always come first.
   - **Vehicle.** The vehicle part ("gol trend 2015", "corsa 1.6") becomes a fitment filter: make, the model and
     the models it stands for (a "Gol" is also a "Gol Trend"), the year inside [year_from, year_to], and an engine
     displacement matched against the fitment's engine when it names one. Universal products (no fitments) pass.
   - **Words.** The rest is folded (services/catalog/text.py) and each word matched against the vocabulary:
     exactly, as a Spanish plural/gender variant, as a prefix (the word being typed), or corrected within one or
     two edits ('pastilals' -> 'pastillas'). A word the catalog has never seen and cannot correct is ignored and
     reported.
2. **One statement, one round trip** (`_search_statement`): the exact and prefix code lookups, the full-text match
   of every word (FTS5 on SQLite, a GIN tsvector index on PostgreSQL) with the vehicle and stock filters, and —
   only when no product has every word — the products with some of them, flagged `partial`; each row comes with
   its visible stock. At most CANDIDATES text matches are read.
3. **Ranking**, in Python over those candidates: words found in the title outweigh words found only in the
   brand/category/vehicles, the product type leading the title and words adjacent as typed are bonuses, then
   stock at the branch.

Stock figures are limited to the branches the viewer may see (B2); the bot passes its conversation's branch.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import re
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Dialect, Engine, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import col, select

from ..access import Viewer
from ..database import Database
from ..models import Branch, Product, ProductFitment, table_of
from ..models.catalog import CatalogTerm
from ..models.types import ScaledDecimal
from .formats import normalize_code
from .text import UNIVERSAL_WORD, Corrector, word_variants, words
from .vehicles import Vehicle, VehicleVocabulary, tokens

CANDIDATES = 100
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
    price: Decimal | None  # net of IVA, as stored; None: imported without a price (not quotable yet)
    iva_rate: Decimal
    image_url: str | None
    # Units at the branch the search was made for (None: no figure there); per visible branch below.
    stock: int | None
    stock_by_branch: dict[int, int]
    matched_code: str | None = None  # the catalog code (as printed) that matched exactly
    score: float = 0.0

    @property
    def price_with_iva(self) -> Decimal | None:
        if self.price is None:
            return None
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


# --- the vocabulary (one per database, in process memory; it changes only on import) ---------------------------


@dataclass
class CatalogIndex:
    vocabulary: dict[str, int]
    sorted_words: list[str]
    corrector: Corrector
    vehicles: VehicleVocabulary
    fingerprint: tuple[int, int]
    checked_at: float

    def with_prefix(self, prefix: str, *, limit: int = 50) -> list[str]:
        start = bisect.bisect_left(self.sorted_words, prefix)
        found = []
        for word in self.sorted_words[start : start + limit]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found


# Keyed by the Database object itself (weakly): tests build many databases, and an id() can be reused.
_indexes: weakref.WeakKeyDictionary[Database, CatalogIndex] = weakref.WeakKeyDictionary()
_FINGERPRINT = text('SELECT count(*), coalesce(sum(product_count), 0) FROM catalog_terms')
# The distinct (make, model) pairs by hopping along ix_product_fitments_vehicle, one probe per pair: a hundred
# probes instead of reading the 2,000,000 fitments of a 1,000,000-product catalog (~1 s).
_DISTINCT_MODELS = text("""
WITH RECURSIVE pairs(make, model) AS (
    (SELECT make, model FROM product_fitments ORDER BY make, model LIMIT 1)
    UNION ALL
    SELECT following.make, following.model FROM pairs, LATERAL (
        SELECT f.make, f.model FROM product_fitments f
        WHERE (f.make, f.model) > (pairs.make, pairs.model)
        ORDER BY f.make, f.model LIMIT 1) AS following
)
SELECT make, model FROM pairs""")


def invalidate_index(db: Database) -> None:
    _indexes.pop(db, None)


async def catalog_index(db: Database) -> CatalogIndex:
    """The vocabulary, loaded once and kept: an import in this process drops it (`invalidate_index`); an import
    by another process is noticed within INDEX_TTL_SECONDS by a one-row fingerprint of `catalog_terms` (recounted
    by every import), and only then is the vocabulary read again. So a search never waits for it."""
    index = _indexes.get(db)
    if index is not None and time.monotonic() - index.checked_at < INDEX_TTL_SECONDS:
        return index
    async with _reading(db) as connection:
        count, total = (await connection.execute(_FINGERPRINT)).one()
        fingerprint = (int(count), int(total))
        if index is not None and index.fingerprint == fingerprint:
            index.checked_at = time.monotonic()
            return index
        terms = dict((await connection.execute(select(CatalogTerm.term, CatalogTerm.product_count))).all())
        models = (
            await connection.execute(
                _DISTINCT_MODELS
                if db.dialect == 'postgresql'
                else select(ProductFitment.make, ProductFitment.model).distinct()
            )
        ).all()
    index = CatalogIndex(
        vocabulary=terms,
        sorted_words=sorted(terms),
        corrector=Corrector(terms),
        vehicles=VehicleVocabulary(models),
        fingerprint=fingerprint,
        checked_at=time.monotonic(),
    )
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


def plan_query(
    query: str, index: CatalogIndex, *, vehicle: Vehicle | None = None, parse_vehicle: bool = True
) -> QueryPlan:
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
    return QueryPlan(
        groups=groups,
        vehicle=vehicle,
        corrections=corrections,
        ignored=ignored,
        code_candidates=code_candidates,
        code_prefix=code_prefix,
    )


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
    if not corrected and word.endswith('s') and len(word) > 4:
        # A misspelt plural whose plural form the catalog does not index ('frneos': the catalog keeps 'freno'
        # where a product has both): correct its singular.
        corrected = index.corrector.corrections(word[:-1]) or (
            index.corrector.corrections(word[:-2]) if word.endswith('es') else []
        )
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
    prefix = (
        whole
        if len(pieces) <= 4 and 5 <= len(whole) <= 40 and any(ch.isdigit() for ch in whole) and whole.isalnum()
        else None
    )
    return list(candidates)[:60], prefix


# --- running it: one statement, one round trip ------------------------------------------------------------------

# A search's reads go through their own small pool on PostgreSQL: autocommit (no BEGIN/ROLLBACK around a
# read-only statement) and no pre-ping. The application's pool pings every checkout, and asyncpg's ping is three
# round trips (BEGIN; ';'; ROLLBACK): 3-5 ms on a loaded server, more than the search itself. A connection the
# server dropped is noticed by the failing statement instead, and the search is retried once on a fresh one.
# Two planner settings for these sessions only:
# - plan_cache_mode = force_generic_plan: the statement is planned once per connection, with the shape that suits
#   every query — the GIN bitmap scan, the correlated checks, the one-time filters that skip the unused parts. A
#   plan for the actual values sees that a frequent word ("filtro": 12 % of the catalog) will fill the LIMIT
#   quickly and switches to a sequential scan that recomputes to_tsvector for every row it reads (12-90 ms at
#   1,000,000 products, against 2-20 ms for the bitmap); it would also re-plan five CTEs on every search.
# - jit = off: JIT compiles for 10-50 ms whenever an estimate crosses jit_above_cost, which a search with a
#   small LIMIT never needs.
READ_POOL_SIZE = 4
READ_POOL_OVERFLOW = 6
_read_engines: weakref.WeakKeyDictionary[Database, AsyncEngine] = weakref.WeakKeyDictionary()


def _read_engine(db: Database) -> AsyncEngine:
    if db.dialect != 'postgresql':
        return db.engine
    engine = _read_engines.get(db)
    if engine is None:
        engine = create_async_engine(
            db.engine.url,
            pool_size=READ_POOL_SIZE,
            max_overflow=READ_POOL_OVERFLOW,
            pool_pre_ping=False,
            isolation_level='AUTOCOMMIT',
            hide_parameters=True,
            connect_args={'server_settings': {'jit': 'off', 'plan_cache_mode': 'force_generic_plan'}},
        )
        _read_engines[db] = engine
        event.listen(db.engine.sync_engine, 'engine_disposed', _dispose_read_engine(db))
    return engine


def _dispose_read_engine(db: Database) -> Any:
    owner = weakref.ref(db)

    def dispose(_engine: Engine) -> None:
        # Runs inside AsyncEngine.dispose()'s greenlet, so the async pool can close its connections here.
        database = owner()
        engine = _read_engines.pop(database, None) if database is not None else None
        if engine is not None:
            engine.sync_engine.dispose()

    return dispose


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection for a search's reads (each statement is consistent on its own). On SQLite, the driver opens
    no transaction for a SELECT, and switching the connection to autocommit and back would cost two more hops
    to its thread (~3 ms on a loaded machine)."""
    async with _read_engine(db).connect() as connection:
        yield connection


async def _fetch(db: Database, statement: Any, params: dict[str, Any]) -> Sequence[Row[*tuple[Any, ...]]]:
    for attempt in range(2):
        try:
            async with _reading(db) as connection:
                return (await connection.execute(statement, params)).all()
        except DBAPIError as exc:
            # The server closed the connection (restart, idle timeout): the pool has dropped it; once more.
            if attempt or not exc.connection_invalidated:
                raise
    raise AssertionError('unreachable')


def _search_statement(dialect: str) -> Any:
    """The whole search as one statement; every varying part is a bound parameter, so each database prepares it
    once (asyncpg caches the prepared statement per connection).

    - `exact`: the code candidates looked up exactly; `prefixed`: the typed code as a prefix, only without an
      exact hit (a `NOT EXISTS` over a materialized CTE is a one-time filter: the scan does not even start).
    - `every_word`: the full-text match of every word group (and the vehicle's words), at most CANDIDATES rows;
      `some_words`: any group, only when nothing had them all (the "partial" fallback, gated the same way).
    - The vehicle's exact fitment check is correlated on purpose and `OFFSET 0` keeps it so: without it the
      planner may hash every fitment of the model (40,000 rows at 1,000,000 products, 160 ms) to test the hundred
      rows the LIMIT needs, one index probe each.
    - The stock of the visible branches comes aggregated as 'branch:quantity,…' with each row.
    """
    postgres = dialect == 'postgresql'
    every_from = some_from = 'products p'
    if postgres:
        codes = 'c.code = ANY(CAST(:codes AS varchar[]))'
        prefix = 'c.code ~>=~ CAST(:code_prefix AS varchar) AND c.code ~<~ CAST(:code_prefix_end AS varchar)'
        every = (
            "to_tsvector('simple'::regconfig, p.search_text) @@ to_tsquery('simple'::regconfig, CAST(:every AS text))"
        )
        some = "to_tsvector('simple'::regconfig, p.search_text) @@ to_tsquery('simple'::regconfig, CAST(:some AS text))"
        models = 'f.model = ANY(CAST(:models AS varchar[]))'
        branches = 's.branch_id = ANY(CAST(:branches AS integer[]))'
        stock = "string_agg(s.branch_id::text || ':' || s.quantity::text, ',')"
        image = 'p.image_urls ->> 0'
        keep_correlated = ' OFFSET 0'
    else:
        codes = 'c.code IN (SELECT value FROM json_each(:codes))'
        prefix = 'c.code >= :code_prefix AND c.code < :code_prefix_end'
        # Driven by the FTS5 table, so its matches stream in and the LIMIT stops them early.
        every_from = some_from = 'products_fts JOIN products p ON p.id = products_fts.rowid'
        every, some = 'products_fts MATCH :every', 'products_fts MATCH :some'
        models = 'f.model IN (SELECT value FROM json_each(:models))'
        branches = 's.branch_id IN (SELECT value FROM json_each(:branches))'
        stock = "group_concat(s.branch_id || ':' || s.quantity, ',')"
        image = "json_extract(p.image_urls, '$[0]')"
        keep_correlated = ''
    # Only this module's fragments go into the text; every value is a bound parameter.
    filters = f"""p.active
          AND (NOT :vehicle OR p.universal OR EXISTS (
                SELECT 1 FROM product_fitments f
                WHERE f.product_id = p.id
                  AND (CAST(:make AS varchar) IS NULL OR f.make = CAST(:make AS varchar))
                  AND (NOT :by_model OR {models})
                  AND (CAST(:year AS integer) IS NULL
                       OR (f.year_from <= CAST(:year AS integer) AND f.year_to >= CAST(:year AS integer)))
                  AND (CAST(:displacement AS varchar) IS NULL OR f.engine = ''
                       OR f.engine LIKE CAST(:displacement AS varchar)){keep_correlated}))
          AND (NOT :in_stock OR EXISTS (
                SELECT 1 FROM product_stock s
                WHERE s.product_id = p.id AND s.branch_id = CAST(:stock_branch AS integer)
                  AND s.quantity > 0{keep_correlated}))"""  # noqa: S608
    # The candidates carry their columns out of the scan that found them: no second visit to each row.
    columns = f'p.id, p.sku, p.title, p.brand, p.category, p.price, p.iva_rate, {image} AS image_url, p.search_text'
    sql = f"""
WITH exact AS MATERIALIZED (
    SELECT c.product_id, c.display_code, length(c.code) AS weight
    FROM product_codes c
    WHERE {codes}
    ORDER BY length(c.code) DESC
    LIMIT 50
), prefixed AS MATERIALIZED (
    SELECT c.product_id, c.display_code, 0 AS weight
    FROM product_codes c
    WHERE CAST(:code_prefix AS varchar) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM exact) AND {prefix}
    LIMIT 20
), every_word AS MATERIALIZED (
    SELECT {columns} FROM {every_from}
    WHERE CAST(:every AS varchar) IS NOT NULL
      AND (:words_too OR (NOT EXISTS (SELECT 1 FROM exact) AND NOT EXISTS (SELECT 1 FROM prefixed)))
      AND {every}
      AND {filters}
    LIMIT {CANDIDATES}
), some_words AS MATERIALIZED (
    SELECT {columns} FROM {some_from}
    WHERE CAST(:some AS varchar) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM every_word)
      AND {some}
      AND {filters}
    LIMIT {CANDIDATES}
), matched AS (
    SELECT 0 AS source, m.display_code, m.weight, {columns}
    FROM (SELECT * FROM exact UNION ALL SELECT * FROM prefixed) m JOIN products p ON p.id = m.product_id
    UNION ALL SELECT 1, NULL, 0, w.* FROM every_word w
    UNION ALL SELECT 2, NULL, 0, w.* FROM some_words w
)
SELECT m.*, (SELECT {stock} FROM product_stock s
             WHERE s.product_id = m.id AND (:all_branches OR {branches})) AS stock
FROM matched m"""  # noqa: S608
    return text(sql)


_STATEMENTS: dict[str, Any] = {}


def _statement(dialect: str) -> Any:
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        statement = _STATEMENTS[dialect] = _search_statement(dialect)
    return statement


def _visible_branches(viewer: Viewer | None, branch_id: int | None) -> list[int] | None:
    """The branches whose stock a search may show (None: all). The rule of `access.branch_scope`, as a list
    the one prepared statement binds: with a viewer, the branches it may see; without one (the bot), only the
    conversation's branch; without either, none."""
    if viewer is None:
        return [branch_id] if branch_id is not None else []
    if viewer.branch_ids is None:
        return None
    return sorted(viewer.branch_ids)


def _parameters(
    plan: QueryPlan,
    index: CatalogIndex,
    dialect: str,
    *,
    run_text: bool,
    viewer: Viewer | None,
    branch_id: int | None,
    in_stock_only: bool,
) -> dict[str, Any]:
    postgres = dialect == 'postgresql'

    def array(values: Sequence[Any]) -> Any:
        return list(values) if postgres else json.dumps(list(values))

    vehicle = plan.vehicle if plan.vehicle is not None and (plan.vehicle.known or plan.vehicle.year) else None
    models = index.vehicles.models_of(vehicle.make, vehicle.model) if vehicle and vehicle.model else []
    displacement = next(
        (part for part in ((vehicle.engine if vehicle else None) or '').split() if re.fullmatch(r'\d\.\d', part)), None
    )
    visible = _visible_branches(viewer, branch_id)
    every = _fts_expression(plan, dialect, index, every_word=True) if run_text else None
    some = _fts_expression(plan, dialect, index, every_word=False) if run_text and len(plan.groups) > 1 else None
    prefix = plan.code_prefix
    return {
        'codes': array(plan.code_candidates),
        'code_prefix': prefix,
        'code_prefix_end': prefix + '\U0010ffff' if prefix else None,
        'every': every,
        'some': some,
        'words_too': bool(plan.groups),
        'vehicle': vehicle is not None,
        'make': vehicle.make if vehicle else None,
        'by_model': bool(models),
        'models': array(models),
        'year': vehicle.year if vehicle else None,
        'displacement': f'{displacement}%' if displacement else None,
        'in_stock': in_stock_only and branch_id is not None,
        'stock_branch': branch_id,
        'all_branches': visible is None,
        'branches': array(visible or []),
    }


async def search_products(
    db: Database,
    *,
    query: str,
    viewer: Viewer | None = None,
    branch_id: int | None = None,
    vehicle: Vehicle | None = None,
    parse_vehicle: bool = True,
    in_stock_only: bool = False,
    limit: int = 20,
) -> SearchResult:
    """Products for `query`, best first. `branch_id` is the branch whose stock counts for ranking and for
    `in_stock_only` (the header's branch, or the conversation's); `viewer` limits which branches' stock is shown
    (None: only `branch_id`'s, as for the bot). One round trip to the database."""
    started = time.perf_counter()
    if viewer is not None and branch_id is not None and not viewer.can_see_branch(branch_id):
        branch_id = None  # another branch's stock is not this viewer's to see or filter by
    limit = max(1, min(limit, 100))
    query = (query or '').strip()[:300]
    index = await catalog_index(db)
    plan = plan_query(query, index, vehicle=vehicle, parse_vehicle=parse_vehicle)
    if not query and (plan.vehicle is None or not plan.vehicle.known):
        return SearchResult(hits=[], seconds=time.perf_counter() - started)
    run_text = bool(plan.groups) or bool(plan.vehicle and plan.vehicle.known)
    if not (run_text or plan.code_candidates or plan.code_prefix):
        return SearchResult(
            hits=[],
            vehicle=plan.vehicle,
            corrections=plan.corrections,
            ignored=plan.ignored,
            seconds=time.perf_counter() - started,
        )
    rows = await _fetch(
        db,
        _statement(db.dialect),
        _parameters(
            plan, index, db.dialect, run_text=run_text, viewer=viewer, branch_id=branch_id, in_stock_only=in_stock_only
        ),
    )
    # Longer codes first: '0986424627' says more than a 4-digit piece of it that happens to be a code too.
    code_rows = sorted((row for row in rows if row[0] == 0), key=lambda row: -row[2])
    text_rows = [row for row in rows if row[0] != 0]
    code_hits: dict[int, str] = {}
    for row in code_rows:
        code_hits.setdefault(row[3], row[1])
    # Scored from the raw rows; only the page's `limit` best become ProductHit (decimals, dicts): at CANDIDATES
    # candidates that is most of the Python time of a broad search.
    scorer = _Scorer(plan)
    scored: dict[int, tuple[float, str, Any, dict[int, int]]] = {}
    for row in [*code_rows, *text_rows]:
        product_id = row[3]
        if product_id in scored:
            continue
        stock = _parse_stock(row[12])
        if in_stock_only and branch_id is not None and not stock.get(branch_id):
            continue
        score = 1000.0 if product_id in code_hits else scorer.score(row[5], row[11], stock, branch_id)
        scored[product_id] = (score, row[5], row, stock)
    best = heapq.nsmallest(limit, scored.values(), key=lambda item: (-item[0], item[1]))
    dialect = db.engine.dialect
    hits = [
        _hit(row, stock, branch_id, dialect, matched_code=code_hits.get(row[3]), score=score)
        for score, _, row, stock in best
    ]
    # Pieces of a code that matched are not "unknown words".
    ignored = [w for w in plan.ignored if not (code_hits and any(ch.isdigit() for ch in w))]
    return SearchResult(
        hits=hits,
        vehicle=plan.vehicle,
        corrections=plan.corrections,
        ignored=ignored,
        partial=any(row[0] == 2 for row in text_rows),
        truncated=len(text_rows) >= CANDIDATES,
        seconds=time.perf_counter() - started,
    )


def _scaled_decimal(column: str) -> ScaledDecimal:
    """The type of one of `products`' exact-decimal columns (Money(), Rate()), to read raw rows back with."""
    column_type = table_of(Product).c[column].type
    assert isinstance(column_type, ScaledDecimal)
    return column_type


_PRICE = _scaled_decimal('price')
_IVA_RATE = _scaled_decimal('iva_rate')


def _hit(
    row: Any,
    stock: dict[int, int],
    branch_id: int | None,
    dialect: Dialect,
    *,
    matched_code: str | None = None,
    score: float = 0.0,
) -> ProductHit:
    """A result row (id, sku, title, brand, category, price, iva_rate, image_url from position 3 on) as a hit;
    prices are exact decimals stored as integers, read back by the model's own column types."""
    price, iva_rate = _PRICE.process_result_value(row[8], dialect), _IVA_RATE.process_result_value(row[9], dialect)
    assert price is not None and iva_rate is not None  # NOT NULL columns
    if price == 0:
        # The importer stores 0 exactly for a product without a price (`priced` false): a real price is > 0.
        price = None
    return ProductHit(
        id=row[3],
        sku=row[4],
        title=row[5],
        brand=row[6],
        category=row[7],
        price=price,
        iva_rate=iva_rate,
        image_url=row[10],
        stock=stock.get(branch_id) if branch_id is not None else None,
        stock_by_branch=stock,
        matched_code=matched_code,
        score=score,
    )


def _parse_stock(value: str | None) -> dict[int, int]:
    if not value:
        return {}
    stock = {}
    for pair in value.split(','):
        branch, _, quantity = pair.partition(':')
        stock[int(branch)] = int(quantity)
    return stock


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
        # those before the exact fitment check runs on each remaining row. That check has the last word, so one
        # word per model is enough, the catalog's rarest: 'trend' for a Gol Trend, not also 'gol' (every Gol
        # product: 86,000 more index entries to read at 1,000,000 products).
        quote = (lambda w: w) if postgres else (lambda w: f'"{w}"')
        rarest = {min(option, key=lambda w: (index.vocabulary.get(w, 0), w)) for option in vehicle}
        alternatives = [quote(word) for word in sorted(rarest)] + [quote(UNIVERSAL_WORD)]
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


@lru_cache(maxsize=16384)
def _title_index(title: str) -> tuple[tuple[str, ...], dict[str, int]]:
    """A title's words and where each first appears; cached for many more titles than `words` keeps, since every
    broad search ranks up to CANDIDATES of them."""
    title_words = words.__wrapped__(title)
    first: dict[str, int] = {}
    for position, word in enumerate(title_words):
        first.setdefault(word, position)
    return title_words, first


@lru_cache(maxsize=16384)
def _word_set(search_text: str) -> frozenset[str]:
    return frozenset(search_text.split())


class _Scorer:
    """Ranks the candidates of one plan: words found in the title outweigh words found only in the
    brand/category/vehicles, the product type leading the title and words adjacent as typed are bonuses, then
    stock at the branch."""

    def __init__(self, plan: QueryPlan) -> None:
        self.groups = [[(a.word, a.prefix, a.weight) for a in group] for group in plan.groups]
        self._by_text: dict[tuple[str, str], float] = {}  # products with the same words score the same

    def score(self, title: str, search_text: str, stock: dict[int, int], branch_id: int | None) -> float:
        key = (title, search_text)
        score = self._by_text.get(key)
        if score is None:
            score = self._by_text[key] = self._words_score(title, search_text)
        if branch_id is not None and stock.get(branch_id, 0) > 0:
            score += 2.0
        elif any(quantity > 0 for quantity in stock.values()):
            score += 0.5
        return score

    def _words_score(self, title: str, search_text: str) -> float:
        title_words, first = _title_index(title)
        score = 0.0
        positions: list[int | None] = []
        for group in self.groups:
            best, where = 0.0, None
            for word, prefix, weight in group:
                position = (
                    first.get(word)
                    if not prefix
                    else next((i for i, w in enumerate(title_words) if w.startswith(word)), None)
                )
                if position is not None:
                    if weight > best or where is None:
                        best, where = max(best, weight), position
                    continue
                other = _word_set(search_text)
                if word in other or (prefix and any(w.startswith(word) for w in other)):
                    best = max(best, 1.0)
            positions.append(where)
            score += best
        # The product type leads the title: "pastillas" finds "Pastillas de freno …" before "Sensor de pastillas".
        if positions and positions[0] is not None and positions[0] < 2:
            score += 1.5
        # Words next to each other as typed: "amortiguador trasero" before "amortiguador de portón trasero".
        for first_position, second in itertools.pairwise(positions):
            if first_position is not None and second is not None and second == first_position + 1:
                score += 0.75
        return score


# --- single products -------------------------------------------------------------------------------------------


def _by_sku_statement(dialect: str) -> Any:
    if dialect == 'postgresql':
        skus, branches = 'p.sku = ANY(CAST(:skus AS varchar[]))', 's.branch_id = ANY(CAST(:branches AS integer[]))'
        stock, image = "string_agg(s.branch_id::text || ':' || s.quantity::text, ',')", 'p.image_urls ->> 0'
    else:
        skus = 'p.sku IN (SELECT value FROM json_each(:skus))'
        branches = 's.branch_id IN (SELECT value FROM json_each(:branches))'
        stock, image = "group_concat(s.branch_id || ':' || s.quantity, ',')", "json_extract(p.image_urls, '$[0]')"
    # Only this module's fragments go into the text; every value is a bound parameter.
    sql = f"""
SELECT NULL, NULL, NULL, p.id, p.sku, p.title, p.brand, p.category, p.price, p.iva_rate, {image} AS image_url,
       NULL, (SELECT {stock} FROM product_stock s
              WHERE s.product_id = p.id AND (:all_branches OR {branches})) AS stock
FROM products p WHERE {skus}"""  # noqa: S608
    return text(sql)


async def _by_skus(
    db: Database, skus: list[str], viewer: Viewer | None, branch_id: int | None
) -> dict[str, ProductHit]:
    dialect = db.dialect
    key = f'{dialect}:sku'
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _by_sku_statement(dialect)
    visible = _visible_branches(viewer, branch_id)
    postgres = dialect == 'postgresql'
    rows = await _fetch(
        db,
        statement,
        {
            'skus': skus if postgres else json.dumps(skus),
            'all_branches': visible is None,
            'branches': (visible or []) if postgres else json.dumps(visible or []),
        },
    )
    return {row[4]: _hit(row, _parse_stock(row[12]), branch_id, db.engine.dialect) for row in rows}


async def product_by_sku(
    db: Database, *, sku: str, viewer: Viewer | None = None, branch_id: int | None = None
) -> ProductHit | None:
    if viewer is not None and branch_id is not None and not viewer.can_see_branch(branch_id):
        branch_id = None
    return (await _by_skus(db, [sku.strip()], viewer, branch_id)).get(sku.strip())


async def products_by_skus(db: Database, *, skus: Iterable[str], branch_id: int | None) -> dict[str, ProductHit]:
    wanted = sorted({sku.strip() for sku in skus if sku.strip()})
    if not wanted:
        return {}
    return await _by_skus(db, wanted, None, branch_id)


async def branch_names(db: Database, branch_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(branch_ids))
    if not wanted:
        return {}
    async with db.session() as session:
        rows = (await session.exec(select(Branch.id, Branch.name).where(col(Branch.id).in_(wanted)))).all()
    return {branch_id: name for branch_id, name in rows if branch_id is not None}  # a primary key: never None


# --- formatting for WhatsApp -------------------------------------------------------------------------------------


def format_ars(amount: Decimal) -> str:
    """'$ 65.300,00': the Argentine way (dot for thousands, comma for cents)."""
    whole, cents = f'{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}'.split('.')
    return f'$ {whole.replace(",", ".")},{cents}'


def product_message(hit: ProductHit, *, branch_name: str | None = None) -> str:
    """The WhatsApp text an agent sends from the catalog page: title, price with IVA, stock, first photo.
    The `SKU` line is what the conversation summary recognizes the product by."""
    with_iva = hit.price_with_iva
    price = f'{format_ars(with_iva)} (IVA incluido)' if with_iva is not None else 'a confirmar'
    lines = [f'*{hit.title}*', f'Precio: {price}']
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
