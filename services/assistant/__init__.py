"""The AI assistant (SPEC A1–A3, C4): one engine interface with a rule engine and an LLM engine, the bot worker
that answers AI-mode conversations through the outbox, and the conversation summary. See docs/assistant.md."""

from __future__ import annotations

from ..database import Database
from .engine import (
    HANDOFF_CUSTOMER_ASKED,
    HANDOFF_PURCHASE_INTENT,
    HANDOFF_REASONS,
    HANDOFF_UNSURE,
    AssistantEngine,
    AssistantTools,
    EngineReply,
    HistoryMessage,
    TurnContext,
)
from .llm import LLMEngine
from .quotes import QuoteDrafter
from .rules import RuleEngine
from .summary import SUMMARY_UPDATED, SummaryView, latest_summary, refresh_summary
from .workers import AssistantWorker, HandoffHook, SummaryWorker


def make_engine(
    db: Database, *, llm_api_key: str | None, llm_base_url: str, llm_model: str, llm_timeout_seconds: float
) -> AssistantEngine:
    """The LLM engine when a key is configured (falling back to the rules per turn), else the rule engine."""
    tools = AssistantTools(db)
    rules = RuleEngine(tools)
    if not llm_api_key:
        return rules
    return LLMEngine(
        tools,
        base_url=llm_base_url,
        api_key=llm_api_key,
        model=llm_model,
        timeout_seconds=llm_timeout_seconds,
        fallback=rules,
    )


__all__ = [
    'HANDOFF_CUSTOMER_ASKED',
    'HANDOFF_PURCHASE_INTENT',
    'HANDOFF_REASONS',
    'HANDOFF_UNSURE',
    'SUMMARY_UPDATED',
    'AssistantEngine',
    'AssistantTools',
    'AssistantWorker',
    'EngineReply',
    'HandoffHook',
    'HistoryMessage',
    'LLMEngine',
    'QuoteDrafter',
    'RuleEngine',
    'SummaryView',
    'SummaryWorker',
    'TurnContext',
    'latest_summary',
    'make_engine',
    'refresh_summary',
]
