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
from .rules import ConversationState, read_state

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
class SummaryFacts:
    """What the database knows beyond the thread: the conversation's quote statuses, a sale, a closed status."""

    quote_statuses: list[str] = field(default_factory=list)
    sold: bool = False
    closed: bool = False


@dataclass(frozen=True)
class _CustomerSaid:
    """What the customer's own messages say, each understood once (`nlu.understand`)."""

    wrote: bool
    signals: frozenset[str]  # every nlu signal of every customer message
    models_named: frozenset[str]  # the different car models the messages name
    purchase_after_offer: bool  # a purchase or quote signal, or a "sí", after a message that offered products


@dataclass(frozen=True)
class _Evidence:
    """What the thread and the newest photo establish; the stage, intent and confidence rules read only this and
    `SummaryFacts`."""

    need: tuple[str, ...]
    vehicle: Vehicle | None
    vin: str  # a valid VIN: the one the customer typed, else the photo's; '' when there is none
    typed_vin_invalid: bool  # the newest VIN the customer typed does not validate
    products: list[SummaryProduct]
    customer: _CustomerSaid
    # The photo's decoded VIN and the text name different years or makes (issue 18): the VIN's wins, and the
    # summary is less sure.
    vehicle_conflict: bool = False

    @property
    def vehicle_known(self) -> bool:
        return self.vehicle is not None and self.vehicle.known


def compute_summary(
    conversation_id: int,
    history: Sequence[HistoryMessage],
    products: dict[str, ProductHit],
    facts: SummaryFacts,
    *,
    customer_codes: Sequence[str] = (),
    photo: PhotoVehicle | None = None,
) -> SummaryView:
    """The summary from what is known; pure, so it can be tested without a database. `photo` is what the
    newest photo's VIN reading found; its decoded year (and make) outrank what the text says (`_vehicle`)."""
    evidence = _gather_evidence(history, products, customer_codes=customer_codes, photo=photo)
    stage = _sale_stage(evidence, facts)
    intent = _purchase_intent(evidence, facts)
    confidence = _confidence(evidence)
    return SummaryView(
        conversation_id=conversation_id,
        version=0,
        vehicle=evidence.vehicle,
        vin=evidence.vin,
        needs=[' '.join(evidence.need)] if evidence.need else [],
        products=evidence.products,
        intent=intent,
        stage=stage,
        confidence=confidence,
        gist=_gist(evidence.need, evidence.vehicle, evidence.products, intent, stage),
    )


def _gather_evidence(
    history: Sequence[HistoryMessage],
    products: dict[str, ProductHit],
    *,
    customer_codes: Sequence[str],
    photo: PhotoVehicle | None,
) -> _Evidence:
    """The thread read as the rule engine reads it (`read_state`: need, vehicle, typed VIN), completed by the
    photo, plus the products offered and what the customer's messages signal."""
    state = read_state(list(history))
    vehicle, conflict = _vehicle(state, photo)
    return _Evidence(
        need=state.need,
        vehicle=vehicle,
        vehicle_conflict=conflict,
        vin=_valid_vin(state, photo),
        typed_vin_invalid=state.vin is not None and not state.vin.valid,
        products=_offered_products(history, products, customer_codes),
        customer=_what_the_customer_said(history),
    )


def _vehicle(state: ConversationState, photo: PhotoVehicle | None) -> tuple[Vehicle | None, bool]:
    """The vehicle the customer wrote (with what a valid typed VIN adds), completed by the photo's where the text
    is silent; and whether the two conflict. The year decoded from the photo's VIN outranks a year guessed from
    the text (issue 18: "las de 61 mil" is not a 1961 car when the VIN says 2015); the text's model stays (it is
    usually more precise than the VIN's model family). When the makes differ the customer named another car: the
    text's vehicle, with the conflict lowering the confidence."""
    vehicle = state.effective_vehicle
    if photo is None or photo.vehicle is None:
        return vehicle, False
    if vehicle is None:
        return photo.vehicle, False
    decoded = photo.vehicle
    makes_differ = bool(vehicle.make and decoded.make and vehicle.make != decoded.make)
    years_differ = bool(vehicle.year and decoded.year and vehicle.year != decoded.year)
    if makes_differ:
        return vehicle, True  # another car named ("es para el Corsa de mi señora"): the text's, less sure
    merged = vehicle.merged_over(decoded)
    if decoded.year:
        merged = Vehicle(make=merged.make, model=merged.model, year=decoded.year, engine=merged.engine)
    return merged, years_differ


def _valid_vin(state: ConversationState, photo: PhotoVehicle | None) -> str:
    """The VIN the customer typed when it is valid, else the one the photo's reading found, else ''."""
    if state.vin is not None and state.vin.valid:
        return state.vin.vin
    return photo.vin if photo is not None else ''


def _offered_products(
    history: Sequence[HistoryMessage], products: dict[str, ProductHit], customer_codes: Sequence[str]
) -> list[SummaryProduct]:
    """The catalog products of the codes the customer typed, then every SKU the bot or an agent offered, each
    once, at most `MAX_PRODUCTS`, with today's price and stock (a product gone from the catalog keeps its SKU as
    title and has no price)."""
    offered = (sku for message in history if not message.from_customer for sku in skus_in_text(message.text))
    skus = list(dict.fromkeys([*customer_codes, *offered]))[:MAX_PRODUCTS]
    return [
        SummaryProduct(
            sku=sku,
            title=products[sku].title if sku in products else sku,
            price=products[sku].price_with_iva if sku in products else None,
            stock=products[sku].stock if sku in products else None,
        )
        for sku in skus
    ]


