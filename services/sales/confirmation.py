"""The customer's confirmation (S4): "sí / confirmo / dale" or a tap on the quote's accept button accepts the
open quote of that conversation.

The rule is deliberately narrow — a short message made only of assent words (and a few polite fillers), no
question, no "no" — because a false acceptance creates a sale: "sí, pero ¿cuánto sale el envío?" must stay a
question for the agent. Only a quote sent before the message arrived counts, and only while it is valid.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlmodel import col, select

from ..errors import Conflict
from ..models import Direction, Message, Quote, QuoteStatus, SenderKind
from .closing import CUSTOMER_BUTTON, CUSTOMER_TEXT, Acceptance, accept_quote
from .desk import SalesDesk
from .sending import ACCEPT_BUTTON_PREFIX

ASSENT = frozenset(
    {
        'si',
        'sii',
        'siii',
        'sip',
        'confirmo',
        'confirmado',
        'confirmar',
        'dale',
        'daale',
        'acepto',
        'aceptado',
        'ok',
        'okey',
        'okay',
        'listo',
        'perfecto',
        'joya',
        'va',
        'trato',
        'hecho',
        'compro',
        'quiero',
        'genial',
        'buenisimo',
        'barbaro',
        'claro',
        'obvio',
        'yes',
        'sisi',
        'acuerdo',
        '👍',
        '👌',
        '✅',
    }
)
# Fillers may accompany assent ("sí, dale, gracias", "lo confirmo") but never make one on their own.
FILLER = frozenset(
    {
        'lo',
        'la',
        'los',
        'el',
        'me',
        'te',
        'de',
        'por',
        'favor',
        'gracias',
        'muchas',
        'mil',
        'entonces',
        'todo',
        'presupuesto',
        'compra',
        'pedido',
        'esta',
        'bien',
        'nomas',
        'ya',
        'y',
        'mas',
        'que',
        'seria',
        'eso',
        'asi',
        'senor',
        'senora',
        'che',
        'bueno',
    }
)
MAX_WORDS = 8
_WORD = re.compile(r'[a-z0-9]+|[\U0001F300-\U0001FAFF\u2705\u2714]')


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize('NFKD', text.lower())
    return ''.join(char for char in decomposed if not unicodedata.combining(char))


def is_affirmative(text: str) -> bool:
    """True for a short, unconditional yes: 'Sí', 'dale!', 'sí, confirmo', 'ok dale gracias', '👍'."""
    if '?' in text or '¿' in text:
        return False
    words = _WORD.findall(_fold(text))
    if not words or len(words) > MAX_WORDS or 'no' in words:
        return False
    if any(word not in ASSENT and word not in FILLER for word in words):
        return False
    return any(word in ASSENT for word in words)


def button_quote_id(message_type: str, payload: dict[str, Any]) -> int | None:
    """The quote id of an accept-button tap: our reply button (`interactive.button_reply.id`) or a template's
    quick-reply button with that payload."""
    fields = payload.get('fields') or {}
    value = ''
    if message_type == 'interactive' and fields.get('reply_type') == 'button_reply':
        value = str(fields.get('id') or '')
    elif message_type == 'button':
        value = str(fields.get('payload') or '')
    if value.startswith(ACCEPT_BUTTON_PREFIX) and value.removeprefix(ACCEPT_BUTTON_PREFIX).isdigit():
        return int(value.removeprefix(ACCEPT_BUTTON_PREFIX))
    return None


async def handle_customer_message(desk: SalesDesk, *, message_id: int) -> Acceptance | None:
    """Call for every stored inbound message: accepts the conversation's open sent quote when the message is
    the customer's yes; None when it is not one (or there is nothing to accept). Safe to call twice."""
    async with desk.db.session() as session:
        message = await session.get(Message, message_id)
        if message is None or message.direction != Direction.INBOUND or message.sender_kind != SenderKind.CUSTOMER:
            return None
        quote_id = button_quote_id(message.type, message.payload or {})
        source = CUSTOMER_BUTTON
        if quote_id is None:
            # A template's quick-reply button without our payload comes back as its label ("Confirmo").
            said_yes = message.type in {'text', 'button', 'interactive'} and is_affirmative(message.text or '')
            if not said_yes:
                return None
            source = CUSTOMER_TEXT
        query = (
            select(Quote.id)
            .where(
                Quote.conversation_id == message.conversation_id,
                col(Quote.status) == QuoteStatus.SENT,
                # When we received it: WhatsApp's own timestamp has whole seconds only.
                col(Quote.sent_at) <= message.created_at,
                col(Quote.valid_until) >= desk.today(),
            )
            .order_by(col(Quote.sent_at).desc(), col(Quote.id).desc())
        )
        if quote_id is not None:
            query = query.where(Quote.id == quote_id)
        target = (await session.exec(query)).first()
        if target is None and quote_id is not None:
            # A second tap on the button of a quote already accepted: answer with the same sale.
            accepted = (
                await session.exec(
                    select(Quote.id).where(
                        Quote.id == quote_id,
                        Quote.conversation_id == message.conversation_id,
                        col(Quote.status) == QuoteStatus.ACCEPTED,
                    )
                )
            ).first()
            target = accepted
    if target is None:
        return None
    try:
        return await accept_quote(desk, quote_id=target, viewer=None, source=source)
    except Conflict:  # expired or rejected a moment ago: nothing to accept
        return None
