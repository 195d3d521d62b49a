"""The assistant drafts quotes (SPEC S3, A1; issue 18): on a quote or purchase intent, a quote with the summary's
priced products, for an agent to confirm ("Borrador IA" in the console), or — where the branch lets the AI send
quotes alone (`Branch.ai_sends_quotes`) — issued and sent as the assistant.

The rule, in order:
- Only a turn that asks for a quote or to buy (`wants_quote`) and a summary with priced products make one.
- The products: the one the customer picked from the newest offer ("el 2", "la primera", "las de 61 mil"), else
  those of the newest offer, else every priced product of the summary; one of each (the agent adjusts quantities).
- One open AI draft per conversation: a later quote intent updates it when the products changed and leaves it
  alone when they did not. A person's open draft is the person's: the AI does not draft beside it. An open quote
  already sent with the same products is not drafted again.
- Without `ai_sends_quotes` nothing reaches the customer but the reply (a seller confirms the quote) and the
  conversation is handed to a person; with it the quote goes out as the assistant's right after the reply, and a
  pure quote request needs no person (the customer answers SÍ, as to any quote).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from sqlmodel import col, or_, select

from ..catalog.search import products_by_skus
from ..catalog.text import fold
from ..database import Database
from ..models import Branch, Conversation, Quote, QuoteLine, QuoteStatus
from ..sales.desk import SalesDesk
from ..sales.quotes import LineDraft, QuoteView, create_quote, get_quote, update_quote
from ..sales.sending import send_quote
from .engine import HANDOFF_PURCHASE_INTENT, EngineReply, HistoryMessage
from .rules import read_state
from .summary import SummaryFacts, summarize_thread

log = logging.getLogger(__name__)

QUOTE_INTENTS = frozenset({'quote', 'purchase'})
_ORDINALS = {'primer': 1, 'primero': 1, 'primera': 1, 'segundo': 2, 'segunda': 2, 'tercer': 3, 'tercero': 3,
             'tercera': 3}  # fmt: skip
# "el 2", "la 1", "opción 3", "nro 2": a pick by number; not "el 1.6" (an engine) nor "el 12" (a year).
_PICK_NUMBER = re.compile(r'\b(?:el|la|opcion|nro|numero)\s+([1-9])(?![\d.,])')
_PICK_ORDINAL = re.compile(r'\b(?:el|la|lo)\s+(primer|primero|primera|segundo|segunda|tercer|tercero|tercera)\b')
# "las de 61 mil", "la de $120.000", "el de 52400": a pick by the price the offer showed (IVA included).
_PICK_PRICE = re.compile(r'\b(?:el|la|los|las|lo)\s+de\s+\$?\s*(\d[\d.]*(?:,\d+)?)\s*(mil|lucas|luca)?\b')
PRICE_PICK_TOLERANCE = Decimal('0.02')  # people round: "61 mil" for $ 61.400


@dataclass(frozen=True)
class QuoteItem:
    product_id: int
    sku: str
    title: str


@dataclass(frozen=True)
class QuotePlan:
    """What the assistant would put on a quote for this turn."""

    items: tuple[QuoteItem, ...]
    picked: bool = False  # the customer chose these from the offer ("el 2", "las de 61 mil")

    @property
    def product_ids(self) -> list[int]:
        return sorted(item.product_id for item in self.items)

    def over(self, drafted: QuotePlan | None) -> QuotePlan:
        """This turn's plan, given what the AI already drafted: a turn that picks nothing ("¿cómo te pago?") keeps
        the customer's earlier pick when the offer still holds it, instead of widening the quote to every option."""
        if drafted is None or self.picked or not set(drafted.product_ids) <= set(self.product_ids):
            return self
        return drafted


def wants_quote(reply: EngineReply) -> bool:
    """The turn asks for a quote or to buy (what the engine read, or a handoff for purchase intent)."""
    return reply.intent in QUOTE_INTENTS or reply.handoff == HANDOFF_PURCHASE_INTENT


