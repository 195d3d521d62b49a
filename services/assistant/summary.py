"""The AI summary of a conversation (C4, A3): structured, stored, versioned.

What it holds: the vehicle (make, model, year, engine, VIN), what the customer needs, the products asked about or
offered with their current price (IVA included) and stock at the conversation's branch, the purchase intent
(low/medium/high), the stage (greeting → need → vehicle → products → quote → closing → closed), a confidence
0–100 and a one-line gist for the agent who takes over.

It is computed by rules from the thread (the same understanding as the rule engine), the quotes and sales of the
conversation and the catalog — deterministic and cheap enough to run on every message, whichever engine answers.
A new version row is written only when something changed, and `summary.updated` is published after the commit.
`SummaryWorker` recomputes on each new message and sweeps active conversations every `refresh_seconds` (price or
stock changes, messages another process stored).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..access import Viewer
from ..catalog.search import ProductHit, catalog_index, format_ars, products_by_skus, skus_in_text
from ..catalog.vehicles import Vehicle
from ..database import Database
from ..errors import NotFound
from ..events import Event, EventPublisher
from ..models import (
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Product,
    ProductCode,
    Quote,
    QuoteStatus,
    Sale,
    SenderKind,
)
from ..models.assistant import ConversationSummary
from ..vin.readings import VinReadingPublic, latest_good_reading
from .engine import HistoryMessage
from .nlu import understand
from .rules import read_state

log = logging.getLogger(__name__)

SUMMARY_UPDATED = 'summary.updated'
STAGES = ('greeting', 'need', 'vehicle', 'products', 'quote', 'closing', 'closed')
INTENT_LEVELS = ('low', 'medium', 'high')
MAX_PRODUCTS = 8
THREAD_LIMIT = 200


@dataclass(frozen=True)
class SummaryProduct:
    sku: str
    title: str
    price: Decimal | None  # ARS with IVA; None when the product is no longer in the catalog
    stock: int | None  # units at the conversation's branch


@dataclass(frozen=True)
class SummaryView:
    conversation_id: int
    version: int
    vehicle: Vehicle | None
    vin: str
    needs: list[str]
    products: list[SummaryProduct]
    intent: str
    stage: str
    confidence: int
    gist: str
    updated_at: datetime | None = None

    @property
    def stage_progress(self) -> float:
        """0 at the greeting, 1 once closed: what the panel's bar shows."""
        return STAGES.index(self.stage) / (len(STAGES) - 1) if self.stage in STAGES else 0.0


@dataclass(frozen=True)
class PhotoVehicle:
    """The vehicle and VIN a photo's VIN reading found (services.vin), in the summary's terms."""

    vin: str
    vehicle: Vehicle | None

    @classmethod
    def of(cls, reading: VinReadingPublic | None) -> PhotoVehicle | None:
        if reading is None or not reading.found or not reading.vin:
            return None
        decoded = reading.vehicle
        vehicle = (
            Vehicle(make=decoded.make or None, model=decoded.model or None, year=decoded.year)
            if decoded is not None and (decoded.make or decoded.model or decoded.year)
            else None
        )
        return cls(vin=reading.vin, vehicle=vehicle)


@dataclass(frozen=True)
class _Facts:
    quote_statuses: list[str] = field(default_factory=list)
    sold: bool = False
    closed: bool = False


