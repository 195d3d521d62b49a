"""Replaying a customer's side of a conversation through the assistant, turn by turn, without WhatsApp (issue 18):
what `leadmaster assistant replay` prints and what `bench/assistant_eval.py` measures.

The thread lives only in memory: the engine gets the same `TurnContext` the bot worker builds (history oldest
first, this turn's customer message, the intents of the earlier turns), its replies join the history as the AI's,
and the summary is computed from that history by the same code the summary worker stores (`summarize_thread`).
Nothing is written: no contact, no conversation, no outbox row. That is a choice over a rolled-back transaction or
a throwaway contact: the services open and commit their own sessions, so a transaction could not hold them, and
a conversation written for a moment to a live database would be seen by the running app's bot and outbox
workers, which would answer and send it for real.

What the worker adds around the engine is applied here too, so the reply is the one the customer would read:
on a quote or purchase intent with priced products in the summary, the reply tells of the drafted (or, where the
branch allows the AI to send quotes, sent) quote (`services/assistant/quotes.py`); the quote itself is not made.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import select

from ..database import Database
from ..errors import InvalidInput, NotFound
from ..models import Branch, SenderKind
from .engine import AssistantEngine, HistoryMessage, TurnContext
from .quotes import QuotePlan, plan_quote, reply_with_quote
from .summary import SummaryFacts, SummaryView, summarize_thread

MAX_TURNS = 200
PREVIOUS_INTENTS = 3  # as many as the worker reads back (`AssistantWorker._context`)


@dataclass(frozen=True)
class Dialogue:
    branch: str  # the branch code, e.g. SUC1
    messages: list[str]  # the customer's turns, in order


@dataclass(frozen=True)
class ReplayedTurn:
    turn: int  # 1-based
    customer: str
    reply: str | None  # None: the assistant said nothing this turn
    handoff: bool  # this turn handed the conversation to a person
    handoff_reason: str | None
    intent: str  # the engine's reading of this turn
    engine: str
    summary: SummaryView
    seconds: float  # the turn's latency: the engine's answer and the summary

    def as_json(self) -> dict[str, Any]:
        """The `--json` line (issue 18's contract)."""
        vehicle = self.summary.vehicle
        return {
            'turn': self.turn,
            'reply': self.reply,
            'handoff': self.handoff,
            'summary': {
                'vehicle': {
                    'make': vehicle.make if vehicle else None,
                    'model': vehicle.model if vehicle else None,
                    'year': vehicle.year if vehicle else None,
                    'vin': self.summary.vin or None,
                },
                'products': [
                    {'sku': p.sku, 'name': p.title, 'price': str(p.price) if p.price is not None else None}
                    for p in self.summary.products
                ],
                'intent': self.summary.intent,
                'stage': self.summary.stage,
            },
        }


def parse_dialogue(raw: object) -> Dialogue:
    """`{"branch": "SUC1", "messages": ["...", ...]}`; anything else is an `InvalidInput` saying what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInput('the file must hold a JSON object {"branch": "SUC1", "messages": ["...", ...]}')
    branch = raw.get('branch')
    messages = raw.get('messages')
    if not isinstance(branch, str) or not branch.strip():
        raise InvalidInput('"branch" must be a branch code, e.g. "SUC1"')
    if not isinstance(messages, list) or not messages:
        raise InvalidInput('"messages" must be a non-empty list of the customer\'s messages')
    if not all(isinstance(message, str) and message.strip() for message in messages):
        raise InvalidInput('every item of "messages" must be a non-empty string')
    if len(messages) > MAX_TURNS:
        raise InvalidInput(f'at most {MAX_TURNS} messages')
    return Dialogue(branch=branch.strip().upper(), messages=[str(message) for message in messages])


def read_dialogue(path: Path) -> Dialogue:
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError as exc:
        raise InvalidInput(f'no file {path}') from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f'cannot read {path}: {exc}') from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f'{path} is not valid JSON: {exc}') from exc
    return parse_dialogue(raw)


async def branch_by_code(db: Database, code: str) -> Branch:
    async with db.session() as session:
        branch = (await session.exec(select(Branch).where(Branch.code == code.strip().upper()))).first()
    if branch is None or branch.id is None:
        raise NotFound(f'no branch {code!r}')
    return branch


async def replay(
    db: Database, engine: AssistantEngine, dialogue: Dialogue, *, customer_name: str = ''
) -> list[ReplayedTurn]:
    """Every customer turn answered by `engine` in order, each with the summary after it."""
    branch = await branch_by_code(db, dialogue.branch)
    branch_id = branch.id or 0
    history: list[HistoryMessage] = []
    intents: list[str] = []
    turns: list[ReplayedTurn] = []
    drafted: QuotePlan | None = None  # the quote the AI would have drafted or sent (kept in memory here)
    for number, text in enumerate(dialogue.messages, start=1):
        started = time.perf_counter()
        message = HistoryMessage(message_id=len(history) + 1, sender_kind=SenderKind.CUSTOMER, text=text)
        history.append(message)
        context = TurnContext(
            conversation_id=0,
            branch_id=branch_id,
            branch_name=branch.name,
            customer_name=customer_name,
            history=list(history),
            new_messages=[message],
            previous_intents=intents[-PREVIOUS_INTENTS:],
        )
        reply = await engine.reply(context)
        plan = await plan_quote(db, reply=reply, branch_id=branch_id, history=history)
        if plan is not None:
            plan = plan.over(drafted)
            # Where the AI sends quotes, the one it sent stands: the worker quotes nothing new for the same parts.
            already_sent = branch.ai_sends_quotes and drafted is not None and plan.product_ids == drafted.product_ids
            if not already_sent:
                reply = reply_with_quote(reply, plan, ai_sends=branch.ai_sends_quotes, branch_name=branch.name)
            drafted = plan
        intents.append(reply.intent)
        text_out = reply.text.strip() or None
        if text_out is not None:
            history.append(HistoryMessage(message_id=len(history) + 1, sender_kind=SenderKind.AI, text=text_out))
        summary = await summarize_thread(
            db, conversation_id=0, branch_id=branch_id, history=history, facts=SummaryFacts()
        )
        turns.append(
            ReplayedTurn(
                turn=number,
                customer=text,
                reply=text_out,
                handoff=reply.handoff is not None,
                handoff_reason=reply.handoff,
                intent=reply.intent,
                engine=reply.engine,
                summary=summary,
                seconds=time.perf_counter() - started,
            )
        )
    return turns