def _what_the_customer_said(history: Sequence[HistoryMessage]) -> _CustomerSaid:
    """Every customer message understood once: the signals, the models named, and whether a purchase or quote
    signal or a "sí" came after the first bot or agent message that offered products (one with a SKU)."""
    wrote = offered_yet = purchase_after_offer = False
    signals: set[str] = set()
    models: set[str] = set()
    for message in history:
        if not message.from_customer:
            offered_yet = offered_yet or bool(skus_in_text(message.text))
            continue
        wrote = True
        understood = understand(message.text)
        signals |= understood.signals
        if understood.vehicle is not None and understood.vehicle.model:
            models.add(understood.vehicle.model)
        if offered_yet and (understood.purchase_signal or understood.intent == 'confirm'):
            purchase_after_offer = True
    return _CustomerSaid(
        wrote=wrote,
        signals=frozenset(signals),
        models_named=frozenset(models),
        purchase_after_offer=purchase_after_offer,
    )


def _sale_stage(evidence: _Evidence, facts: SummaryFacts) -> str:
    """The furthest stage the conversation reached (`STAGES`), whatever earlier ones lack: closed (a sale, or the
    conversation closed) > closing (the customer wants to buy or said yes after an offer, or accepted a quote) >
    quote (a draft or sent quote) > products (some offered) > vehicle (make or model known) > need (a part asked
    for) > greeting."""
    if facts.sold or facts.closed:
        return 'closed'
    if evidence.customer.purchase_after_offer or QuoteStatus.ACCEPTED in facts.quote_statuses:
        return 'closing'
    if any(status in {QuoteStatus.SENT, QuoteStatus.DRAFT} for status in facts.quote_statuses):
        return 'quote'
    if evidence.products:
        return 'products'
    if evidence.vehicle_known:
        return 'vehicle'
    if evidence.need:
        return 'need'
    return 'greeting'


def _purchase_intent(evidence: _Evidence, facts: SummaryFacts) -> str:
    """The purchase intent (`INTENT_LEVELS`). High: the customer asked to buy or for a quote at any point, said
    yes after an offer, accepted a quote, or bought. Medium: asked the price or for stock, named both a part and
    the vehicle, or was offered products. Low otherwise."""
    customer = evidence.customer
    if (
        customer.purchase_after_offer
        or facts.sold
        or QuoteStatus.ACCEPTED in facts.quote_statuses
        or customer.signals & {'purchase', 'quote'}
    ):
        return 'high'
    if customer.signals & {'price', 'stock'} or (evidence.need and evidence.vehicle_known) or evidence.products:
        return 'medium'
    return 'low'


def _confidence(evidence: _Evidence) -> int:
    """How far the agent can trust the summary, 0–100: 30, +15 with a need, +20 with the model, +10 with the
    year, +15 with a valid VIN (typed or from a photo) or −10 when the typed one is not valid, +10 with products,
    −20 when the customer named more than one model (the summary may mix cars), −15 when the photo's VIN and the
    text disagree on the vehicle. 0 before the customer wrote."""
    if not evidence.customer.wrote:
        return 0
    vehicle = evidence.vehicle or Vehicle()
    confidence = 30
    if evidence.need:
        confidence += 15
    if vehicle.model:
        confidence += 20
    if vehicle.year:
        confidence += 10
    if evidence.vin:
        confidence += 15
    elif evidence.typed_vin_invalid:
        confidence -= 10
    if evidence.products:
        confidence += 10
    if len(evidence.customer.models_named) > 1:
        confidence -= 20
    if evidence.vehicle_conflict:
        confidence -= 15
    return max(0, min(100, confidence))


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
    history = [HistoryMessage(message_id=row[0] or 0, sender_kind=row[1], text=row[2] or '') for row in reversed(rows)]
    photo = PhotoVehicle.of(await latest_good_reading(db, conversation_id=conversation_id))
    view = await summarize_thread(
        db,
        conversation_id=conversation_id,
        branch_id=conversation.branch_id,
        history=history,
        facts=SummaryFacts(
            quote_statuses=list(quotes), sold=sold, closed=conversation.status == ConversationStatus.CLOSED
        ),
        customer_text=inbound_text,
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


async def summarize_thread(
    db: Database,
    *,
    conversation_id: int,
    branch_id: int,
    history: Sequence[HistoryMessage],
    facts: SummaryFacts,
    customer_text: str | None = None,
    photo: PhotoVehicle | None = None,
) -> SummaryView:
    """The summary of a thread with today's catalog prices and the branch's stock, written nowhere: what
    `refresh_summary` stores, and what `leadmaster assistant replay` prints for a thread that exists only in
    memory. `customer_text` is the customer's words (default: the customer messages of `history`)."""
    if customer_text is None:
        customer_text = ' '.join(m.text for m in history if m.from_customer)
    codes = understand(customer_text).codes if customer_text else ()
    customer_skus = await _skus_for_codes(db, codes)
    skus = [
        *customer_skus,
        *(sku for m in history if m.sender_kind != SenderKind.CUSTOMER for sku in skus_in_text(m.text)),
    ]
    products = await products_by_skus(db, skus=skus, branch_id=branch_id)
    await catalog_index(db)  # warm: the first summary after start must not pay for it twice
    return compute_summary(conversation_id, list(history), products, facts, customer_codes=customer_skus, photo=photo)


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
