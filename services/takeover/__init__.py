"""Takeover and assignment (SPEC T1–T5). See docs/takeover.md for the states, rules and extension points.

The AI assistant's entry point is `request_human(db, *, conversation_id, reason, publisher)`.
"""

from .reports import AgentCounts, AssignmentCounts, BranchCounts, assignment_counts
from .rules import RuleDecision, apply_rule, choose_agent, rule_candidates
from .service import (
    AlreadyTaken,
    HandoffResult,
    NotAllowedNow,
    NotHolder,
    OfferedToAnother,
    Outcome,
    branch_agents,
    close,
    extend,
    reassign,
    release,
    renew,
    renew_on_agent_messages,
    reopen,
    request_human,
    set_ai,
    set_faithful,
    take,
)
from .states import MOVES, Action, Move, Phase, phase_in, phase_of
from .workers import AssignmentWorker, SweepReport, TakeoverSweeper, release_expired, set_missing_deadlines

__all__ = [
    'MOVES',
    'Action',
    'AgentCounts',
    'AlreadyTaken',
    'AssignmentCounts',
    'AssignmentWorker',
    'BranchCounts',
    'HandoffResult',
    'Move',
    'NotAllowedNow',
    'NotHolder',
    'OfferedToAnother',
    'Outcome',
    'Phase',
    'RuleDecision',
    'SweepReport',
    'TakeoverSweeper',
    'apply_rule',
    'assignment_counts',
    'branch_agents',
    'choose_agent',
    'close',
    'extend',
    'phase_in',
    'phase_of',
    'reassign',
    'release',
    'release_expired',
    'renew',
    'renew_on_agent_messages',
    'reopen',
    'request_human',
    'rule_candidates',
    'set_ai',
    'set_faithful',
    'set_missing_deadlines',
    'take',
]
