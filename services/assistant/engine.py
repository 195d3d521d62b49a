"""The one assistant interface (A2): an engine reads a turn and answers it. Two engines implement it: the rule
engine (services/assistant/rules.py, offline, the default) and the LLM engine (services/assistant/llm.py, any
OpenAI-compatible API, falling back to the rules for a turn it cannot answer).

The tools an engine may use — catalog search, VIN decoding, stock — are `AssistantTools`, bound to the database;
the hand-over to a human is not a tool call the engine makes itself: it says so in its reply (`handoff`), and the
bot worker calls the takeover hook after the customer has been told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import case
from sqlmodel import col, or_, select

from ..catalog.search import ProductHit, SearchResult, format_ars, product_by_sku, search_products
from ..catalog.vehicles import Vehicle
from ..database import Database
from ..models import Branch, CannedResponse, SenderKind
from .vin import VinReading, decode_vin

# Why the bot hands a conversation to a person (passed to the takeover hook as `reason`).
HANDOFF_CUSTOMER_ASKED = 'customer_asked'
HANDOFF_PURCHASE_INTENT = 'purchase_intent'
HANDOFF_UNSURE = 'engine_unsure'
HANDOFF_REASONS = (HANDOFF_CUSTOMER_ASKED, HANDOFF_PURCHASE_INTENT, HANDOFF_UNSURE)


# The agents' quick replies (`/horario`, `/envio`, `/direccion`) the assistant answers store questions with: the
# store's own words, kept where the agents already keep them.
STORE_ANSWER_SHORTCUTS = {'hours': 'horario', 'shipping': 'envio', 'address': 'direccion'}


@dataclass(frozen=True)
class HistoryMessage:
    message_id: int
    sender_kind: str  # SenderKind value
    text: str

    @property
    def from_customer(self) -> bool:
        return self.sender_kind == SenderKind.CUSTOMER


@dataclass(frozen=True)
class TurnContext:
    conversation_id: int
    branch_id: int
    branch_name: str
    customer_name: str
    history: list[HistoryMessage]  # oldest first, including the new messages
    new_messages: list[HistoryMessage]  # the customer's messages this turn answers (a burst may be several)
    previous_intents: list[str] = field(default_factory=list)  # of earlier bot turns, oldest first

    @property
    def new_text(self) -> str:
        return '\n'.join(m.text for m in self.new_messages if m.text)


@dataclass(frozen=True)
class EngineReply:
    text: str
    intent: str
    engine: str  # 'rules' or 'llm'
    handoff: str | None = None  # one of HANDOFF_REASONS
    products: list[str] = field(default_factory=list)  # SKUs proposed in `text`
    vehicle: Vehicle | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class AssistantEngine(Protocol):
    name: str

    async def reply(self, turn: TurnContext) -> EngineReply: ...


class AssistantTools:
    """What an engine may look up, always for the conversation's branch (its stock, nobody else's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self, *, query: str, branch_id: int, vehicle: Vehicle | None = None, limit: int = 5, in_stock_only: bool = False
    ) -> SearchResult:
        """`partial` in the result means no product has every word: near misses, not an answer."""
        return await search_products(
            self.db,
            query=query,
            branch_id=branch_id,
            vehicle=vehicle,
            limit=limit,
            in_stock_only=in_stock_only,
            parse_vehicle=vehicle is None,
        )

    async def stock(self, *, sku: str, branch_id: int) -> ProductHit | None:
        return await product_by_sku(self.db, sku=sku, branch_id=branch_id)

    @staticmethod
    def decode_vin(vin: str) -> VinReading:
        return decode_vin(vin)

    async def store_answer(self, *, topic: str, branch_id: int) -> str | None:
        """What the store says about `topic` ('hours', 'shipping', 'address'): the branch's quick reply of that
        shortcut (`STORE_ANSWER_SHORTCUTS`), else the one for every branch; for the address, else the branch's
        address. None when the store has not written it down: then a person answers."""
        shortcut = STORE_ANSWER_SHORTCUTS.get(topic)
        if shortcut is None:
            return None
        async with self.db.session() as session:
            body = (
                await session.exec(
                    select(CannedResponse.body)
                    .where(
                        CannedResponse.shortcut == shortcut,
                        or_(col(CannedResponse.branch_id) == branch_id, col(CannedResponse.branch_id).is_(None)),
                    )
                    .order_by(case((col(CannedResponse.branch_id).is_(None), 1), else_=0))
                    .limit(1)
                )
            ).first()
            if body:
                return body.strip()
            if topic == 'address':
                branch = await session.get(Branch, branch_id)
                if branch is not None and branch.address:
                    place = ', '.join(part for part in (branch.address, branch.city) if part)
                    return f'Estamos en {place}.'
        return None


def stock_phrase(hit: ProductHit) -> str:
    if hit.stock is None:
        return 'consultar stock'
    if hit.stock <= 0:
        return 'sin stock en la sucursal'
    if hit.stock > 3:
        return 'hay stock'
    # Not 'u.': the proposal line puts a period after the phrase ('últimas 2 u..').
    return 'última unidad' if hit.stock == 1 else f'últimas {hit.stock} unidades'


def product_line(number: int, hit: ProductHit) -> str:
    """One proposal line; 'SKU …' is how the summary recognizes the product later."""
    with_iva = hit.price_with_iva  # None: imported without a price (docs/catalog-format.md)
    price = f'{format_ars(with_iva)} (IVA incl.)' if with_iva is not None else 'precio a confirmar'
    return f'{number}) {hit.title} — {price}, {stock_phrase(hit)}. SKU {hit.sku}'


def hit_as_tool_result(hit: ProductHit) -> dict[str, Any]:
    return {
        'sku': hit.sku,
        'title': hit.title,
        'brand': hit.brand,
        'price_ars_with_iva': str(hit.price_with_iva) if hit.price_with_iva is not None else None,
        'stock_at_branch': hit.stock,
        'image_url': hit.image_url,
    }