def picked_from_offer(text: str, offered: Sequence[str], prices: Mapping[str, Decimal] | None = None) -> list[str]:
    """The SKU the customer picked from the newest offer by its number ("dale, el 2", "la primera") or by its price
    ("las de 61 mil", with `prices` the offer's prices IVA included), or [] when the text picks none or several."""
    plain = re.sub(r'[^a-z0-9.,$ ]+', ' ', fold(text))
    number = _PICK_NUMBER.search(plain)
    ordinal = _PICK_ORDINAL.search(plain)
    index = int(number.group(1)) if number else _ORDINALS[ordinal.group(1)] if ordinal else None
    if index is not None and index <= len(offered):
        return [offered[index - 1]]
    price = _PICK_PRICE.search(plain)
    amount = _amount(price.group(1), thousands=bool(price.group(2))) if price and prices else None
    if amount is None or not prices:
        return []
    near = [sku for sku in offered if sku in prices and abs(prices[sku] - amount) <= amount * PRICE_PICK_TOLERANCE]
    return near if len(near) == 1 else []


def _amount(written: str, *, thousands: bool) -> Decimal | None:
    """'61' with 'mil' → 61000; '61.000' → 61000; '61.000,50' → 61000.50 (es-AR: dot thousands, comma decimals)."""
    try:
        value = Decimal(written.replace('.', '').replace(',', '.'))
    except InvalidOperation:
        return None
    value = value * 1000 if thousands else value
    return value if value > 0 else None


async def plan_quote(
    db: Database, *, reply: EngineReply, branch_id: int, history: Sequence[HistoryMessage]
) -> QuotePlan | None:
    """The quote this turn calls for, or None (no quote intent, or no priced product to put on it)."""
    if not wants_quote(reply):
        return None
    summary = await summarize_thread(db, conversation_id=0, branch_id=branch_id, history=history, facts=SummaryFacts())
    prices = {product.sku: product.price for product in summary.products if product.price is not None}
    priced = list(prices)
    if not priced:
        return None
    offered = [sku for sku in read_state(list(history)).offered if sku in prices]
    newest_customer = next((m.text for m in reversed(history) if m.from_customer), '')
    picked = picked_from_offer(newest_customer, offered, prices)
    skus = picked or offered or priced
    found = await products_by_skus(db, skus=skus, branch_id=branch_id)
    items = tuple(QuoteItem(product_id=found[sku].id, sku=sku, title=found[sku].title) for sku in skus if sku in found)
    return QuotePlan(items=items, picked=bool(picked)) if items else None


def reply_with_quote(reply: EngineReply, plan: QuotePlan, *, ai_sends: bool, branch_name: str) -> EngineReply:
    """The engine's reply rewritten to tell the customer about the quote; the handoff rule of the module doc."""
    count = len(plan.items)
    what = _shortened(plan.items[0].title) if count == 1 else f'los {count} productos'
    detail = {**reply.detail, 'quote': {'skus': [item.sku for item in plan.items], 'ai_sends': ai_sends}}
    if ai_sends:
        return replace(
            reply,
            text=f'¡Listo! Te mando por acá el presupuesto con {what}. Respondé SÍ para confirmarlo, o escribime '
            'si querés cambiar algo.',
            handoff=None if reply.intent == 'quote' else reply.handoff,
            detail=detail,
        )
    seller = f'Un vendedor de {branch_name}' if branch_name else 'Un vendedor'
    return replace(
        reply,
        text=f'¡Buenísimo! Ya te armé el presupuesto con {what}. {seller} lo revisa y te lo manda por acá en unos '
        'minutos.',
        handoff=reply.handoff or HANDOFF_PURCHASE_INTENT,
        detail=detail,
    )


@dataclass(frozen=True)
class PreparedQuote:
    """A turn's quote: the reply to send and, where the AI sends it, the quote to send after the reply."""

    reply: EngineReply
    send_quote_id: int | None = None