def compute_summary(  # noqa: PLR0912, PLR0915 - each rule is one line; split, they read worse
    conversation_id: int,
    history: Sequence[HistoryMessage],
    products: dict[str, ProductHit],
    facts: _Facts,
    *,
    customer_codes: Sequence[str] = (),
    photo: PhotoVehicle | None = None,
) -> SummaryView:
    """The summary from what is known; pure, so it can be tested without a database. `photo` is what the
    newest photo's VIN reading found; what the customer wrote wins where it names the vehicle differently."""
    state = read_state(list(history))
    vehicle = state.effective_vehicle
    if photo is not None and photo.vehicle is not None:
        vehicle = vehicle.merged_over(photo.vehicle) if vehicle is not None else photo.vehicle
    vin = state.vin.vin if state.vin and state.vin.valid else (photo.vin if photo is not None else '')
    customer = [m for m in history if m.from_customer]
    signals: set[str] = set()
    purchase_after_offer = False
    offered_yet = False
    for message in history:
        if not message.from_customer:
            offered_yet = offered_yet or bool(skus_in_text(message.text))
            continue
        understood = understand(message.text)
        signals |= understood.signals
        if offered_yet and (understood.purchase_signal or understood.intent == 'confirm'):
            purchase_after_offer = True
    skus = list(
        dict.fromkeys([*customer_codes, *(sku for m in history if not m.from_customer for sku in skus_in_text(m.text))])
    )[:MAX_PRODUCTS]
    summary_products = [
        SummaryProduct(
            sku=sku,
            title=products[sku].title if sku in products else sku,
            price=products[sku].price_with_iva if sku in products else None,
            stock=products[sku].stock if sku in products else None,
        )
        for sku in skus
    ]

    stage = 'greeting'
    if state.need:
        stage = 'need'
    if vehicle is not None and vehicle.known:
        stage = 'vehicle'
    if summary_products:
        stage = 'products'
    if any(status in {QuoteStatus.SENT, QuoteStatus.DRAFT} for status in facts.quote_statuses):
        stage = 'quote'
    if purchase_after_offer or QuoteStatus.ACCEPTED in facts.quote_statuses:
        stage = 'closing'
    if facts.sold or facts.closed:
        stage = 'closed'

    if (
        purchase_after_offer
        or facts.sold
        or QuoteStatus.ACCEPTED in facts.quote_statuses
        or signals & {'purchase', 'quote'}
    ):
        intent = 'high'
    elif signals & {'price', 'stock'} or (state.need and vehicle is not None and vehicle.known) or summary_products:
        intent = 'medium'
    else:
        intent = 'low'

    confidence = 30
    if state.need:
        confidence += 15
    if vehicle is not None and vehicle.model:
        confidence += 20
    if vehicle is not None and vehicle.year:
        confidence += 10
    if vin:
        confidence += 15
    elif state.vin is not None:
        confidence -= 10
    if summary_products:
        confidence += 10
    models_named = {m.vehicle.model for m in (understand(h.text) for h in customer) if m.vehicle and m.vehicle.model}
    if len(models_named) > 1:
        confidence -= 20  # the customer named different cars: the summary may mix them
    confidence = max(0, min(100, confidence if customer else 0))

    gist = _gist(state.need, vehicle, summary_products, intent, stage)
    return SummaryView(
        conversation_id=conversation_id,
        version=0,
        vehicle=vehicle,
        vin=vin,
        needs=[' '.join(state.need)] if state.need else [],
        products=summary_products,
        intent=intent,
        stage=stage,
        confidence=confidence,
        gist=gist,
    )


def _gist(need: Sequence[str], vehicle: Vehicle | None, products: list[SummaryProduct], intent: str, stage: str) -> str:
    parts = [f'Busca {" ".join(need)}' if need else 'Consulta general']
    if vehicle is not None and vehicle.known:
        parts[0] += f' para {vehicle.label()}'
    if products:
        cheapest = min((p.price for p in products if p.price is not None), default=None)
        parts.append(
            f'{len(products)} producto(s) ofrecido(s)'
            + (f' desde {format_ars(cheapest)}' if cheapest is not None else '')
        )
    parts.append({'low': 'intención baja', 'medium': 'intención media', 'high': 'intención alta'}[intent])
    if stage in {'quote', 'closing', 'closed'}:
        parts.append({'quote': 'presupuesto enviado', 'closing': 'cerrando la venta', 'closed': 'cerrada'}[stage])
    return ' · '.join(parts)[:300]


def _as_row_values(view: SummaryView) -> dict[str, Any]:
    vehicle = view.vehicle or Vehicle()
    return {
        'vehicle_make': (vehicle.make or '')[:40],
        'vehicle_model': (vehicle.model or '')[:60],
        'vehicle_year': vehicle.year,
        'vehicle_engine': (vehicle.engine or '')[:40],
        'vin': view.vin,
        'needs': list(view.needs),
        'products': [
            {'sku': p.sku, 'title': p.title, 'price': str(p.price) if p.price is not None else None, 'stock': p.stock}
            for p in view.products
        ],
        'intent': view.intent,
        'stage': view.stage,
        'confidence': view.confidence,
        'gist': view.gist,
    }


def _view_of(row: ConversationSummary) -> SummaryView:
    vehicle = Vehicle(
        make=row.vehicle_make or None,
        model=row.vehicle_model or None,
        year=row.vehicle_year,
        engine=row.vehicle_engine or None,
    )
    return SummaryView(
        conversation_id=row.conversation_id,
        version=row.version,
        vehicle=vehicle if vehicle.known or vehicle.year else None,
        vin=row.vin,
        needs=list(row.needs),
        products=[
            SummaryProduct(
                sku=p['sku'],
                title=p['title'],
                price=Decimal(p['price']) if p.get('price') is not None else None,
                stock=p.get('stock'),
            )
            for p in row.products
        ],
        intent=row.intent,
        stage=row.stage,
        confidence=row.confidence,
        gist=row.gist,
        updated_at=row.created_at,
    )


async def latest_summary(db: Database, *, viewer: Viewer, conversation_id: int) -> SummaryView | None:
    """The newest version, for a viewer allowed to see the conversation's branch (B2)."""
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or not viewer.can_see_branch(conversation.branch_id):
            raise NotFound(f'no conversation {conversation_id}')
        row = (
            await session.exec(
                select(ConversationSummary)
                .where(ConversationSummary.conversation_id == conversation_id)
                .order_by(col(ConversationSummary.version).desc())
                .limit(1)
            )
        ).first()
    return _view_of(row) if row else None


async def summary_versions(db: Database, *, viewer: Viewer, conversation_id: int) -> list[SummaryView]:
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or not viewer.can_see_branch(conversation.branch_id):
            raise NotFound(f'no conversation {conversation_id}')
        rows = (
            await session.exec(
                select(ConversationSummary)
                .where(ConversationSummary.conversation_id == conversation_id)
                .order_by(col(ConversationSummary.version))
            )
        ).all()
    return [_view_of(row) for row in rows]


async def refresh_summary(db: Database, *, conversation_id: int, publisher: EventPublisher) -> SummaryView | None:
    """Recompute; store a new version and publish `summary.updated` only if something changed."""
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            return None
        rows = (
            await session.exec(
                select(Message.id, Message.sender_kind, Message.text, Message.direction)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id).desc())
                .limit(THREAD_LIMIT)
            )
        ).all()
        quotes = (await session.exec(select(Quote.status).where(Quote.conversation_id == conversation_id))).all()
        sold = (
            await session.exec(select(func.count()).select_from(Sale).where(Sale.conversation_id == conversation_id))
        ).one() > 0
        latest = (
            await session.exec(
                select(ConversationSummary)
                .where(ConversationSummary.conversation_id == conversation_id)
                .order_by(col(ConversationSummary.version).desc())
                .limit(1)
            )
        ).first()
        inbound_text = ' '.join(row[2] or '' for row in rows if row[3] == Direction.INBOUND)
    history = [HistoryMessage(message_id=row[0], sender_kind=row[1], text=row[2] or '') for row in reversed(rows)]
    codes = understand(inbound_text).codes if inbound_text else ()
    customer_skus = await _skus_for_codes(db, codes)
    skus = [
        *customer_skus,
        *(sku for m in history if m.sender_kind != SenderKind.CUSTOMER for sku in skus_in_text(m.text)),
    ]
    products = await products_by_skus(db, skus=skus, branch_id=conversation.branch_id)
    await catalog_index(db)  # warm: the first summary after start must not pay for it twice
    photo = PhotoVehicle.of(await latest_good_reading(db, conversation_id=conversation_id))
    view = compute_summary(
        conversation_id,
        history,
        products,
        _Facts(quote_statuses=list(quotes), sold=sold, closed=conversation.status == ConversationStatus.CLOSED),
        customer_codes=customer_skus,
        photo=photo,
    )
    values = _as_row_values(view)
    last_message_id = history[-1].message_id if history else None
    if latest is not None and all(getattr(latest, key) == value for key, value in values.items()):
        return _view_of(latest)
    version = (latest.version if latest else 0) + 1
    async with db.session() as session:
        row = ConversationSummary(
            conversation_id=conversation_id,
            branch_id=conversation.branch_id,
            version=version,
            last_message_id=last_message_id,
            **values,
        )
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:  # another worker stored this version a moment ago; theirs stands
            return None
    await publisher.publish(
        [
            Event(
                SUMMARY_UPDATED,
                conversation.branch_id,
                conversation_id,
                {'version': version, 'stage': view.stage, 'intent': view.intent},
            )
        ]
    )
    return _view_of(row)


async def _skus_for_codes(db: Database, codes: Sequence[str]) -> list[str]:
    """Part codes the customer typed that are in the catalog, as SKUs."""
    from ..catalog.formats import normalize_code

    normalized = [normalize_code(code) for code in codes if code]
    if not normalized:
        return []
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Product.sku)
                .join(ProductCode, col(ProductCode.product_id) == Product.id)
                .where(col(ProductCode.code).in_(normalized))
                .limit(MAX_PRODUCTS)
            )
        ).all()
    return list(dict.fromkeys(rows))