class QuoteDrafter:
    """Drafts (and where allowed sends) the assistant's quotes through the sales services."""

    def __init__(self, desk: SalesDesk) -> None:
        self.desk = desk

    async def prepare(
        self, *, conversation_id: int, history: Sequence[HistoryMessage], reply: EngineReply
    ) -> PreparedQuote:
        """Draft or update the conversation's AI quote when this turn calls for one; the reply to send."""
        db = self.desk.db
        async with db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            branch = await session.get(Branch, conversation.branch_id) if conversation else None
        if conversation is None or branch is None:
            return PreparedQuote(reply)
        plan = await plan_quote(db, reply=reply, branch_id=branch.id or 0, history=history)
        if plan is None:
            return PreparedQuote(reply)
        quote, plan = await self._draft(conversation_id, plan)
        if quote is None:
            return PreparedQuote(reply)
        prepared = reply_with_quote(reply, plan, ai_sends=branch.ai_sends_quotes, branch_name=branch.name)
        prepared = replace(prepared, detail={**prepared.detail, 'quote': {**prepared.detail['quote'], 'id': quote.id}})
        return PreparedQuote(prepared, send_quote_id=quote.id if branch.ai_sends_quotes else None)

    async def _draft(self, conversation_id: int, plan: QuotePlan) -> tuple[QuoteView | None, QuotePlan]:
        """The conversation's AI draft with the plan's products (created, updated or as it was) and the plan it
        holds, or None when a person's open quote stands in the way (see the module doc)."""
        db = self.desk.db
        today = self.desk.today()
        async with db.session() as session:
            # Open quotes, and accepted ones: a "¿cómo pago?" after the sale must not quote the same parts again.
            standing = (
                await session.exec(
                    select(Quote)
                    .where(
                        Quote.conversation_id == conversation_id,
                        or_(
                            col(Quote.status) == QuoteStatus.ACCEPTED,
                            col(Quote.status).in_([QuoteStatus.DRAFT, QuoteStatus.SENT])
                            & (col(Quote.valid_until) >= today),
                        ),
                    )
                    .order_by(col(Quote.id).desc())
                )
            ).all()
            items_of: dict[int, tuple[QuoteItem, ...]] = {}
            for open_quote in standing:
                rows = (
                    await session.exec(
                        select(QuoteLine.product_id, QuoteLine.sku, QuoteLine.description)
                        .where(QuoteLine.quote_id == open_quote.id)
                        .order_by(col(QuoteLine.position))
                    )
                ).all()
                items_of[open_quote.id or 0] = tuple(
                    QuoteItem(product_id=product_id, sku=sku, title=title)
                    for product_id, sku, title in rows
                    if product_id is not None
                )
        ai_draft = next((q for q in standing if q.drafted_by_ai and q.status == QuoteStatus.DRAFT), None)
        if ai_draft is not None:
            drafted = QuotePlan(items=items_of[ai_draft.id or 0])
            plan = plan.over(drafted)
            if drafted.product_ids == plan.product_ids:
                return await get_quote(db, viewer=None, quote_id=ai_draft.id or 0, zone=self.desk.zone), plan
            quote = await update_quote(
                db,
                viewer=None,
                quote_id=ai_draft.id or 0,
                lines=_lines(plan),
                notes=ai_draft.notes,
                zone=self.desk.zone,
            )
        elif any(q.status == QuoteStatus.DRAFT for q in standing):
            return None, plan  # a person is writing a quote for this customer
        else:
            if standing:  # a turn that picks nothing refers to the newest quote the customer has
                plan = plan.over(QuotePlan(items=items_of[standing[0].id or 0]))
            if any(QuotePlan(items=items_of[q.id or 0]).product_ids == plan.product_ids for q in standing):
                return None, plan  # the customer already has (or bought) this very quote
            quote = await create_quote(
                db,
                viewer=None,
                conversation_id=conversation_id,
                lines=_lines(plan),
                drafted_by_ai=True,
                zone=self.desk.zone,
            )
        await self.desk.quote_updated(
            branch_id=quote.branch_id, conversation_id=conversation_id, quote_id=quote.id, status=quote.status
        )
        return quote, plan

    async def send(self, quote_id: int) -> None:
        """Send the AI's quote as the assistant (text and PDF through the outbox); only where the branch allows it
        (`send_quote` checks `ai_sends_quotes` again)."""
        await send_quote(self.desk, viewer=None, quote_id=quote_id, as_ai=True)


def _lines(plan: QuotePlan) -> list[LineDraft]:
    """One of each product, in the offer's order (the agent adjusts quantities)."""
    return [LineDraft(product_id=item.product_id, quantity=1) for item in plan.items]


def _shortened(title: str, limit: int = 80) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + '…'
